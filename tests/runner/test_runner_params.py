"""Parameters: declared by the tagged cell, layered, typed, and never secrets."""

from __future__ import annotations

import pytest

from blaze_workbook.errors import ConfigurationError
from blaze_workbook.runner import params as P
from blaze_workbook.runner.declare import declared_parameters

CELL = '''
run_dir = ""  # set by the runner
mode = "incremental"  # incremental, backfill or replay
since = None  # date (ISO) the backfill starts from
as_of = "2026-11-29"  # date in the shop's time zone
entities = ["members", "transactions"]  # which entities
force = False  # ignore the cadence rules
threshold = 0.05  # gate
limit = 100  # rows
tiers = {"VIP": 16}  # bounds
key_fields: list[str] | None = None  # default key fields
anything = None  # free-form
when: date = "2026-01-01"  # annotated date
'''


@pytest.fixture()
def declared():
    return declared_parameters(CELL)


def test_declared_kinds_defaults_and_help(declared):
    kinds = {name: (p.kind, p.nullable) for name, p in declared.items()}
    assert kinds == {
        "run_dir": ("str", False), "mode": ("str", False), "since": ("date", True),
        "as_of": ("date", False), "entities": ("list", False), "force": ("bool", False),
        "threshold": ("float", False), "limit": ("int", False), "tiers": ("dict", False),
        "key_fields": ("list", True), "anything": ("any", True), "when": ("date", False),
    }
    assert declared["mode"].help == "incremental, backfill or replay"
    assert declared["entities"].default == ["members", "transactions"]


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("force", "true", True), ("force", "YES", True), ("force", "1", True),
        ("force", "no", False), ("force", "0", False), ("force", False, False),
        ("limit", "42", 42), ("limit", 7, 7),
        ("threshold", "0.1", 0.1), ("threshold", 1, 1.0),
        ("mode", "backfill", "backfill"),
        ("since", "2026-02-03", "2026-02-03"), ("since", "", None), ("since", "none", None),
        ("as_of", "2026-11-01", "2026-11-01"),
        ("entities", "members, products", ["members", "products"]),
        ("entities", "[members, products]", ["members", "products"]),
        ("entities", ["a"], ["a"]),
        ("key_fields", "customers.phone,products.sku", ["customers.phone", "products.sku"]),
        ("tiers", "{VIP: 20, Regular: 6}", {"VIP": 20, "Regular": 6}),
        ("anything", "12", 12), ("anything", "2026-01-02", "2026-01-02"),
    ],
)
def test_values_are_typed_by_the_default(declared, name, raw, expected):
    assert P.coerce(declared[name], raw) == expected


@pytest.mark.parametrize(
    ("name", "raw"),
    [("force", "maybe"), ("limit", "1.5"), ("limit", "ten"), ("threshold", "x"), ("since", "29/11/2026"),
     ("as_of", ""), ("tiers", "[1, 2]"), ("limit", True)],
)
def test_bad_values_name_the_parameter_and_the_kind(declared, name, raw):
    with pytest.raises(ConfigurationError, match=name):
        P.coerce(declared[name], raw)


def test_layers_defaults_then_file_then_cli(declared):
    defaults = {"shop_timezone_fallback": "UTC", "mode": "replay",
                "sync": {"limit": 5, "force": True, "lookback_hours": 48}, "compare": {"limit": 9}}
    params_file = {"sync": {"limit": 6}, "threshold": 0.2}
    out = P.resolve("sync", declared, defaults=defaults, params_file=params_file, cli={"limit": "7"})
    assert out == {"mode": "replay", "limit": 7, "force": True, "threshold": 0.2}


def test_flat_params_file_is_strict(declared):
    with pytest.raises(ConfigurationError, match=r"unknown parameter\(s\) for sync: nope; valid: anything, as_of"):
        P.resolve("sync", declared, params_file={"nope": 1})


def test_unknown_cli_name_lists_valid_ones(declared):
    with pytest.raises(ConfigurationError) as info:
        P.resolve("sync", declared, cli={"mdoe": "x"})
    message = str(info.value)
    assert "mdoe" in message and "mode" in message and "run_dir" not in message.split("valid:")[1]


def test_run_dir_is_reserved(declared):
    with pytest.raises(ConfigurationError, match="run_dir"):
        P.resolve("sync", declared, cli={"run_dir": "/tmp/x"})


@pytest.mark.parametrize("name", ["api_key", "partner_key", "developerKey", "token", "db_password", "secret",
                                  "auth_header", "keys", "database_url", "BLAZE_PARTNER_KEY"])
def test_secret_looking_names_are_refused_in_every_layer(declared, name):
    assert P.looks_secret(name)
    for layer in ("defaults", "params_file", "cli"):
        with pytest.raises(ConfigurationError, match="look like secrets"):
            P.resolve("sync", declared, **{layer: {name: "x"}})


@pytest.mark.parametrize("name", ["key_fields", "mask_pii", "threshold", "mode", "keyboard", "monkey_business"])
def test_ordinary_names_are_not_secrets(name):
    assert not P.looks_secret(name)


def test_secret_values_are_refused(declared):
    with pytest.raises(ConfigurationError, match="secret value") as info:
        P.resolve("sync", declared, cli={"mode": "pk-123456789"}, secrets=["pk-123456789"])
    assert "pk-123456789" not in str(info.value)


@pytest.mark.parametrize("pair", ["novalue", "=x", ""])
def test_assignments_need_name_and_equals(pair):
    with pytest.raises(ConfigurationError):
        P.parse_assignments([pair])


def test_assignments_keep_equals_in_values():
    assert P.parse_assignments(["a=b=c", "x=", "a=d"]) == {"a": "d", "x": ""}
