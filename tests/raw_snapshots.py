"""A small raw snapshot, as extract writes it, shared by the tests of disclosures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def two_customers(workdir: Path, *, run: str = "2026-11-24") -> None:
    """Customers 1 and 2 (names, phones), their consents and two service uses, as text."""
    raw = workdir / run / "raw"
    raw.mkdir(parents=True)
    pd.DataFrame(
        {
            "customer_id": ["1", "2"],
            "family_name": ["山田", "佐藤"],
            "phone": ["090-0000-0001", "090-0000-0002"],
        }
    ).to_parquet(raw / "customers.parquet")
    pd.DataFrame(
        {
            "consent_id": ["1", "2", "3"],
            "customer_id": ["1", "2", "2"],
            "purpose": ["statistics", "statistics", "partner_marketing"],
        }
    ).to_parquet(raw / "consents.parquet")
    pd.DataFrame(
        {"usage_id": ["1", "2"], "customer_id": ["2", "1"], "amount_yen": ["5000", "7000"]}
    ).to_parquet(raw / "service_usage.parquet")
