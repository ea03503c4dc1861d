"""What a compare found: per-field tallies, per-table counts, the gate and the discrepancy list.

``as_dict`` methods give exactly the objects of ``compare_summary.json`` (CONTRACTS.md §4); the
``*_frame`` methods give the same numbers as tables for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from . import classify as K
from .gate import Gate

#: the discrepancy list's file name in a run folder
DISCREPANCIES_FILE = "discrepancies.parquet"
#: columns of the discrepancy frame: one row per matched pair that is not ``equal``
DISCREPANCY_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String(),
    "key": pl.String(),
    "field": pl.String(),
    "existing": pl.String(),
    "blaze": pl.String(),
    "existing_norm": pl.String(),
    "blaze_norm": pl.String(),
    "kind": K.KIND,
}


@dataclass(frozen=True)
class FieldCounts:
    """One field's tally; ``as_dict`` is its object in ``compare_summary.json``."""

    rule: str
    compared: int
    equal: int
    format_only: int
    real: int
    missing_in_blaze: int
    missing_in_existing: int

    @property
    def mismatched(self) -> int:
        return self.real + self.missing_in_blaze + self.missing_in_existing

    @property
    def rate(self) -> float:
        return self.mismatched / self.compared if self.compared else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "mismatched": self.mismatched,
            "rate": self.rate,
            "real": self.real,
            "missing_in_blaze": self.missing_in_blaze,
            "missing_in_existing": self.missing_in_existing,
            "format_only": self.format_only,
        }


@dataclass(frozen=True)
class TableResult:
    """One table's counts (CONTRACTS.md §4) and its integrity findings."""

    name: str
    rows_existing: int
    rows_blaze: int
    matched: int
    only_existing: int
    only_blaze: int
    fields: dict[str, FieldCounts]
    #: per side: keys that repeat and the rows holding them
    duplicates: dict[str, dict[str, int]]
    #: per side: rows whose key has a NULL (they cannot match)
    null_keys: dict[str, int]
    #: per side: rows whose parent (customer, transaction) is absent on the same side; None: no parent table given
    orphans: dict[str, int | None]
    #: field -> why it was not compared
    not_compared: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """This table's object in ``compare_summary.json``: the contract's keys, then extras."""
        return {
            "rows_existing": self.rows_existing,
            "rows_blaze": self.rows_blaze,
            "matched": self.matched,
            "only_existing": self.only_existing,
            "only_blaze": self.only_blaze,
            "fields": {name: counts.as_dict() for name, counts in self.fields.items()},
            "duplicates": self.duplicates,
            "null_keys": self.null_keys,
            "orphans": self.orphans,
            "not_compared": self.not_compared,
        }


@dataclass(frozen=True)
class CompareResult:
    """A whole compare: per-table results, the gate and every non-equal pair."""

    as_of: date
    tables: dict[str, TableResult]
    gate: Gate
    discrepancies: pl.DataFrame
    rules: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """``compare_summary.json`` (CONTRACTS.md §4)."""
        from .summary import build

        return build(self)

    def write(self, folder: Path | str, *, mask_pii: bool = True) -> dict[str, Path]:
        """``compare_summary.json`` and ``discrepancies.parquet`` (personal values masked) in ``folder``."""
        from .mask import mask_pii as mask
        from .summary import write

        folder = Path(folder)
        paths = {"summary": write(self.summary(), folder), "discrepancies": folder / DISCREPANCIES_FILE}
        frame = mask(self.discrepancies) if mask_pii else self.discrepancies
        frame.write_parquet(paths["discrepancies"])
        return paths

    def fields_frame(self) -> pl.DataFrame:
        """One row per compared field: counts, rate, rule, whether it is a gate key field."""
        rows = [
            {"table": t.name, "field": f, "rule": c.rule, "key_field": f"{t.name}.{f}" in self.gate.key_fields, **c.as_dict(), "equal": c.equal}
            for t in self.tables.values()
            for f, c in t.fields.items()
        ]
        schema = {
            "table": pl.String, "field": pl.String, "rule": pl.String, "key_field": pl.Boolean, "compared": pl.Int64,
            "mismatched": pl.Int64, "rate": pl.Float64, "real": pl.Int64, "missing_in_blaze": pl.Int64,
            "missing_in_existing": pl.Int64, "format_only": pl.Int64, "equal": pl.Int64,
        }  # fmt: skip
        return pl.DataFrame(rows, schema=schema)

    def tables_frame(self) -> pl.DataFrame:
        """One row per table: row counts, matches, duplicates and orphans per side."""
        rows = [
            {
                "table": t.name, "rows_existing": t.rows_existing, "rows_blaze": t.rows_blaze, "matched": t.matched,
                "only_existing": t.only_existing, "only_blaze": t.only_blaze,
                "duplicate_rows_existing": t.duplicates["existing"]["rows"], "duplicate_rows_blaze": t.duplicates["blaze"]["rows"],
                "orphans_existing": t.orphans["existing"], "orphans_blaze": t.orphans["blaze"],
            }  # fmt: skip
            for t in self.tables.values()
        ]
        return pl.DataFrame(rows, schema_overrides={"orphans_existing": pl.Int64, "orphans_blaze": pl.Int64})


__all__ = ["DISCREPANCIES_FILE", "DISCREPANCY_SCHEMA", "CompareResult", "FieldCounts", "TableResult"]
