"""The merge rule, as polars expressions: which incoming rows win over the stored ones.

A row is *new* (key unknown), *updated* (newer ``_modified_ms`` with other values, or the same
``_modified_ms`` with other values: the later ingest wins), *touched* (newer ``_modified_ms``,
same values: only the ordering moves, so an older version sent later still loses) or
*unchanged* (older, or the same values). Ingesting a page twice therefore changes nothing, and
an older page after a newer one cannot regress a row.

The stored rows of the page's keys are read in one query, the rule is applied here, and the
rows to write go back in one ``INSERT OR REPLACE``: two statements per table and page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from ._types import TIMESTAMP

OLD = "__old"
ACTION = "__action"
BOOKKEEPING = ("_run_id", "_seen_at", "_version")


def classify(incoming: pl.DataFrame, existing: pl.DataFrame, key: list[str], compared: list[str]) -> pl.DataFrame:
    """``incoming`` joined with the stored values (suffix ``__old``) and an ``__action`` column."""
    old = existing.rename({c: f"{c}{OLD}" for c in existing.columns if c not in key}).with_columns(pl.lit(True).alias("__present"))
    joined = incoming.join(old, on=key, how="left", maintain_order="left")
    compared = [c for c in compared if c not in key]
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}{OLD}")) for c in compared]) if compared else pl.lit(False)
    newer = pl.col("_modified_ms") > pl.col(f"_modified_ms{OLD}")
    same = pl.col("_modified_ms") == pl.col(f"_modified_ms{OLD}")
    action = (
        pl.when(pl.col("__present").is_null())
        .then(pl.lit("new"))
        .when((newer | same) & differs)
        .then(pl.lit("updated"))
        .when(newer)
        .then(pl.lit("touched"))
        .otherwise(pl.lit("unchanged"))
    )
    return joined.with_columns(action.alias(ACTION))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(seen_at: datetime) -> int:
    # a datetime literal costs ~20x an integer one, and this runs for every page
    return ((seen_at if seen_at.tzinfo else seen_at.replace(tzinfo=UTC)) - _EPOCH) // _MICROSECOND


def _stamp(run_id: str, seen_at: datetime, version: int) -> list[pl.Expr]:
    return [
        pl.lit(run_id, pl.String()).alias("_run_id"),
        pl.lit(_micros(seen_at), pl.Int64()).cast(TIMESTAMP).alias("_seen_at"),
        pl.lit(version, pl.Int64()).alias("_version"),
    ]


def stamped(incoming: pl.DataFrame, columns: list[str], *, run_id: str, seen_at: datetime, version: int) -> pl.DataFrame:
    """``incoming`` as stored rows when every key in it is new (no stored row to compare with).

    Built from Series, not a query: the usual page of a backfill goes this way, and a polars
    query per table and page cost more than the columns themselves."""
    frame = incoming if incoming.columns == columns else incoming.select(columns)
    stamps = (
        pl.Series("_run_id", [run_id], pl.String()),
        pl.Series("_seen_at", [_micros(seen_at)], pl.Int64()).cast(TIMESTAMP),
        pl.Series("_version", [version], pl.Int64()),
    )
    return frame.hstack([s.new_from_index(0, frame.height) for s in stamps])


def split_writes(
    classified: pl.DataFrame, columns: list[str], key: list[str], *, run_id: str, seen_at: datetime, version: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`writes`, as rows whose key is not stored yet (plain inserts) and rows replacing a
    stored one (updated, touched)."""
    stamp = _stamp(run_id, seen_at, version)
    new = classified.filter(pl.col(ACTION) == "new").select(*columns, *stamp)
    updated = classified.filter(pl.col(ACTION) == "updated").select(*columns, *stamp)
    return new, _with_touched(classified, updated, columns, key)


def writes(classified: pl.DataFrame, columns: list[str], key: list[str], *, run_id: str, seen_at: datetime, version: int) -> pl.DataFrame:
    """The rows to store: new and updated rows as sent (stamped with this page), touched rows as
    they were with only ``_modified_ms`` moved."""
    fresh = classified.filter(pl.col(ACTION).is_in(["new", "updated"])).select(*columns, *_stamp(run_id, seen_at, version))
    return _with_touched(classified, fresh, columns, key)


def _with_touched(classified: pl.DataFrame, fresh: pl.DataFrame, columns: list[str], key: list[str]) -> pl.DataFrame:
    kept = [c if c in key or c == "_modified_ms" else f"{c}{OLD}" for c in (*columns, *BOOKKEEPING)]
    touched = classified.filter(pl.col(ACTION) == "touched").select(
        pl.col(src).alias(dst) for src, dst in zip(kept, (*columns, *BOOKKEEPING), strict=True)
    )
    return pl.concat([fresh, touched.cast(fresh.schema)]) if touched.height else fresh


def counts(classified: pl.DataFrame) -> dict[str, int]:
    return dict(classified.get_column(ACTION).value_counts().rows())
