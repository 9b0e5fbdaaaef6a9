"""Record the public notices as published, for tests whose runs must deliver microdata.

Anonymously processed information is refused unless its notice was published on or before
the provision date (``pipeline.release.legal``); tests about what the microdata reveals
publish it first, as an operator would.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

EARLY = date(2026, 1, 1)


def publish_notices(workdir: str | Path | None = None, *, on: date = EARLY) -> None:
    """Record each current notice (from the configuration in the environment) as published."""
    from pipeline.release.datasets import partner_registry
    from pipeline.release.legal import current_notices, record_publication
    from pipeline.settings.release_config import load_config

    config = load_config()
    notices = current_notices(
        quasi_identifiers=config.profile.quasi_identifiers,
        sensitive=config.profile.sensitive,
        registry=partner_registry(config.partners),
        release_root=config.release_root,
    )
    for dataset, text in notices.items():
        record_publication(workdir or config.workdir, dataset, on=on, text=text)
