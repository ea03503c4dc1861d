"""The mapping is the one source of CONTRACTS.md §3; these checks pin it to the contract."""

from __future__ import annotations

import pytest

from blaze_workbook import mapping
from blaze_workbook.errors import ConfigurationError

# CONTRACTS.md §3, "New nullable columns on the existing tables"
NEW_COLUMNS = {
    "customers": "is_medical boolean, text_opt_in boolean, email_opt_in boolean, blaze_created timestamptz, blaze_modified timestamptz",
    "transactions": "blaze_status text, trans_type text, blaze_created timestamptz, blaze_modified timestamptz, start_time timestamptz, end_time timestamptz, completed_time timestamptz",
    "transaction_items": "discount numeric, discount_type text, tax numeric",
    "products": "thca numeric, cbda numeric, cbg numeric, description text, weight_per_unit text, unit_value numeric, blaze_created timestamptz, blaze_modified timestamptz, image_url text",
}


@pytest.mark.parametrize("legacy", list(NEW_COLUMNS))
def test_new_columns_match_contract(legacy):
    expected = [tuple(part.split()) for part in NEW_COLUMNS[legacy].split(", ")]
    got = [(n.name, n.pg_type) for n in mapping.table(legacy).new_columns]
    assert got == expected


def test_new_columns_are_filled_from_staging_columns_of_the_same_type():
    for t in mapping.TABLES:
        for new in t.new_columns:
            assert t.column(new.staging).pg_type == new.pg_type


def test_keys_and_money():
    assert [t.key for t in mapping.TABLES] == ["member_id", "transaction_id", "item_id", "product_id"]
    assert mapping.TRANSACTIONS.column("total_tax").source == ("cart.totalCalcTax",)
    assert mapping.TRANSACTIONS.column("date").source == ("completedTime", "endTime", "startTime")
    for t in mapping.TABLES:
        for col in t.columns:
            if col.kind == "money":
                assert col.pg_type == "numeric"


def test_unknown_table_lists_valid_names():
    with pytest.raises(ConfigurationError, match="customers"):
        mapping.table("nope")
