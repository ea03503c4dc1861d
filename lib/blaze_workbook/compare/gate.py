"""The discrepancy gate of CONTRACTS.md §4: may the cutover rely on this compare?

The gate passes when every key field's ``rate`` is strictly below ``threshold`` (a rate equal
to the threshold fails). A key field the compare could not compare at all (a column missing on
either side) fails too: no evidence is not agreement. A key field with nothing matched has rate
``0.0`` by definition and does not fail on its own; the row counts show it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError

#: fields whose disagreement means a mapping or identity problem (CONTRACTS.md §4)
DEFAULT_KEY_FIELDS: tuple[str, ...] = (
    "customers.phone",
    "customers.email",
    "customers.name",
    "transactions.total_amount",
    "transactions.date",
    "transaction_items.total_price",
    "products.sku",
    "products.name",
)
DEFAULT_THRESHOLD = 0.05


@dataclass(frozen=True)
class Gate:
    """The gate's verdict; ``reasons`` says why each failing field failed (not in the JSON)."""

    threshold: float
    passed: bool
    failing_fields: tuple[str, ...]
    key_fields: tuple[str, ...] = ()
    reasons: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Exactly the ``gate`` object of ``compare_summary.json``."""
        return {"threshold": self.threshold, "passed": self.passed, "failing_fields": list(self.failing_fields)}


def check_key_fields(key_fields: Iterable[str]) -> tuple[str, ...]:
    """``"table.field"`` names, validated; a malformed one is a configuration error."""
    out = tuple(key_fields)
    bad = [k for k in out if not isinstance(k, str) or k.count(".") != 1 or not all(k.split("."))]
    if bad:
        raise ConfigurationError(f"key fields must be written 'table.field'; got {bad}")
    return out


def check_threshold(threshold: float) -> float:
    value = float(threshold)
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"the gate threshold is a rate between 0 and 1; got {threshold!r}")
    return value


def evaluate(tables: Mapping[str, Mapping[str, Any]], *, threshold: float = DEFAULT_THRESHOLD, key_fields: Iterable[str] = DEFAULT_KEY_FIELDS) -> Gate:
    """The gate over the ``tables`` object of a summary (``{table: {"fields": {field: {rate}}}}``)."""
    limit = check_threshold(threshold)
    keys = check_key_fields(key_fields)
    reasons: dict[str, str] = {}
    for key in keys:
        table, name = key.split(".")
        stats = (tables.get(table) or {}).get("fields", {}).get(name)
        if stats is None:
            reasons[key] = "not compared"
        elif stats["rate"] >= limit:
            reasons[key] = f"rate {stats['rate']:.4%} is not below {limit:.4%} ({stats['mismatched']} of {stats['compared']})"
    failing = tuple(k for k in keys if k in reasons)
    return Gate(threshold=limit, passed=not failing, failing_fields=failing, key_fields=keys, reasons=reasons)


__all__ = ["DEFAULT_KEY_FIELDS", "DEFAULT_THRESHOLD", "Gate", "check_key_fields", "check_threshold", "evaluate"]
