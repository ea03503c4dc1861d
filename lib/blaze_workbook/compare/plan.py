"""What a compare compares: per table, its fields, their rules, and how each side is read.

A :class:`Plan` holds, for one table, the fields to compare (the mapping's compared columns whose
existing column is present and was there before 01_setup, plus the derived customer fields), why
the others are not compared, each side's frame and key columns, and what the orphan counts
refer to. Nothing here touches a row: the engine reads only the columns it needs, when it needs
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..errors import ConfigurationError, InputDataError
from ..mapping import CUSTOMERS, DERIVED_FIELDS, Table, table as mapped_table
from . import classify as K
from . import pairing as P
from .coerce import as_stored, is_blank, unparsed
from .normalize import Rule, rule_for

Frame = pl.DataFrame | pl.LazyFrame


@dataclass(frozen=True)
class Field:
    """One compared field: its rule, each side's column (renamed) and type, its expressions."""

    name: str
    rule: Rule
    e_type: pl.DataType
    b_type: pl.DataType

    @property
    def e(self) -> str:
        return f"e:{self.name}"

    @property
    def b(self) -> str:
        return f"b:{self.name}"

    def typed(self) -> tuple[pl.Expr, pl.Expr]:
        return as_stored(pl.col(self.e), self.e_type, self.rule.dtype), as_stored(pl.col(self.b), self.b_type, self.rule.dtype)

    def normalized(self) -> tuple[pl.Expr, pl.Expr]:
        e, b = self.typed()
        return self.rule.normalize(e), self.rule.normalize_blaze(b)

    def blanks(self) -> dict[str, pl.Expr]:
        return {"existing_blank": is_blank(pl.col(self.e), self.e_type), "blaze_blank": is_blank(pl.col(self.b), self.b_type)}

    def stored_equal(self) -> pl.Expr:
        return K.stored_equal(*self.typed(), **self.blanks())

    def classify(self) -> pl.Expr:
        (e, b), (ne, nb) = self.typed(), self.normalized()
        return K.kind(e, b, ne, nb, self.rule, **self.blanks())


@dataclass(frozen=True)
class Orphans:
    """What a table's orphan count looks up: its reference column per side, and the parent."""

    existing_ref: str
    blaze_ref: str
    parent: str  # legacy name of the parent table
    existing_parent: Frame
    blaze_parent: Frame
    existing_parent_key: str
    blaze_parent_key: str


@dataclass(frozen=True)
class Plan:
    """One table's compare, before any data is read.

    ``existing`` and ``blaze`` are the sides' frames as given (the Blaze customers with the
    derived fields joined); fields are read from them under their own names (``Field.name``),
    the key from ``existing_keys`` / ``blaze_keys``.
    """

    table: Table
    keys: tuple[str, ...]
    fields: tuple[Field, ...]
    not_compared: dict[str, str]
    existing: Frame
    blaze: Frame
    existing_keys: tuple[str, ...]
    orphans: Orphans | None

    @property
    def blaze_keys(self) -> tuple[str, ...]:
        return self.keys


def by_legacy_name(frames: Mapping[str, Frame], side: str) -> dict[str, Frame]:
    """The frames keyed by legacy table name (legacy or staging names accepted)."""
    out: dict[str, Frame] = {}
    for name, frame in frames.items():
        t = mapped_table(name)
        if t.legacy in out:
            raise ConfigurationError(f"table {t.legacy!r} given twice on the {side} side")
        out[t.legacy] = frame
    return out


def schema_of(frame: Frame) -> dict[str, pl.DataType]:
    """Column name -> polars type, without reading data."""
    return dict(frame.collect_schema())


def _fields(
    t: Table,
    e_schema: Mapping[str, pl.DataType],
    b_schema: Mapping[str, pl.DataType],
    *,
    derived_reason: str | None,
    added: set[str],
    overrides: Mapping[str, str | Rule] | None,
) -> tuple[tuple[Field, ...], dict[str, str]]:
    """The fields ``t`` compares (named as the existing columns), and why the others are not."""
    keys = set(P.keys(t))
    wanted: list[tuple[str, Any]] = [(c.legacy, c.kind) for c in t.compared if c.name not in keys and c.legacy]
    if t is CUSTOMERS:
        names = {n for n, _ in wanted}
        wanted += [(f, None) for f in DERIVED_FIELDS if f not in names]
    out: list[Field] = []
    skipped: dict[str, str] = {}
    for name, kind in wanted:
        if name in added:
            skipped[name] = "added by 01_setup: empty on the existing side by construction"
        elif name not in e_schema:
            skipped[name] = "not a column of the existing table"
        elif t is CUSTOMERS and name in DERIVED_FIELDS and derived_reason:
            skipped[name] = derived_reason
        elif name not in b_schema:
            skipped[name] = "not a column of the Blaze staging table"
        else:
            out.append(Field(name, rule_for(t.legacy, name, kind, overrides), e_schema[name], b_schema[name]))
    return tuple(out), skipped


def plan(
    t: Table,
    e_frames: dict[str, Frame],
    b_frames: dict[str, Frame],
    *,
    derived: pl.LazyFrame | None,
    derived_reason: str | None,
    added: set[str],
    overrides: Mapping[str, str | Rule] | None,
) -> Plan:
    """The plan of ``t``: fields, sides (derived fields joined to Blaze customers), orphans."""
    existing, blaze = e_frames[t.legacy], b_frames[t.legacy]
    keys = P.keys(t)
    if derived is not None:  # the derived fields replace any staging column of the same name
        d_names = [c for c in schema_of(derived) if c != CUSTOMERS.key]
        blaze = blaze.lazy().drop([c for c in d_names if c in schema_of(blaze)]).join(derived, on=CUSTOMERS.key, how="left", maintain_order="left")
    e_schema, b_schema = schema_of(existing), schema_of(blaze)
    e_keys = [P.legacy_name(t, k) for k in keys]
    for side, schema, names in (("existing", e_schema, e_keys), ("Blaze", b_schema, list(keys))):
        missing = [n for n in names if n not in schema]
        if missing:
            raise ConfigurationError(f"the {side} {t.legacy} frame lacks its key column(s) {missing}")
    fields, skipped = _fields(t, e_schema, b_schema, derived_reason=derived_reason, added=added, overrides=overrides)
    orphans = None
    if t.legacy in P.PARENTS and P.PARENTS[t.legacy][1] in e_frames:
        ref, parent, parent_key = P.PARENTS[t.legacy]
        pt = mapped_table(parent)
        orphans = Orphans(
            existing_ref=P.legacy_name(t, ref), blaze_ref=ref, parent=parent,
            existing_parent=e_frames[parent], blaze_parent=b_frames[parent],
            existing_parent_key=P.legacy_name(pt, parent_key), blaze_parent_key=parent_key,
        )  # fmt: skip
    return Plan(table=t, keys=keys, fields=fields, not_compared=skipped, existing=existing, blaze=blaze, existing_keys=tuple(e_keys), orphans=orphans)


def check_parsed(plans: list[Plan]) -> None:
    """Text that should hold numbers, dates or booleans but does not: stop, with examples."""
    checks: list[tuple[str, pl.LazyFrame]] = []
    for p in plans:
        for f in p.fields:
            for side, frame, dtype in (("existing", p.existing, f.e_type), ("blaze", p.blaze, f.b_type)):
                if dtype == pl.String and f.rule.dtype != "text":
                    col = pl.col(f.name)
                    bad = unparsed(col, as_stored(col, dtype, f.rule.dtype), dtype, f.rule.dtype)
                    checks.append((f"{p.table.legacy}.{f.name} ({side})", frame.lazy().filter(bad).select(f.name).head(3)))
    if not checks:
        return
    found = pl.collect_all([q for _, q in checks])
    bad = [f"{label}: {frame.to_series().to_list()}" for (label, _), frame in zip(checks, found, strict=True) if frame.height]
    if bad:
        raise InputDataError(f"values that do not parse as their column's type: {'; '.join(bad)}", hint="fix the export or the column type")


__all__ = ["Field", "Frame", "Orphans", "Plan", "by_legacy_name", "check_parsed", "plan", "schema_of"]
