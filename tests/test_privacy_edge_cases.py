"""Edge cases of the privacy checkers found in review: exact ties, missing values in counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transforms.privacy_models import (
    DistinctLDiversity,
    EntropyLDiversity,
    PrivacyModelError,
    check_class_counts,
    check_privacy,
    class_counts,
)


@pytest.mark.parametrize("l", [2, 3, 5, 7, 12])
def test_entropy_l_uniform_classes_pass_exactly_at_the_tie(l: int) -> None:  # noqa: E741
    # l values with equal counts f have entropy ln l exactly; before the slack, rounding made
    # e.g. counts (3, 3) fail entropy-2-diversity (1348 of 4389 such (l, f) pairs failed)
    for f in (1, 3, 4, 7, 9, 10, 22, 29, 53, 81, 250):
        df = pd.DataFrame({"q": ["a"] * (l * f), "s": [str(v) for v in range(l)] * f})
        report = check_privacy(df, qi=["q"], models=[EntropyLDiversity("s", l)])
        assert report.satisfied, (l, f)
        assert report.l == pytest.approx(l, rel=1e-9)


def test_entropy_l_just_below_the_tie_still_fails() -> None:
    # counts (4, 2): exp(H) = 1.89 < 2; (1000, 999): exp(H) just below 2 by ~1e-7 relative
    for counts in ((4, 2), (1000, 999)):
        s = ["x"] * counts[0] + ["y"] * counts[1]
        df = pd.DataFrame({"q": ["a"] * len(s), "s": s})
        assert not check_privacy(df, qi=["q"], models=[EntropyLDiversity("s", 2)]).satisfied


def test_count_table_with_missing_sensitive_value_is_a_privacy_model_error() -> None:
    df = pd.DataFrame({"q": ["a", "a", "b", "b"], "s": ["1", None, "2", "3"]})
    counts = class_counts(df, qi=["q"], sensitive="s")
    with pytest.raises(PrivacyModelError, match="'s' has missing values"):
        check_class_counts(counts, qi=["q"], models=[DistinctLDiversity("s", 2)], sensitive="s")


def test_count_table_missing_value_never_lands_in_another_class() -> None:
    # a NaN code (-1) must not be counted as the previous class's last value
    df = pd.DataFrame({"q": ["a", "b", "b"], "s": ["1", np.nan, "2"]})
    counts = class_counts(df, qi=["q"], sensitive="s")
    with pytest.raises(PrivacyModelError):
        check_class_counts(counts, qi=["q"], models=[DistinctLDiversity("s", 1)], sensitive="s")
