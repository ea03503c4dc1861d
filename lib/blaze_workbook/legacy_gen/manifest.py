"""The manifest: everything that differs between the generated legacy tables and Blaze.

Two files in the output folder:

- ``manifest.json`` — how the data was made (scale, seed, the simulator's clock, the export
  date, the compare's ``as_of``), the injection counts requested, a count per
  ``(table, field, kind, cause)``, the rows of every *counted* injection, and per table the
  numbers the compare must report, in ``compare_summary.json``'s shape (``rows_existing``,
  ``rows_blaze``, ``matched``, ``only_existing``, ``only_blaze``, ``fields`` with ``compared``,
  ``mismatched``, ``rate``, ``real``, ``missing_in_blaze``, ``missing_in_existing``,
  ``format_only``), plus ``duplicates``, ``null_keys``, ``orphans`` and each field's rule;
- ``manifest_rows.parquet`` — every difference, one row each: ``table, key, field, kind,
  cause, injected`` (``field`` NULL for the row-level kinds ``only_existing`` and
  ``only_blaze``; ``orphan`` rows name the reference column). Keys are written as the compare
  writes them: ``member_id``, ``transaction_id``, ``product_id``, and for items
  ``transaction_id|product_id`` (``∅`` for NULL, ``#n`` for the n-th line of a repeated key).

The numbers hold for a compare run with ``as_of`` = :attr:`Manifest.as_of` against a full sync
of the simulator at its clock (``now_ms``), without live events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputDataError

FILE_NAME = "manifest.json"
ROWS_FILE = "manifest_rows.parquet"
#: the contract's per-field keys, in its order
FIELD_KEYS = ("compared", "mismatched", "rate", "real", "missing_in_blaze", "missing_in_existing", "format_only")
TABLE_KEYS = ("rows_existing", "rows_blaze", "matched", "only_existing", "only_blaze")
ROW_KINDS = ("only_existing", "only_blaze", "orphan")
ROWS_SCHEMA = {"table": pl.String(), "key": pl.String(), "field": pl.String(), "kind": pl.String(), "cause": pl.String(), "injected": pl.Boolean()}


@dataclass(frozen=True)
class Manifest:
    """What the generator made and what the compare must find; see the module docstring."""

    meta: dict[str, Any]
    #: injection name -> count requested
    requested: dict[str, int]
    #: table -> the compare's expected numbers
    tables: dict[str, dict[str, Any]]
    #: every difference (``ROWS_SCHEMA``)
    rows: pl.DataFrame
    #: table -> rows written to Postgres
    loaded: dict[str, int] = field(default_factory=dict)
    out_dir: Path | None = None

    @property
    def as_of(self) -> date:
        """The day to run the compare for (the simulator's clock, shop-local)."""
        return date.fromisoformat(self.meta["as_of"])

    @property
    def export_date(self) -> date:
        return date.fromisoformat(self.meta["export_date"])

    def causes(self) -> pl.DataFrame:
        """Rows per ``(table, field, kind, cause, injected)``."""
        return self.rows.group_by("table", "field", "kind", "cause", "injected").agg(pl.len().alias("count")).sort("table", "field", "cause", "kind", nulls_last=True)

    def injected_counts(self) -> dict[str, int]:
        """Rows per counted injection (the names of :class:`~.counts.Injections`)."""
        rows = self.rows.filter(pl.col("cause").is_in(list(self.requested)))
        # a merged duplicate shows twice (its row, its re-pointed transaction); count the row
        rows = rows.filter(~((pl.col("cause") == "only_existing_merged") & (pl.col("table") != "customers")))
        rows = rows.filter(~((pl.col("cause") == "orphan_members") & (pl.col("table") != "customers")))
        got = dict(rows.group_by("cause").agg(pl.len()).iter_rows())
        return {name: int(got.get(name, 0)) for name in self.requested}

    def expected_summary(self) -> dict[str, Any]:
        """The contract's part of ``compare_summary.json`` this data must produce."""
        return {
            "as_of": self.meta["as_of"],
            "tables": {
                t: {**{k: v[k] for k in TABLE_KEYS}, "fields": {f: {k: c[k] for k in FIELD_KEYS} for f, c in v["fields"].items()}}
                for t, v in self.tables.items()
            },
        }

    def to_dict(self) -> dict[str, Any]:
        counted = self.rows.filter(pl.col("cause").is_in(list(self.requested))).sort("table", "cause", "key")
        return {
            "meta": self.meta,
            "loaded": self.loaded,
            "requested": self.requested,
            "injected": self.injected_counts(),
            "causes": self.causes().to_dicts(),
            "tables": self.tables,
            "rows_file": ROWS_FILE,
            "rows": counted.select("table", "key", "field", "kind", "cause").to_dicts(),
        }

    def write(self, out_dir: Path | str) -> Path:
        """``manifest.json`` and ``manifest_rows.parquet`` into ``out_dir``; returns the JSON's path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.rows.write_parquet(out / ROWS_FILE)
        path = out / FILE_NAME
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, out_dir: Path | str) -> Manifest:
        """A manifest from the folder it was written to."""
        out = Path(out_dir)
        try:
            data = json.loads((out / FILE_NAME).read_text(encoding="utf-8"))
            rows = pl.read_parquet(out / data.get("rows_file", ROWS_FILE))
        except (OSError, ValueError, KeyError) as exc:
            raise InputDataError(f"cannot read the legacy manifest in {out}: {exc}") from exc
        return cls(data["meta"], data["requested"], data["tables"], rows.cast(ROWS_SCHEMA), data.get("loaded", {}), out)


__all__ = ["FIELD_KEYS", "FILE_NAME", "ROWS_FILE", "ROWS_SCHEMA", "ROW_KINDS", "TABLE_KEYS", "Manifest"]
