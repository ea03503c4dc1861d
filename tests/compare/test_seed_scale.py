"""The compare at seed scale (10k customers, 186k transactions, 465k items) on synthetic frames.

Speed is the bench's (``bench/compare.py``), never a test's: this checks the counts the
synthetic data implies at that size.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from blaze_workbook.compare import compare

from ._synthetic import frames

pytestmark = pytest.mark.slow


def test_seed_scale_compare_counts_what_was_injected():
    existing, blaze = frames()
    result = compare(existing, blaze, as_of=date(2024, 6, 1))

    customers = result.tables["customers"]
    assert customers.matched == 10_000
    plus_one = existing["customers"].select(pl.col("phone").str.starts_with("+1").sum()).item()
    upper = existing["customers"].select((pl.col("email") != pl.col("email").str.to_lowercase()).sum()).item()
    assert customers.fields["phone"].format_only == plus_one and customers.fields["phone"].mismatched == 0
    assert customers.fields["email"].format_only == upper and customers.fields["email"].mismatched == 0

    tx = result.tables["transactions"]
    bumped = existing["transactions"].join(blaze["transactions"], on="transaction_id").filter(pl.col("total_amount") != pl.col("total_amount_right")).height
    assert tx.fields["total_amount"].real == bumped and tx.fields["total_amount"].format_only == 0

    items = result.tables["transaction_items"]
    assert items.matched == items.rows_existing == items.rows_blaze == 465_000
    assert items.duplicates["existing"] == items.duplicates["blaze"]
    assert all(c.mismatched == 0 for c in items.fields.values())
    assert result.discrepancies.height == sum(c.compared - c.equal for t in result.tables.values() for c in t.fields.values())
