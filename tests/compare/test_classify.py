"""Classification: every matched pair falls in exactly one of the five kinds (CONTRACTS.md §4)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blaze_workbook.compare import classify as K
from blaze_workbook.compare import normalize as N
from blaze_workbook.compare.coerce import as_stored, is_blank


def classify(rule: N.Rule, pairs: list[tuple], dtype: pl.DataType = pl.String()) -> list[str]:
    """The kind of each ``(existing, blaze)`` pair under ``rule``."""
    frame = pl.DataFrame({"e": [a for a, _ in pairs], "b": [b for _, b in pairs]}, schema={"e": dtype, "b": dtype})
    e, b = as_stored(pl.col("e"), dtype, rule.dtype), as_stored(pl.col("b"), dtype, rule.dtype)
    kind = K.kind(
        e, b, rule.normalize(e), rule.normalize_blaze(b), rule,
        existing_blank=is_blank(pl.col("e"), dtype), blaze_blank=is_blank(pl.col("b"), dtype),
    )  # fmt: skip
    return frame.select(kind.cast(pl.String)).to_series().to_list()


@pytest.mark.parametrize(
    ("rule", "existing", "blaze", "kind"),
    [
        # equal as stored, including both empty
        (N.PHONE, "5550102030", "5550102030", "equal"),
        (N.PHONE, None, None, "equal"),
        (N.PHONE, "", None, "equal"),
        (N.PHONE, "", "", "equal"),
        # format only
        (N.PHONE, "+1 (555) 010-2030", "5550102030", "format_only"),
        (N.PHONE, "000-000-0000", None, "format_only"),  # both missing after normalisation
        (N.PHONE, "  ", "", "format_only"),
        (N.EMAIL, "Ann@X.com ", "ann@x.com", "format_only"),
        (N.NAME, "ann   LEE", "Ann Lee", "format_only"),
        (N.TEXT, " Oakland", "Oakland", "format_only"),
        # real
        (N.PHONE, "5550102030", "5550102031", "real"),
        (N.EMAIL, "ann@x.com", "anne@x.com", "real"),
        (N.NAME, "Ann Lee", "Anne Lee", "real"),
        (N.TEXT, "oakland", "Oakland", "real"),  # text keeps case
        # missing
        (N.PHONE, "5550102030", None, "missing_in_blaze"),
        (N.PHONE, "5550102030", "", "missing_in_blaze"),
        (N.PHONE, "5550102030", "0000000000", "missing_in_blaze"),
        (N.EMAIL, None, "ann@x.com", "missing_in_existing"),
        (N.NAME, "   ", "Ann", "missing_in_existing"),
    ],
)
def test_text_kinds(rule, existing, blaze, kind):
    assert classify(rule, [(existing, blaze)]) == [kind]


@pytest.mark.parametrize(
    ("rule", "existing", "blaze", "kind"),
    [
        (N.MONEY, "12.50", "12.5", "equal"),  # same number as stored
        (N.MONEY, "12.345", "12.349", "format_only"),
        (N.MONEY, "12.35", "12.355", "real"),  # exactly half a cent
        (N.MONEY, "-20.00", "20.00", "real"),  # a refund's sign
        (N.MONEY, None, "0", "missing_in_existing"),
        (N.MONEY, "0", None, "missing_in_blaze"),
        (N.NUMERIC, "2", "2.000", "equal"),
        (N.NUMERIC, "2", "1.5", "real"),  # a rounded quantity
        (N.NUMERIC, "2", "2.001", "real"),  # numbers have no tolerance
        (N.DATE, "2024-01-05", "2024-01-05", "equal"),
        (N.DATE, "2024-01-05", "2024-01-06", "real"),
        (N.INSTANT, "2024-01-05 12:00:00-08", "2024-01-05T20:00:00Z", "equal"),  # the same instant
        (N.INSTANT, "2024-01-05 12:00:00", "2024-01-05 12:00:01", "real"),
        (N.BOOL, "t", "true", "equal"),
        (N.BOOL, "f", "true", "real"),
        (N.BOOL, None, "false", "missing_in_existing"),
    ],
)
def test_typed_kinds_from_text(rule, existing, blaze, kind):
    assert classify(rule, [(existing, blaze)]) == [kind]


def test_typed_kinds_from_typed_columns():
    dec = pl.Decimal(38, 2)
    money = [(Decimal("10.00"), Decimal("10.00")), (Decimal("10.00"), Decimal("10.01")), (None, None), (Decimal("1"), None)]
    assert classify(N.MONEY, money, dec) == ["equal", "real", "equal", "missing_in_blaze"]
    stamps = [(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)), (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))]
    assert classify(N.INSTANT, stamps, pl.Datetime("us", "UTC")) == ["equal", "real"]
    days = [(date(2024, 1, 1), date(2024, 1, 1)), (None, date(2024, 1, 1))]
    assert classify(N.DATE, days, pl.Date()) == ["equal", "missing_in_existing"]


def test_enum_mapping_counts_as_format_only():
    rule = N.enum_rule("status", {"Pending": "Inactive"})
    assert classify(rule, [("Inactive", "Pending"), ("Active", "Pending"), ("Active", "Active")]) == ["format_only", "real", "equal"]


VALUES = st.one_of(st.none(), st.sampled_from(["", " ", "5550102030", "+1 555 010 2030", "000", "Ann", "ann ", "A@x.com", "a@x.com"]), st.text(max_size=8))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([N.PHONE, N.EMAIL, N.NAME, N.TEXT]), st.lists(st.tuples(VALUES, VALUES), min_size=1, max_size=40))
def test_kinds_are_exhaustive_and_exclusive(rule, pairs):
    kinds = classify(rule, pairs)
    assert len(kinds) == len(pairs) and all(k in K.KINDS for k in kinds)
    counts = {k: kinds.count(k) for k in K.KINDS}
    assert sum(counts.values()) == len(pairs)  # kinds sum to compared
    for (a, b), k in zip(pairs, kinds, strict=True):
        blank_a, blank_b = a in (None, ""), b in (None, "")
        stored_equal = (blank_a and blank_b) or a == b
        assert (k == "equal") == stored_equal
        if k == "format_only":  # really differs as stored
            assert a != b and not (blank_a and blank_b)
        if k == "real":
            assert a is not None and b is not None
        if k == "missing_in_blaze":
            assert not blank_a
        if k == "missing_in_existing":
            assert not blank_b


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.decimals(-100, 100, places=3), st.decimals(-100, 100, places=3)), min_size=1, max_size=40))
def test_money_kinds_follow_the_tolerance(pairs):
    kinds = classify(N.MONEY, pairs, pl.Decimal(38, 3))
    for (a, b), k in zip(pairs, kinds, strict=True):
        expected = "equal" if a == b else "format_only" if abs(a - b) < Decimal("0.005") else "real"
        assert k == expected
