"""Golden results: ARX's own unit tests fix these optima on Adult (see fixtures/adult)."""

from __future__ import annotations

import pandas as pd
import pytest
from adult_data import ADULT, read_adult

from transforms.anonymize import SUPPRESSED, anonymize
from transforms.hierarchy import find_hierarchies
from transforms.privacy_models import EntropyLDiversity, KAnonymity, check_privacy


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return read_adult(dtype=str)


@pytest.mark.parametrize(
    ("k", "limit", "levels", "loss", "suppressed"),
    [
        (5, 0.04, [1, 0, 1, 1, 3, 2, 2, 0, 1], 255559.85455731067, 906),
        (100, 0.04, [1, 1, 1, 1, 3, 2, 2, 1, 1], 379417.3460570988, 866),
        (5, 0.0, [1, 2, 1, 1, 3, 2, 2, 1, 1], 407289.5388925293, 0),
        (100, 0.0, [0, 4, 1, 1, 3, 2, 2, 1, 1], 453196.8932458743, 0),
    ],
)
def test_adult_k_anonymity_optimum_matches_arx(
    adult: pd.DataFrame, k: int, limit: float, levels: list[int], loss: float, suppressed: int
) -> None:
    qi = list(adult.columns)
    result = anonymize(
        adult,
        qi=qi,
        hierarchies=find_hierarchies(ADULT, columns=qi),
        models=[KAnonymity(k)],
        suppression_limit=limit,
        metric="nu-entropy",
    )
    assert result.transformation is not None
    assert [result.transformation[c] for c in qi] == levels
    assert result.loss == pytest.approx(loss, rel=1e-9)
    assert result.suppressed == suppressed == int(result.suppressed_mask.sum())
    assert result.nodes_checked < 12960  # pruning happened
    # the output is k-anonymous on the kept records and suppressed rows read "*"
    report = check_privacy(
        result.data, qi=qi, models=[KAnonymity(k)], exclude=result.suppressed_mask
    )
    assert report.satisfied and report.min_class_size == result.min_class_size >= k
    assert report.n_classes == result.classes
    assert (result.data.loc[result.suppressed_mask, qi] == SUPPRESSED).all().all()


def test_adult_grassberger_entropy_l_diversity_matches_arx(adult: pd.DataFrame) -> None:
    # ARX TestAnonymizationEntropyLDiversity: sensitive occupation, the other 8 columns QIs,
    # Grassberger entropy-5-diversity, no suppression, entropy metric
    qi = [c for c in adult.columns if c != "occupation"]
    result = anonymize(
        adult,
        qi=qi,
        hierarchies=find_hierarchies(ADULT, columns=qi),
        models=[EntropyLDiversity("occupation", 5, "grassberger")],
        suppression_limit=0.0,
        metric="nu-entropy",
    )
    assert result.transformation is not None
    assert [result.transformation[c] for c in qi] == [1, 1, 1, 1, 3, 2, 2, 1]
    assert result.loss == pytest.approx(324620.5269918692, rel=1e-9)
    assert result.suppressed == 0


def test_adult_shannon_entropy_l_with_suppression_matches_arx(adult: pd.DataFrame) -> None:
    # ARX TestAnonymizationEntropyLDiversity: Shannon entropy-5-diversity on occupation,
    # 4 % suppression, non-monotonic entropy metric (suppressed records per README formula)
    qi = [c for c in adult.columns if c != "occupation"]
    result = anonymize(
        adult,
        qi=qi,
        hierarchies=find_hierarchies(ADULT, columns=qi),
        models=[EntropyLDiversity("occupation", 5)],
        suppression_limit=0.04,
        metric="nu-entropy-nm",
    )
    assert result.transformation is not None
    assert [result.transformation[c] for c in qi] == [1, 0, 1, 1, 2, 2, 2, 1]
    assert result.loss == pytest.approx(228878.2039109517, rel=1e-9)
    report = check_privacy(
        result.data,
        qi=qi,
        models=[EntropyLDiversity("occupation", 5)],
        exclude=result.suppressed_mask,
    )
    assert report.satisfied and result.suppressed <= int(0.04 * len(adult))
