"""Example budgets of the property tests, raised by the ``explore`` Hypothesis profile.

A test's own ``@settings(max_examples=...)`` wins over any profile, so tests take their budget
from ``examples(n)``: ``n`` under ``ci`` and ``dev``, the ``explore`` profile's (larger) budget
under ``explore`` (profiles: ``tests/conftest.py``).
"""

from __future__ import annotations

from hypothesis import settings

EXPLORE = "explore"


def examples(n: int) -> int:
    """``n`` examples, or the explore profile's budget when that profile is loaded."""
    if settings.get_current_profile_name() == EXPLORE:
        return max(n, settings.get_profile(EXPLORE).max_examples)
    return n
