"""The derived customer fields of CONTRACTS.md §3, on hand-made transactions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from blaze_workbook.compare import derived as D
from blaze_workbook.compare.derived import SCHEMA, derived_metrics, metrics_plan
from blaze_workbook.mapping import DERIVED_FIELDS
from blaze_workbook.setup_sql import MetricsRules

AS_OF = date(2024, 3, 1)
LA = MetricsRules()  # America/Los_Angeles, CONTRACTS defaults
TX_SCHEMA = {
    "customer_id": pl.String,
    "date": pl.Datetime("us", "UTC"),
    "total_amount": pl.Decimal(12, 2),
    "blaze_status": pl.String,
    "trans_type": pl.String,
}


def tx(rows: list[tuple]) -> pl.DataFrame:
    """``(customer, utc datetime, amount, status, type)`` rows as a staging-shaped frame."""
    return pl.DataFrame(
        [(c, d, Decimal(str(a)) if a is not None else None, s, t) for c, d, a, s, t in rows], schema=TX_SCHEMA, orient="row"
    )


def members(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"member_id": list(ids)})


def utc(y, m, d, h=12) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def sale(member: str, when: datetime, amount="10.00") -> tuple:
    return (member, when, amount, "Completed", "Sale")


def one(frame: pl.DataFrame, member: str) -> dict:
    return frame.filter(pl.col("member_id") == member).row(0, named=True)


def test_columns_and_types_follow_the_mapping():
    out = derived_metrics(members("a"), tx([]), as_of=AS_OF)
    assert out.columns == ["member_id", *DERIVED_FIELDS]
    assert dict(out.schema) == {"member_id": pl.String, **SCHEMA}


def test_sums_counts_and_refunds():
    rows = [
        sale("a", utc(2024, 2, 10), "100.00"),
        sale("a", utc(2024, 2, 10, 20), "50.00"),  # same local day: one visit
        sale("a", utc(2024, 2, 20), "25.50"),
        ("a", utc(2024, 2, 21), "-20.00", "RefundWithInventory", "Refund"),  # negative: abs
        ("a", utc(2024, 2, 22), "5.00", "Completed", "Refund"),  # positive refund by type
        ("a", utc(2024, 2, 23), "7.00", "RefundWithoutInventory", "Sale"),  # refund by status, not a sale
        ("a", utc(2024, 2, 24), "99.00", "Canceled", "Sale"),  # not completed: neither
        ("a", utc(2024, 2, 25), "99.00", "Completed", "Adjustment"),  # neither
    ]
    got = one(derived_metrics(members("a"), tx(rows), as_of=AS_OF), "a")
    assert got["total_visits"] == 2
    assert got["total_sales"] == 3
    assert got["total_refunds"] == 3
    assert got["gross_sales"] == Decimal("175.50")
    assert got["gross_refunds"] == Decimal("32.00")
    assert got["lifetime_value"] == Decimal("143.50")
    assert got["avg_sale_value"] == Decimal("58.5")
    assert got["last_visited"] == date(2024, 2, 20)
    assert got["days_since_last_visit"] == 10


def test_member_without_transactions_has_zeros_and_nulls():
    out = derived_metrics(members("a", "b"), tx([sale("a", utc(2024, 2, 1))]), as_of=AS_OF)
    got = one(out, "b")
    assert got == {
        "member_id": "b", "total_visits": 0, "total_sales": 0, "total_refunds": 0, "gross_sales": Decimal(0),
        "gross_refunds": Decimal(0), "lifetime_value": Decimal(0), "avg_sale_value": None, "last_visited": None,
        "days_since_last_visit": None, "vip_status": "New", "churn_risk": None,
    }  # fmt: skip


def test_member_with_only_refunds_has_no_average_and_no_visit():
    got = one(derived_metrics(members("a"), tx([("a", utc(2024, 2, 1), "-5.00", "RefundWithInventory", "Refund")]), as_of=AS_OF), "a")
    assert (got["total_sales"], got["total_refunds"], got["avg_sale_value"], got["last_visited"], got["churn_risk"]) == (0, 1, None, None, None)
    assert got["lifetime_value"] == Decimal("-5.00")


def test_one_row_per_member_in_member_order_and_strangers_ignored():
    out = derived_metrics(members("c", "a", "c"), tx([sale("zz", utc(2024, 2, 1)), sale("a", utc(2024, 2, 1))]), as_of=AS_OF)
    assert out["member_id"].to_list() == ["c", "a"]


def test_evening_sale_counts_on_the_local_day():
    # 2024-02-10 20:30 in Los Angeles is 2024-02-11 04:30 UTC
    got = one(derived_metrics(members("a"), tx([sale("a", datetime(2024, 2, 11, 4, 30, tzinfo=UTC))]), as_of=AS_OF), "a")
    assert got["last_visited"] == date(2024, 2, 10)
    assert got["days_since_last_visit"] == 20
    utc_shop = MetricsRules(timezone="UTC")
    assert one(derived_metrics(members("a"), tx([sale("a", datetime(2024, 2, 11, 4, 30, tzinfo=UTC))]), as_of=AS_OF, rules=utc_shop), "a")["last_visited"] == date(2024, 2, 11)


def test_naive_timestamps_are_read_as_utc():
    frame = tx([sale("a", utc(2024, 2, 11, 4))]).with_columns(pl.col("date").dt.replace_time_zone(None))
    assert one(derived_metrics(members("a"), frame, as_of=AS_OF), "a")["last_visited"] == date(2024, 2, 10)


def visits(n: int) -> pl.DataFrame:
    return tx([sale("a", utc(2024, 1, 1) + timedelta(days=i)) for i in range(n)])


@pytest.mark.parametrize(
    ("n", "tier"), [(0, "New"), (1, "New"), (2, "Casual"), (5, "Casual"), (6, "Regular"), (15, "Regular"), (16, "VIP"), (40, "VIP")]
)
def test_vip_tiers_at_their_bounds(n, tier):
    got = one(derived_metrics(members("a"), visits(n), as_of=AS_OF), "a")
    assert (got["total_visits"], got["vip_status"]) == (n, tier)


def test_vip_counts_days_not_sales():
    same_day = tx([sale("a", utc(2024, 1, 1, h)) for h in range(16, 23)])  # 7 sales, one LA day
    got = one(derived_metrics(members("a"), same_day, as_of=AS_OF), "a")
    assert (got["total_sales"], got["total_visits"], got["vip_status"]) == (7, 1, "New")


@pytest.mark.parametrize(("days", "risk"), [(0, "Low"), (29, "Low"), (30, "Medium"), (60, "Medium"), (61, "High"), (400, "High")])
def test_churn_at_its_bounds(days, risk):
    last = AS_OF - timedelta(days=days)
    got = one(derived_metrics(members("a"), tx([sale("a", datetime(last.year, last.month, last.day, 20, tzinfo=UTC))]), as_of=AS_OF), "a")
    assert (got["days_since_last_visit"], got["churn_risk"]) == (days, risk)


def test_bounds_are_parameters():
    rules = MetricsRules(vip=4, regular=3, casual=2, churn_high=10, churn_medium=5)
    got = one(derived_metrics(members("a"), visits(4), as_of=date(2024, 1, 10), rules=rules), "a")
    assert (got["vip_status"], got["days_since_last_visit"], got["churn_risk"]) == ("VIP", 6, "Medium")


def test_lazy_inputs_and_float_amounts():
    frame = visits(2).with_columns(pl.col("total_amount").cast(pl.Float64))
    got = one(derived_metrics(members("a").lazy(), frame.lazy(), as_of=AS_OF), "a")
    assert got["gross_sales"] == Decimal("20")


def _many() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Members and transactions of every kind: several per member, strangers, NULL keys, refunds."""
    statuses = [("Completed", "Sale"), ("Completed", "Refund"), ("RefundWithInventory", "Refund"), ("Canceled", "Sale"), ("Completed", "Adjustment")]
    rows = [
        (None if i % 97 == 0 else f"m{i % 41}", utc(2024, 1, 1 + i % 28, 3 + i % 20), f"{(i * 37) % 500 - 50}.{i % 100:02d}", *statuses[i % len(statuses)])
        for i in range(600)
    ]
    return members(*(f"m{i}" for i in range(35)), "nobody"), tx(rows)


def test_grouping_by_hash_gives_the_plain_plans_rows():
    m, t = _many()
    assert derived_metrics(m, t, as_of=AS_OF).equals(metrics_plan(m, t, as_of=AS_OF).collect())


def test_a_hash_collision_falls_back_to_the_key_text(monkeypatch: pytest.MonkeyPatch):
    """Every member key hashed alike: the second hash disagrees, and the plain plan decides."""
    m, t = _many()
    assert D._by_hash(m, t, as_of=AS_OF, rules=LA) is not None
    real = D._hashes
    monkeypatch.setattr(D, "_hashes", lambda key: (pl.when(key.is_not_null()).then(pl.lit(7, dtype=pl.UInt64)).alias(D._H), real(key)[1]))
    assert D._by_hash(m, t, as_of=AS_OF, rules=LA) is None
    assert derived_metrics(m, t, as_of=AS_OF).equals(metrics_plan(m, t, as_of=AS_OF).collect())
