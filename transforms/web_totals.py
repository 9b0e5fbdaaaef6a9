"""Web-site visits as totals only.

The policy counts home-page users "only as statistical totals" and never releases them: this
keeps per-day totals (page views, distinct clients) and nothing per visitor.
"""

from __future__ import annotations

import pandas as pd


def daily_visit_totals(log: pd.DataFrame, /, *, timezone: str = "Asia/Tokyo") -> pd.DataFrame:
    """Page views and distinct hashed clients per local calendar day, sorted by day."""
    day = log["accessed_at"].dt.tz_convert(timezone).dt.strftime("%Y-%m-%d")
    totals = (
        log.assign(day=day)
        .groupby("day", sort=True)
        .agg(page_views=("log_id", "size"), distinct_clients=("client_hash", "nunique"))
        .reset_index()
    )
    return totals.astype({"page_views": "int64", "distinct_clients": "int64"})


def daily_path_totals(log: pd.DataFrame, /, *, timezone: str = "Asia/Tokyo") -> pd.DataFrame:
    """Page views per local calendar day and path, sorted by day then path (internal only:
    the ``web_page_views_daily`` spec may go to ``internal`` recipients and nowhere else)."""
    day = log["accessed_at"].dt.tz_convert(timezone).dt.strftime("%Y-%m-%d")
    totals = (
        log.assign(day=day, path=log["path"].astype("string"))
        .groupby(["day", "path"], sort=True)
        .size()
        .rename("page_views")
        .reset_index()
    )
    return totals.astype({"page_views": "int64"})
