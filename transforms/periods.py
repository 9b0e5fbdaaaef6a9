"""Release periods: the fixed cut-off a release describes, given the night it runs.

A recipient who receives a dataset every night, and compares the nights, sees every change:
a birthday moves a person to the next age band, a deletion removes exactly one row. A release
series describes the data as of a cut-off fixed for its period (the night itself, the last
Sunday, the month's end), with ages at that cut-off, so nothing moves within a period and the
changes between periods are many at once.

- ``nightly``: the cut-off is the run date.
- ``weekly``: the last Sunday before the run date (the last complete ISO week).
- ``monthly``: the last day of the month before the run date's month.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, get_args

Cadence = Literal["nightly", "weekly", "monthly"]
CADENCES: tuple[str, ...] = get_args(Cadence)


def period_cutoff(run_date: date, cadence: Cadence, /) -> date:
    """The cut-off of the latest complete period on ``run_date``.

    Examples
    --------
    >>> period_cutoff(date(2026, 11, 24), "monthly"), period_cutoff(date(2026, 11, 24), "weekly")
    (datetime.date(2026, 10, 31), datetime.date(2026, 11, 22))
    """
    if cadence == "nightly":
        return run_date
    if cadence == "weekly":
        return run_date - timedelta(days=run_date.isoweekday() % 7 or 7)
    if cadence == "monthly":
        return run_date.replace(day=1) - timedelta(days=1)
    raise ValueError(f"unknown cadence {cadence!r}; expected one of {', '.join(CADENCES)}")


def next_cutoff(cutoff: date, cadence: Cadence, /) -> date:
    """The cut-off of the period after the one ending on ``cutoff``."""
    if cadence == "nightly":
        return cutoff + timedelta(days=1)
    if cadence == "weekly":
        return cutoff + timedelta(days=7)
    if cadence == "monthly":
        first_of_next = (cutoff + timedelta(days=1)).replace(day=28) + timedelta(days=4)
        return first_of_next.replace(day=1) - timedelta(days=1)
    raise ValueError(f"unknown cadence {cadence!r}; expected one of {', '.join(CADENCES)}")


def first_release_date(cutoff: date, cadence: Cadence, /) -> date:
    """The first night whose latest complete period ends on ``cutoff``."""
    return cutoff if cadence == "nightly" else cutoff + timedelta(days=1)


def age_reference_for_tables(run_date: date, /) -> date:
    """Tables count ages as of 1 January of the run's year.

    A nightly table with ages at the run date moves a customer to the next age band on their
    birthday, and the one-person change in two cells tells a table-only recipient that
    person's region and courses. With a yearly reference, bands change for everyone at once.
    """
    return date(run_date.year, 1, 1)
