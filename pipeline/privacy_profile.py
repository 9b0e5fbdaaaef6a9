"""Turn the configured privacy profile into the engine's privacy models."""

from __future__ import annotations

from pipeline.config import PrivacyProfile
from transforms.privacy_models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
)


def models_for(profile: PrivacyProfile, *, k: int | None = None, l: int | None = None):  # noqa: E741
    """The models a dataset must satisfy; ``k``/``l`` may raise (never lower) the profile's."""
    k = max(profile.k, k or 0)
    models: list[PrivacyModel] = [KAnonymity(k)]
    level = max(profile.l or 0, l or 0)
    if level and profile.sensitive:
        if profile.l_variant == "distinct":
            models.append(DistinctLDiversity(profile.sensitive, level))
        elif profile.l_variant == "entropy":
            models.append(EntropyLDiversity(profile.sensitive, level))
        else:
            models.append(RecursiveCLDiversity(profile.sensitive, profile.c, level))
    if profile.t is not None and profile.sensitive:
        models.append(TCloseness(profile.sensitive, profile.t, distance=profile.t_distance))
    return models
