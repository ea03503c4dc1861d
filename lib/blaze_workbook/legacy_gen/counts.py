"""How big the legacy database is and how many of each discrepancy it carries, as data.

The user's plan (``seed/migration_strategy.md``) counts 10,047 customers, 186,394 transactions
and 114,136 transaction items: at the ``seed`` preset those are the targets, and they are
*strict* — when the simulator's data before the export date cannot supply them, generation
stops with a :class:`~blaze_workbook.errors.ConfigurationError` that says what is missing.

Other presets scale proportionally: each target is the plan's count times the ratio of the
preset's size to the seed preset's (members for customers, transactions for transactions and
items), rounded, then *capped* by what exists before the export — the small presets cover a
year or two of history, so in practice their legacy database holds everything before the
export. Row counts given in ``counts=`` are strict. Injection counts scale by the ratio of the
legacy customers (customer injections), transactions (transaction injections) or items (item
injections) to the plan's, rounded, and never below 1 when the seed count is positive.
``counts=`` overrides any of these by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import ClassVar

from ..blaze.simulator.presets import Preset, get_preset
from ..errors import ConfigurationError

#: the plan's counts, the legacy database of the ``seed`` preset
PLAN_CUSTOMERS = 10_047
PLAN_TRANSACTIONS = 186_394
PLAN_ITEMS = 114_136


@dataclass(frozen=True)
class Injections:
    """How many of each injected discrepancy, by cause (the manifest's ``cause`` column).

    Customer-level causes scale with the customers, transaction-level with the transactions,
    item-level with the items (see the module docstring).
    """

    #: the legacy phone is E.164 where Blaze keeps another format of the same digits: format_only
    phone_reformatted: int = 4_000
    #: the member changed phone since the export (the legacy holds the old number): real
    phone_changed: int = 150
    #: the member changed e-mail since the export: real
    email_changed: int = 120
    #: the e-mail differs only in letter case: format_only
    email_case: int = 300
    #: someone blanked the e-mail in the legacy table: missing_in_existing
    email_blanked: int = 15
    #: the name differs only in case and spacing: format_only
    name_case_spacing: int = 200
    #: a street address typed into the legacy table where Blaze has '': missing_in_blaze
    street_filled: int = 10
    #: legacy customers deleted in Blaze since (ids Blaze never returns): only_existing
    only_existing_deleted: int = 6
    #: legacy duplicates merged into another member in Blaze since: only_existing; each takes
    #: one transaction of its survivor, whose customer_id then differs (real)
    only_existing_merged: int = 6
    #: members with transactions that an import missed: only_blaze, their transactions orphans
    orphan_members: int = 10
    #: transactions whose total_amount was mistyped by hand (a decimal slip): real
    total_amount_typo: int = 12
    #: staff names the report printed with a trailing blank: format_only
    staff_name_padded: int = 25
    #: items of old imports without a product id: only_existing (their Blaze line only_blaze)
    null_product_id: int = 20

    CUSTOMER_LEVEL: ClassVar[tuple[str, ...]] = (
        "phone_reformatted", "phone_changed", "email_changed", "email_case", "email_blanked",
        "name_case_spacing", "street_filled", "only_existing_deleted", "only_existing_merged", "orphan_members",
    )  # fmt: skip
    TRANSACTION_LEVEL: ClassVar[tuple[str, ...]] = ("total_amount_typo", "staff_name_padded")
    ITEM_LEVEL: ClassVar[tuple[str, ...]] = ("null_product_id",)

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}

    def scaled(self, customers: float, transactions: float, items: float) -> Injections:
        """Every count times the ratio of its level (rounded, at least 1 when positive)."""

        def s(value: int, ratio: float) -> int:
            return 0 if value <= 0 else max(1, round(value * ratio))

        out = {n: s(v, customers) for n, v in self.as_dict().items() if n in self.CUSTOMER_LEVEL}
        out |= {n: s(getattr(self, n), transactions) for n in self.TRANSACTION_LEVEL}
        out |= {n: s(getattr(self, n), items) for n in self.ITEM_LEVEL}
        return replace(self, **out)


@dataclass(frozen=True)
class Targets:
    """Rows per legacy table, and which of them must be met exactly."""

    customers: int
    transactions: int
    transaction_items: int
    #: the row counts that must be met exactly (the others shrink to what the data holds)
    strict: frozenset[str]
    #: injection counts given by name (they win over the scaled defaults)
    overrides: Mapping[str, int]

    ROWS: ClassVar[tuple[str, ...]] = ("customers", "transactions", "transaction_items")

    def injections(self, customers: int, transactions: int, items: int) -> Injections:
        """The injection counts for a legacy database of these (actual) sizes."""
        scaled = Injections().scaled(customers / PLAN_CUSTOMERS, transactions / PLAN_TRANSACTIONS, items / PLAN_ITEMS)
        return replace(scaled, **dict(self.overrides))


def valid_count_names() -> list[str]:
    return [*Targets.ROWS, *Injections().as_dict()]


def targets(scale: str | Preset, counts: Mapping[str, int] | None = None) -> Targets:
    """The targets for ``scale`` with ``counts`` applied (see the module docstring)."""
    preset = get_preset(scale) if isinstance(scale, str) else scale
    seed = get_preset("seed")
    counts = dict(counts or {})
    unknown = sorted(set(counts) - set(valid_count_names()))
    if unknown:
        raise ConfigurationError(f"unknown count name(s) {unknown}; valid: {', '.join(valid_count_names())}")
    bad = {k: v for k, v in counts.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0}
    if bad:
        raise ConfigurationError(f"counts must be non-negative integers; got {bad}")
    if preset.name == "seed":
        rows = {"customers": PLAN_CUSTOMERS, "transactions": PLAN_TRANSACTIONS, "transaction_items": PLAN_ITEMS}
    else:
        m, t = preset.members / seed.members, preset.transactions / seed.transactions
        rows = {"customers": round(PLAN_CUSTOMERS * m), "transactions": round(PLAN_TRANSACTIONS * t), "transaction_items": round(PLAN_ITEMS * t)}
    strict = frozenset(Targets.ROWS if preset.name == "seed" else [k for k in Targets.ROWS if k in counts])
    rows |= {k: counts[k] for k in Targets.ROWS if k in counts}
    overrides = {k: v for k, v in counts.items() if k not in Targets.ROWS}
    return Targets(strict=strict, overrides=overrides, **rows)


__all__ = ["PLAN_CUSTOMERS", "PLAN_ITEMS", "PLAN_TRANSACTIONS", "Injections", "Targets", "targets", "valid_count_names"]
