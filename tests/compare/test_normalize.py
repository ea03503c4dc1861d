"""Each normalisation: parametrised input -> expected, and its properties (hypothesis).

Properties, per rule: idempotent (norm(norm(x)) == norm(x)); equal to a plain-Python reference
of the documented rule (so it never turns a real difference into a match); and, for phones,
different digit strings never normalise equal unless they differ only by the US country code.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blaze_workbook.compare import normalize as N
from blaze_workbook.errors import ConfigurationError


def run(fn, values, dtype=pl.String):
    """``fn`` (an expression function) applied to ``values``, as a Python list."""
    return pl.DataFrame({"x": pl.Series(values, dtype=dtype)}).select(fn(pl.col("x"))).to_series().to_list()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (555) 010-2030", "5550102030"),
        ("555.010.2030", "5550102030"),
        ("15550102030", "5550102030"),
        ("+15550102030", "5550102030"),
        ("5550102030", "5550102030"),
        ("25550102030", "25550102030"),  # 11 digits not starting with 1: kept
        ("155501020301", "155501020301"),  # 12 digits starting with 1: kept
        ("\uff11 1 555 010 2030", "5550102030"),  # a full-width digit is no digit: 11 ASCII digits left
        ("1", "1"),
        ("+44 20 7946 0958", "442079460958"),  # foreign: digits only
        ("555-0102 x12", "555010212"),  # an extension's digits stay (and differ)
        ("000-000-0000", None),
        ("+1 000 000 0000", None),
        ("0", None),
        ("", None),
        ("   ", None),
        ("n/a", None),
        (None, None),
    ],
)
def test_phone_digits(raw, expected):
    assert run(N.phone_digits, [raw]) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("  ann@example.com\t", "ann@example.com"),
        ("ann@example.com", "ann@example.com"),
        ("a nn@example.com", "a nn@example.com"),  # inner blanks are not a format
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_email_address(raw, expected):
    assert run(N.email_address, [raw]) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann Lee", "ann lee"),
        ("  ANN   lee ", "ann lee"),
        ("Ann\tLee", "ann lee"),
        ("Ann\u00a0Lee", "ann lee"),  # non-breaking space
        ("Jose\u0301 Nun\u0303ez", "jos\u00e9 nu\u00f1ez"),  # decomposed -> NFC
        ("JOSÉ", "josé"),
        ("Straße", "straße"),  # lower-casing, not full case folding (documented)
        ("", None),
        (" \t ", None),
        (None, None),
    ],
)
def test_person_name(raw, expected):
    assert run(N.person_name, [raw]) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Oakland", "Oakland"), (" Oakland  ", "Oakland"), ("OAKLAND", "OAKLAND"), ("San  Jose", "San  Jose"), ("", None), ("  ", None), (None, None)],
)
def test_trimmed_text(raw, expected):
    assert run(N.trimmed_text, [raw]) == [expected]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("12.345", "12.349", True),
        ("12.35", "12.354", True),
        ("12.35", "12.3549999", True),
        ("12.35", "12.355", False),  # exactly half a cent: not the same
        ("12.345", "12.35", False),
        ("-20.00", "20.00", False),  # a refund's sign is a real difference
        ("0", "0.0049", True),
        ("10", "10.01", False),
    ],
)
def test_within_half_cent(a, b, same):
    dec = pl.Decimal(38, 10)
    frame = pl.DataFrame({"a": [Decimal(a)], "b": [Decimal(b)]}, schema={"a": dec, "b": dec})
    assert frame.select(N.within_half_cent(pl.col("a"), pl.col("b"))).item() is same


def test_enum_rule_maps_blaze_values_only():
    rule = N.enum_rule("status", {"Pending": "Inactive"})
    frame = pl.DataFrame({"x": ["Pending", "Active", " Inactive ", None]})
    assert frame.select(rule.normalize_blaze(pl.col("x"))).to_series().to_list() == ["Inactive", "Active", "Inactive", None]
    assert frame.select(rule.normalize(pl.col("x"))).to_series().to_list() == ["Pending", "Active", "Inactive", None]


def test_default_customer_type_is_identity():
    rule = N.RULES["customer_type"]
    assert dict(rule.blaze_map) == {}
    assert run(rule.normalize_blaze, ["Active", "Pending"]) == ["Active", "Pending"]


@pytest.mark.parametrize(
    ("table", "field", "kind", "rule"),
    [
        ("customers", "phone", "text", "phone"),
        ("customers", "email", "text", "email"),
        ("customers", "name", "name", "name"),
        ("customers", "customer_type", "text", "customer_type"),
        ("customers", "lifetime_value", None, "money"),
        ("customers", "total_visits", None, "numeric"),
        ("customers", "last_visited", "local_date", "date"),
        ("customers", "vip_status", None, "text"),
        ("transactions", "date", "epoch_ms", "instant"),
        ("transactions", "total_amount", "money", "money"),
        ("transactions", "staff_name", "lookup", "text"),
        ("transaction_items", "quantity", "numeric", "numeric"),
        ("products", "is_active", "bool", "bool"),
        ("products", "name", "text", "text"),
    ],
)
def test_rule_for_field(table, field, kind, rule):
    assert N.rule_for(table, field, kind).name == rule


def test_rule_overrides_and_unknown_names():
    assert N.rule_for("products", "name", "text", {"products.name": "name"}).name == "name"
    with pytest.raises(ConfigurationError, match="valid: .*phone"):
        N.rule_for("products", "name", "text", {"products.name": "nope"})
    with pytest.raises(ConfigurationError):
        N.rule_for("products", "nothing", None)


def test_every_mapping_kind_has_a_rule():
    from typing import get_args

    from blaze_workbook.mapping import Kind

    assert set(get_args(Kind)) == set(N.KIND_RULES)
    assert set(N.KIND_RULES.values()) <= set(N.RULES)


def test_rules_frame_documents_every_explicit_field():
    frame = N.rules_frame()
    assert set(N.FIELD_RULES) <= set(frame["field"])
    assert frame["normalisation"].null_count() == 0


# --- properties ------------------------------------------------------------------------------

PHONE_CHARS = st.text(alphabet="0123456789+-() .x1", max_size=18)
TEXTISH = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("abcXYZ @._-") + ["\t", "\u00a0", " ", "É", "é", "\u0301", "ß", "Σ", "İ", "ǅ", "ﬁ"]),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    ),
    max_size=20,
)
SETTINGS = settings(max_examples=60, deadline=None)


def ref_phone(x: str | None) -> str | None:
    if x is None:
        return None
    digits = re.sub(r"[^0-9]", "", x)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return None if set(digits) <= {"0"} else digits


@SETTINGS
@given(st.lists(st.one_of(st.none(), PHONE_CHARS), max_size=30))
def test_phone_is_idempotent_and_matches_reference(values):
    once = run(N.phone_digits, values)
    assert run(N.phone_digits, once) == once
    assert once == [ref_phone(v) for v in values]


@SETTINGS
@given(st.lists(st.tuples(PHONE_CHARS, PHONE_CHARS), min_size=1, max_size=30))
def test_phone_never_matches_different_numbers(pairs):
    left = run(N.phone_digits, [a for a, _ in pairs])
    right = run(N.phone_digits, [b for _, b in pairs])
    for (a, b), na, nb in zip(pairs, left, right, strict=True):
        da, db = re.sub(r"[^0-9]", "", a), re.sub(r"[^0-9]", "", b)
        if na is not None and na == nb and da != db:  # only the US country code may differ
            assert (len(da) == 11 and da == "1" + db) or (len(db) == 11 and db == "1" + da)


def test_phone_keeps_the_country_code_difference_it_documents():
    assert run(N.phone_digits, ["15550102030", "5550102030", "1555010203"]) == ["5550102030", "5550102030", "1555010203"]


EMAILISH = st.text(alphabet=list("abcXYZÉéßΣ@._-+0123 ") + ["\t", "\u00a0"], max_size=20)


def ref_email(x: str) -> str | None:
    return x.strip().lower() or None


@SETTINGS
@given(st.lists(st.one_of(st.none(), TEXTISH), max_size=30))
def test_email_is_idempotent(values):
    once = run(N.email_address, values)
    assert run(N.email_address, once) == once


@SETTINGS
@given(st.lists(st.one_of(st.none(), EMAILISH), max_size=30))
def test_email_is_exactly_lower_and_trim(values):
    assert run(N.email_address, values) == [None if v is None else ref_email(v) for v in values]


@SETTINGS
@given(st.lists(st.tuples(EMAILISH, EMAILISH), min_size=1, max_size=30))
def test_email_never_matches_different_addresses(pairs):
    left = run(N.email_address, [a for a, _ in pairs])
    right = run(N.email_address, [b for _, b in pairs])
    for (a, b), na, nb in zip(pairs, left, right, strict=True):
        if ref_email(a) != ref_email(b):
            assert na != nb


def ref_name(x: str) -> str | None:
    out = re.sub(r"\s+", " ", unicodedata.normalize("NFC", x.lower())).strip()
    return out or None


@SETTINGS
@given(st.lists(st.one_of(st.none(), TEXTISH), max_size=30))
def test_name_is_idempotent(values):
    once = run(N.person_name, values)
    assert run(N.person_name, once) == once
    for got in once:
        assert got is None or (got == got.strip() and "  " not in got and unicodedata.is_normalized("NFC", got))


NAMEISH = st.text(alphabet=list("abAB ÉéeßΣς") + ["\t", "\u00a0", "\u0301", "\u2003"], max_size=12)


@SETTINGS
@given(st.lists(st.tuples(NAMEISH, NAMEISH), min_size=1, max_size=30))
def test_name_never_matches_different_names(pairs):
    left = run(N.person_name, [a for a, _ in pairs])
    right = run(N.person_name, [b for _, b in pairs])
    for (a, b), na, nb in zip(pairs, left, right, strict=True):
        assert (na == nb) == (ref_name(a) == ref_name(b))


@SETTINGS
@given(st.lists(st.one_of(st.none(), TEXTISH), max_size=30))
def test_text_is_idempotent_and_only_trims(values):
    once = run(N.trimmed_text, values)
    assert run(N.trimmed_text, once) == once
    for raw, got in zip(values, once, strict=True):
        assert got is None or got in raw  # nothing but the ends removed


@SETTINGS
@given(st.lists(st.tuples(st.decimals(-10_000, 10_000, places=4), st.decimals(-10_000, 10_000, places=4)), min_size=1, max_size=30))
def test_money_tolerance_is_strictly_half_a_cent(pairs):
    dec = pl.Decimal(38, 10)
    frame = pl.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]}, schema={"a": dec, "b": dec})
    got = frame.select(N.within_half_cent(pl.col("a"), pl.col("b"))).to_series().to_list()
    assert got == [abs(a - b) < Decimal("0.005") for a, b in pairs]
