"""Endpoint specs are data: one registry, frozen, and an unknown name lists the valid ones."""

from __future__ import annotations

import dataclasses

import pytest

from blaze_workbook.blaze.endpoints import ENDPOINTS, DateFormat, Envelope, Paging, endpoint
from blaze_workbook.errors import ConfigurationError

S, T, N = Paging.SKIP, Paging.START, Paging.NONE
MS, DAY, NO = DateFormat.EPOCH_MS, DateFormat.MMDDYYYY, DateFormat.NONE
SR, OBJ = Envelope.SEARCH_RESULT, Envelope.OBJECT

EXPECTED = [
    # name, path, paging, date format, max days, envelope
    ("members", "/members", S, MS, 7, SR),
    ("members_by_id", "/members/{id}", N, NO, None, OBJ),
    ("transactions", "/transactions", S, DAY, 7, SR),
    ("transactions_by_id", "/transactions/{id}", N, NO, None, OBJ),
    ("products", "/products", S, DAY, 7, SR),
    ("products_modified", "/products/modified", S, MS, 7, SR),
    ("products_by_id", "/products/{id}", N, NO, None, OBJ),
    ("vendors", "/vendors", S, DAY, 7, SR),
    ("store", "/store", N, NO, None, OBJ),
    ("terminals", "/store/terminals", T, NO, None, SR),
    ("categories", "/store/inventory/categories", N, NO, None, SR),
    ("brands", "/store/inventory/brands", T, NO, None, SR),
    ("employees", "/employees", T, NO, None, SR),
    ("loyalty_points", "/loyalty/points", N, NO, None, OBJ),
    ("loyalty_activity", "/loyalty/activity", T, NO, None, SR),
]


@pytest.mark.parametrize(("name", "path", "paging", "date_format", "max_days", "envelope"), EXPECTED)
def test_spec_table(name, path, paging, date_format, max_days, envelope):
    spec = endpoint(name)
    assert (spec.path, spec.paging, spec.date_format, spec.max_window_days, spec.envelope) == (
        path,
        paging,
        date_format,
        max_days,
        envelope,
    )
    assert spec.page_limit == 100


def test_registry_holds_exactly_the_listed_endpoints():
    assert sorted(ENDPOINTS) == sorted(row[0] for row in EXPECTED)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ConfigurationError) as info:
        endpoint("customers")
    text = str(info.value)
    assert "'customers'" in text
    for name in ENDPOINTS:
        assert name in text


def test_specs_are_frozen_and_registry_read_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        endpoint("members").path = "/x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ENDPOINTS["x"] = endpoint("members")  # type: ignore[index]


def test_endpoint_accepts_a_spec():
    spec = endpoint("store")
    assert endpoint(spec) is spec


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("members_by_id", {"id": "abc123"}, "/members/abc123"),
        ("transactions_by_id", {"id": "a/b c"}, "/transactions/a%2Fb%20c"),
        ("store", {}, "/store"),
    ],
)
def test_path_for(name, values, expected):
    assert endpoint(name).path_for(**values) == expected


def test_path_for_missing_placeholder_fails():
    with pytest.raises(ConfigurationError, match="needs id"):
        endpoint("members_by_id").path_for()


def test_required_query_parameters():
    spec = endpoint("loyalty_points")
    with pytest.raises(ConfigurationError, match="memberId"):
        spec.check_params({})
    spec.check_params({"memberId": "m1"})
