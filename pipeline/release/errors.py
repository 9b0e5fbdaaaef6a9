"""Why a release, or part of it, was not published."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from transforms.errors import PrivacyCheckFailed, TransientError


class RecipientsBlocked(PrivacyCheckFailed):
    """Some recipients failed their checks: they received nothing, and the run ends failed."""

    def __init__(self, blocked: Mapping[str, Sequence[str]]) -> None:
        detail = "; ".join(f"{r}: {', '.join(reasons)}" for r, reasons in sorted(blocked.items()))
        super().__init__(f"nothing published for {len(blocked)} recipient(s): {detail}")
        self.blocked = {r: list(reasons) for r, reasons in blocked.items()}


class ReleaseBlocked(PrivacyCheckFailed):
    """The privacy profile itself failed: nothing of this run is published."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("release blocked, nothing published: " + "; ".join(reasons))
        self.reasons = tuple(reasons)


class DestinationUnwritable(TransientError):
    """A recipient's destination could not be written: its previous release is left intact."""

    def __init__(self, failed: Mapping[str, str]) -> None:
        detail = "; ".join(f"{r}: {why}" for r, why in sorted(failed.items()))
        super().__init__(f"publishing failed for {len(failed)} recipient(s): {detail}")
        self.failed = dict(failed)
