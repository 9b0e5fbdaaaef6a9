"""Turn the configured privacy profile into the engine's privacy models."""

from __future__ import annotations

from pipeline.settings.release_config import PrivacyProfile
from transforms.privacy_models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
)


def models_for(profile: PrivacyProfile) -> list[PrivacyModel]:
    """The privacy models the profile asks the engine to enforce."""
    models: list[PrivacyModel] = [KAnonymity(profile.k)]
    level = profile.l
    if level and profile.sensitive:
        if profile.l_variant == "distinct":
            models.append(DistinctLDiversity(profile.sensitive, level))
        elif profile.l_variant == "entropy":
            models.append(
                EntropyLDiversity(profile.sensitive, level, estimator=profile.entropy_estimator)
            )
        else:
            models.append(RecursiveCLDiversity(profile.sensitive, profile.c, level))
    if profile.t is not None and profile.sensitive:
        models.append(TCloseness(profile.sensitive, profile.t, distance=profile.t_distance))
    return models
