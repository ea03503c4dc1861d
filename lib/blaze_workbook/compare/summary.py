"""``compare_summary.json`` (CONTRACTS.md §4): build, write, read, and diff two runs.

The shape is the contract's: ``as_of``, ``gate {threshold, passed, failing_fields}``, and per
table ``rows_existing, rows_blaze, matched, only_existing, only_blaze, fields {field: {compared,
mismatched, rate, real, missing_in_blaze, missing_in_existing, format_only}}``. Each table also
carries extra keys that leave that shape intact: ``duplicates``, ``null_keys``, ``orphans``
(per side) and ``not_compared`` (field -> reason). ``rate`` is the exact ratio (not rounded), so
the gate read back from the file is the gate that was decided.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import InputDataError
from .gate import Gate, evaluate

if TYPE_CHECKING:
    from .engine import CompareResult

FILE_NAME = "compare_summary.json"
#: the per-field numbers, in the contract's order
FIELD_KEYS: tuple[str, ...] = ("compared", "mismatched", "rate", "real", "missing_in_blaze", "missing_in_existing", "format_only")
#: the per-table numbers, in the contract's order
TABLE_KEYS: tuple[str, ...] = ("rows_existing", "rows_blaze", "matched", "only_existing", "only_blaze")


def build(result: CompareResult) -> dict[str, Any]:
    """The summary object of a compare result."""
    return {
        "as_of": result.as_of.isoformat(),
        "gate": result.gate.as_dict(),
        "tables": {name: t.as_dict() for name, t in result.tables.items()},
    }


def write(summary: dict[str, Any], folder: Path | str) -> Path:
    """Write ``compare_summary.json`` into ``folder`` (created if needed); return its path."""
    path = Path(folder) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read(path: Path | str) -> dict[str, Any]:
    """A summary from its file (or from the run folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read the compare summary {path}: {exc}") from exc
    if not isinstance(summary, dict) or not {"as_of", "gate", "tables"} <= set(summary):
        raise InputDataError(f"{path} is not a compare summary (needs as_of, gate, tables)")
    return summary


def regate(summary: dict[str, Any], *, threshold: float, key_fields: list[str] | tuple[str, ...]) -> Gate:
    """The gate of a stored summary under other parameters (e.g. a stricter threshold)."""
    return evaluate(summary["tables"], threshold=threshold, key_fields=key_fields)


def find_previous(reports: Path | str, *, before: Path | str | None = None) -> Path | None:
    """The newest ``compare_summary.json`` under ``reports/*/`` other than ``before``'s run.

    Run folders are ordered by the summary's modification time, then by name.
    """
    exclude = Path(before).resolve() if before is not None else None
    found = [
        p for p in Path(reports).glob(f"*/{FILE_NAME}")
        if exclude is None or p.parent.resolve() != (exclude if exclude.is_dir() else exclude.parent)
    ]  # fmt: skip
    if not found:
        return None
    return max(found, key=lambda p: (p.stat().st_mtime, p.parent.name))


_DIFF_SCHEMA = {
    "table": pl.String,
    "field": pl.String,
    "measure": pl.String,
    "previous": pl.Float64,
    "current": pl.Float64,
    "change": pl.Float64,
}


def _flatten(summary: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    out: dict[tuple[str, str, str], float] = {}
    for table, t in summary.get("tables", {}).items():
        for key in TABLE_KEYS:
            if key in t:
                out[(table, "", key)] = float(t[key])
        for name, f in t.get("fields", {}).items():
            for key in FIELD_KEYS:
                if key in f:
                    out[(table, name, key)] = float(f[key])
    return out


def diff(previous: dict[str, Any], current: dict[str, Any], *, all_rows: bool = False) -> pl.DataFrame:
    """What changed between two compare runs: one row per (table, field, measure).

    ``field`` is ``""`` for table-level counts. A measure present in one run only has NULL on
    the other side. Only changed rows unless ``all_rows``.
    """
    before, after = _flatten(previous), _flatten(current)
    keys = sorted(set(before) | set(after))
    frame = pl.DataFrame(
        {
            "table": [k[0] for k in keys],
            "field": [k[1] for k in keys],
            "measure": [k[2] for k in keys],
            "previous": [before.get(k) for k in keys],
            "current": [after.get(k) for k in keys],
        },
        schema={k: v for k, v in _DIFF_SCHEMA.items() if k != "change"},
    ).with_columns(change=pl.col("current") - pl.col("previous"))
    if not all_rows:
        frame = frame.filter(pl.col("change").fill_null(1.0) != 0)
    return frame.cast(_DIFF_SCHEMA)  # type: ignore[arg-type]


def gate_changes(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The gate then and now: passed before/after, fields newly failing, fields resolved."""
    was = set(previous.get("gate", {}).get("failing_fields", []))
    now = set(current.get("gate", {}).get("failing_fields", []))
    return {
        "previous_as_of": previous.get("as_of"),
        "current_as_of": current.get("as_of"),
        "passed_before": previous.get("gate", {}).get("passed"),
        "passed_now": current.get("gate", {}).get("passed"),
        "newly_failing": sorted(now - was),
        "resolved": sorted(was - now),
    }


def as_of(summary: dict[str, Any]) -> date:
    return date.fromisoformat(summary["as_of"])


__all__ = ["FIELD_KEYS", "FILE_NAME", "TABLE_KEYS", "as_of", "build", "diff", "find_previous", "gate_changes", "read", "regate", "write"]
