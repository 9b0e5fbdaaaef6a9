"""Purpose-bound consent: which customers each dataset may be built from.

Every statistical dataset serves ``statistics`` (a customer whose latest statistics consent is
withdrawn has left the run already) and the purpose each of its recipients' kinds requires
(``ReleaseConfig.consent``: a third-party kind ``partner_marketing``, ``internal``
``statistics``). One version of a dataset goes to all its recipients, so it is built from the
customers who consented to every purpose its recipients require: the strictest population,
as its minimum cell count is the strictest minimum. Since every third-party kind requires the
same purpose (refused otherwise at load), there are two populations at most: everyone in the
run, and the customers who consented to the third-party purpose.

The de-identified customers carry one boolean column per purpose besides statistics
(``consent_partner_marketing``), set by apply_customer_requests from each customer's latest
consent record; :func:`population_mask` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from pipeline.settings.partners import PartnerRegistry, Recipient
from pipeline.settings.release_config import STATISTICS_PURPOSE, ConfigError, ConsentPolicy
from transforms.customer_requests import consent_column


class UnknownRecipientKindError(ConfigError):
    """A recipient's kind names no purpose in the config's ``consent.purposes``."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = tuple(sorted(set(kinds)))
        super().__init__(
            f"consent.purposes: no purpose for recipient kind(s) {list(self.kinds)} "
            "(each kind in the partner registry must name the consent purpose it serves)"
        )


def check_kinds(registry: PartnerRegistry, policy: ConsentPolicy) -> None:
    """Every recipient's kind must name its purpose: an unlisted kind would be unbound."""
    missing = [r.kind for r in registry.recipients if r.kind not in policy.purposes]
    if missing:
        raise UnknownRecipientKindError(missing)


def recipient_purposes(recipient: Recipient, policy: ConsentPolicy) -> tuple[str, ...]:
    """The purposes a recipient's datasets serve: statistics and its kind's purpose."""
    if recipient.kind not in policy.purposes:
        raise UnknownRecipientKindError([recipient.kind])
    return tuple(sorted({STATISTICS_PURPOSE, policy.purpose_for(recipient.kind)}))


def dataset_purposes(recipients: Iterable[Recipient], policy: ConsentPolicy) -> tuple[str, ...]:
    """The purposes one version of a dataset serves: those of all the recipients it goes to.

    With no recipient, statistics alone (the internal zones).
    """
    purposes = {STATISTICS_PURPOSE}
    for recipient in recipients:
        purposes.update(recipient_purposes(recipient, policy))
    return tuple(sorted(purposes))


def population_mask(customers: pd.DataFrame, purposes: Iterable[str]) -> np.ndarray:
    """Which customers may enter a dataset serving ``purposes`` (their flags all set).

    A missing flag column is a programming error (KeyError), never "everyone consented".
    """
    mask = np.ones(len(customers), dtype=bool)
    for purpose in purposes:
        if purpose != STATISTICS_PURPOSE:
            mask &= customers[consent_column(purpose)].to_numpy(dtype=bool)
    return mask


def consent_columns(frame: pd.DataFrame) -> list[str]:
    """The consent flag columns of a frame (dropped before anything is released)."""
    return [c for c in frame.columns if c.startswith(consent_column(""))]
