"""Contribution records for the report tables: one row per contribution, with its customer.

Every table counts or sums *records* (a customer, a visit, a questionnaire answer, a campaign
application, a subscription), each carrying the pseudonym of the customer it belongs to, the
customer's attributes (age, gender, postal prefix, main course) and its own (course, month,
store region, channel, campaign, list). The protection methods need to know who contributes
to a cell, so the unit is always there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd

CUSTOMER_COLUMNS = ("pseudonym", "age", "gender", "postal_code", "main_course")


def month_window(run_date: date, months: int) -> tuple[date, date]:
    """The first and last day of the ``months`` complete calendar months before ``run_date``'s
    month (run on 2026-11-24 with 12: 2025-11-01 .. 2026-10-31)."""
    first_of_run_month = run_date.replace(day=1)
    end = (pd.Timestamp(first_of_run_month) - pd.Timedelta(days=1)).date()
    start = (pd.Timestamp(first_of_run_month) - pd.DateOffset(months=months)).date()
    return start, end


def quarter_window(run_date: date, quarters: int) -> tuple[date, date]:
    """The first and last day of the ``quarters`` complete calendar quarters before
    ``run_date``'s quarter (run on 2026-11-24 with 4: 2025-10-01 .. 2026-09-30)."""
    first_month = 3 * ((run_date.month - 1) // 3) + 1
    first_of_quarter = run_date.replace(month=first_month, day=1)
    end = (pd.Timestamp(first_of_quarter) - pd.Timedelta(days=1)).date()
    start = (pd.Timestamp(first_of_quarter) - pd.DateOffset(months=3 * quarters)).date()
    return start, end


def window_quarters(start: date, end: date) -> tuple[str, ...]:
    """Every ``YYYY-Qn`` from ``start``'s quarter to ``end``'s, in order."""
    periods = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="Q")
    return tuple(f"{p.year}-Q{p.quarter}" for p in periods)


def window_months(start: date, end: date) -> tuple[str, ...]:
    """Every ``YYYY-MM`` from ``start``'s month to ``end``'s, in order (a table's month domain)."""
    periods = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    return tuple(str(p) for p in periods)


def _in_window(dates: pd.Series, window: tuple[date, date] | None) -> pd.Series:
    if window is None:
        return pd.Series(True, index=dates.index)
    stamps = pd.to_datetime(dates)
    return (stamps >= pd.Timestamp(window[0])) & (stamps <= pd.Timestamp(window[1]))


def _quarters(dates: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(dates)
    return stamps.dt.year.astype(str) + "-Q" + stamps.dt.quarter.astype(str)


def _with_customer(rows: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """``rows`` joined to their customer's attributes (rows of unknown customers dropped:
    the customer was deleted, opted out or quarantined)."""
    return rows.merge(customers[list(CUSTOMER_COLUMNS)], on="pseudonym", how="inner")


def contribution_records(
    source: str,
    /,
    *,
    frames: Mapping[str, pd.DataFrame],
    window: tuple[date, date] | None,
    run_date: date,
    store_areas: Mapping[int, str],
    filters: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """The records of ``source`` inside ``window`` with every attribute a dimension can use.

    ``frames`` holds the de-identified tables (``customers``, ``usage``, ``questionnaires``,
    ``campaigns``, ``subscriptions``); ``store_areas`` maps a store id to its region.
    Subscriptions count when active on ``run_date``. Rows outside ``filters`` are dropped.
    """
    customers = frames["customers"]
    if source == "customers":
        out = customers[list(CUSTOMER_COLUMNS)].copy()
    elif source == "service_usage":
        usage = frames["usage"]
        usage = usage[_in_window(usage["visit_date"], window).to_numpy()]
        out = _with_customer(
            usage.assign(
                course=usage["course_category"].astype("string"),
                visit_month=pd.to_datetime(usage["visit_date"]).dt.strftime("%Y-%m"),
                visit_quarter=_quarters(usage["visit_date"]),
                store_area=usage["store_id"].map(store_areas).astype("string"),
            ),
            customers,
        )
    elif source == "questionnaire_responses":
        answers = frames["questionnaires"]
        answers = answers[_in_window(answers["answered_on"], window).to_numpy()]
        out = _with_customer(
            answers.assign(
                answered_month=pd.to_datetime(answers["answered_on"]).dt.strftime("%Y-%m")
            ),
            customers,
        )
    elif source == "campaign_applications":
        apps = frames["campaigns"]
        apps = apps[_in_window(apps["applied_on"], window).to_numpy()]
        out = _with_customer(apps.assign(campaign=apps["campaign_code"]), customers)
    elif source == "mail_subscriptions":
        subs = frames["subscriptions"]
        on = pd.Timestamp(run_date)
        started = pd.to_datetime(subs["subscribed_on"]) <= on
        ended = pd.to_datetime(subs["unsubscribed_on"])
        active = started & (ended.isna() | (ended > on))
        subs = subs[active.to_numpy()]
        out = _with_customer(subs.assign(mail_list=subs["list_name"]), customers)
    else:
        raise ValueError(f"no contribution records for source {source!r}")
    for column, allowed in filters.items():
        out = out[out[column].isin(list(allowed)).to_numpy()]
    return out.reset_index(drop=True)
