"""The gate: every key field's rate strictly below the threshold."""

from __future__ import annotations

import pytest

from blaze_workbook.compare.gate import DEFAULT_KEY_FIELDS, DEFAULT_THRESHOLD, evaluate
from blaze_workbook.errors import ConfigurationError


def tables(mismatched: int, compared: int = 100, field: str = "phone") -> dict:
    rate = mismatched / compared if compared else 0.0
    return {"customers": {"fields": {field: {"compared": compared, "mismatched": mismatched, "rate": rate}}}}


def test_defaults_are_the_contract():
    assert DEFAULT_THRESHOLD == 0.05
    assert DEFAULT_KEY_FIELDS == (
        "customers.phone", "customers.email", "customers.name", "transactions.total_amount", "transactions.date",
        "transaction_items.total_price", "products.sku", "products.name",
    )  # fmt: skip


@pytest.mark.parametrize(("mismatched", "passed"), [(0, True), (4, True), (5, False), (6, False)])
def test_the_gate_flips_exactly_at_the_threshold(mismatched, passed):
    gate = evaluate(tables(mismatched), threshold=0.05, key_fields=["customers.phone"])
    assert gate.passed is passed
    assert gate.failing_fields == (() if passed else ("customers.phone",))


@pytest.mark.parametrize(("threshold", "passed"), [(0.0999, False), (0.1, False), (0.1001, True)])
def test_threshold_is_a_parameter(threshold, passed):
    assert evaluate(tables(10), threshold=threshold, key_fields=["customers.phone"]).passed is passed


def test_zero_threshold_fails_on_any_mismatch_and_passes_on_none():
    assert evaluate(tables(0), threshold=0.0, key_fields=["customers.phone"]).passed is False  # 0 is not below 0
    assert evaluate(tables(0), threshold=1e-12, key_fields=["customers.phone"]).passed is True


def test_a_key_field_not_compared_fails_with_its_reason():
    gate = evaluate(tables(0), key_fields=["customers.phone", "products.sku"])
    assert gate.failing_fields == ("products.sku",)
    assert gate.reasons == {"products.sku": "not compared"}


def test_only_key_fields_count():
    assert evaluate(tables(90, field="lifetime_value"), key_fields=[]).passed
    assert evaluate(tables(90, field="lifetime_value"), key_fields=["customers.lifetime_value"]).passed is False


def test_as_dict_is_the_contract_shape():
    gate = evaluate(tables(9), key_fields=["customers.phone"])
    assert gate.as_dict() == {"threshold": 0.05, "passed": False, "failing_fields": ["customers.phone"]}
    assert "9 of 100" in gate.reasons["customers.phone"]


@pytest.mark.parametrize("bad", [["phone"], ["a.b.c"], [".x"]])
def test_malformed_key_fields(bad):
    with pytest.raises(ConfigurationError, match="table.field"):
        evaluate(tables(0), key_fields=bad)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_threshold_out_of_range(bad):
    with pytest.raises(ConfigurationError):
        evaluate(tables(0), threshold=bad, key_fields=[])
