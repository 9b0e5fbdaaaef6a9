from __future__ import annotations

import pandas as pd

from transforms.web_totals import daily_path_totals, daily_visit_totals


def test_totals_per_local_day_and_nothing_per_visitor() -> None:
    log = pd.DataFrame(
        {
            "log_id": [1, 2, 3, 4],
            # 2026-11-23T16:00Z is 2026-11-24 01:00 in Tokyo.
            "accessed_at": pd.to_datetime(
                [
                    "2026-11-23T14:00:00Z",
                    "2026-11-23T16:00:00Z",
                    "2026-11-24T01:00:00Z",
                    "2026-11-24T02:00:00Z",
                ],
                utc=True,
            ),
            "client_hash": ["a", "b", "b", "c"],
            "path": ["/", "/menu", "/", "/"],
        }
    )
    per_path = daily_path_totals(log)
    assert per_path.to_dict("records") == [
        {"day": "2026-11-23", "path": "/", "page_views": 1},
        {"day": "2026-11-24", "path": "/", "page_views": 2},
        {"day": "2026-11-24", "path": "/menu", "page_views": 1},
    ]
    assert "client_hash" not in per_path.columns
    totals = daily_visit_totals(log)
    assert totals.to_dict("records") == [
        {"day": "2026-11-23", "page_views": 1, "distinct_clients": 1},
        {"day": "2026-11-24", "page_views": 3, "distinct_clients": 2},
    ]
    assert set(totals.columns) == {"day", "page_views", "distinct_clients"}
