"""Both sides of a compare at ``seed`` scale and at k times it, as folders of parquet exports.

Why this data: the compare must be measured on what it will meet — the legacy database as the
legacy generator makes it (10,047 customers, 186,394 transactions, 114,136 items, 7,810
products at ``seed``, with its injected discrepancies and stale derived fields) against a full
sync of the simulator (10,500 members, 197,500 transactions, 570,604 items, 7,900 products).

- **base** (one preset, e.g. ``seed`` or ``tiny``): the simulator's dataset is generated in
  process (no API), the legacy tables with :func:`~blaze_workbook.legacy_gen.generate_legacy`
  into a throw-away embedded Postgres and read back with
  :func:`~blaze_workbook.compare.existing_from_postgres` (the types a real export has); the
  Blaze side is :func:`~blaze_workbook.legacy_gen.staging_frames`. The manifest's expected
  summary is kept beside them.
- **k times the base** (10x, 100x): the base repeated k times, each copy's ids given their own
  3-hex-digit prefix (``member_id``, ``transaction_id``, ``customer_id``, ``product_id``,
  ``item_id``; the legacy ``id`` offset), written copy by copy (row groups) so memory stays that
  of one copy. Every count the compare must report is then exactly k times the base's (rates
  unchanged): the bench checks it.

Layout: ``<root>/<name>/{existing,blaze}/<legacy table>.parquet`` and ``<name>/meta.json``
(``as_of``, ``timezone``, ``copies``, ``expected`` summary). ``<root>`` defaults to
``bench/.data/compare`` (git-ignored).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent / ".data" / "compare"
TABLES = ("customers", "transactions", "transaction_items", "products")
SIDES = ("existing", "blaze")
#: columns holding Blaze ids (24 hex digits), on either side
ID_COLUMNS = ("member_id", "transaction_id", "customer_id", "product_id", "item_id")
PREFIX = 3  # hex digits replaced per copy: up to 4,096 copies


def folder(root: Path, preset: str, seed: int, copies: int = 1) -> Path:
    return root / (f"{preset}-s{seed}" + (f"-x{copies}" if copies > 1 else ""))


def meta(path: Path) -> dict[str, Any]:
    return json.loads((path / "meta.json").read_text())


def sides(path: Path) -> dict[str, dict[str, Path]]:
    """side -> table -> parquet file."""
    return {s: {t: path / s / f"{t}.parquet" for t in TABLES} for s in SIDES}


def _done(path: Path) -> bool:
    return (path / "meta.json").is_file()


def build_base(root: Path, preset: str, seed: int, log=print) -> Path:  # noqa: ANN001 - a print-like callable
    """The base folder for ``preset``/``seed`` (built once; see the module docstring)."""
    out = folder(root, preset, seed)
    if _done(out):
        return out
    import psycopg

    from blaze_workbook import pg_embedded
    from blaze_workbook.blaze.simulator.dataset import Dataset
    from blaze_workbook.blaze.simulator.presets import DEFAULT_NOW_MS
    from blaze_workbook.compare import existing_from_postgres
    from blaze_workbook.legacy_gen import generate_legacy, staging_frames

    clock = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bw-bench-compare-"))
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        dataset = Dataset.generate(preset, seed, DEFAULT_NOW_MS)
        server = pg_embedded.start(work / "postgres")
        with psycopg.connect(server.uri(pg_embedded.DATABASE)) as conn:
            manifest = generate_legacy(conn, scale=preset, seed=seed, out_dir=work / "legacy", dataset=dataset)
            conn.commit()
            existing = existing_from_postgres(conn)
        blaze = staging_frames(dataset.truth(), dataset.tz)
        for side, frames in (("existing", existing), ("blaze", blaze)):
            (tmp / side).mkdir(parents=True)
            for t in TABLES:
                frames[t].write_parquet(tmp / side / f"{t}.parquet")
        info = {
            "preset": preset, "seed": seed, "copies": 1, "as_of": manifest.as_of.isoformat(), "timezone": dataset.tz,
            "rows": {side: {t: frames[t].height for t in TABLES} for side, frames in (("existing", existing), ("blaze", blaze))},
            "expected": manifest.expected_summary(), "build_seconds": round(time.perf_counter() - clock, 1),
        }  # fmt: skip
        _check_prefixable(tmp)
        (tmp / "meta.json").write_text(json.dumps(info, indent=1))
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        pg_embedded.stop(work / "postgres")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"built {out.name} in {time.perf_counter() - clock:.1f} s")
    return out


def _check_prefixable(path: Path) -> None:
    """Copies stay distinct only if no two ids of the base share everything after the prefix."""
    ids = pl.concat(
        [pl.scan_parquet(f).select(pl.col(c).alias("id")) for side in sides(path).values() for f in side.values() for c in pl.read_parquet_schema(f) if c in ID_COLUMNS]
    ).drop_nulls().unique()
    n, suffixes = ids.select(pl.len(), pl.col("id").str.slice(PREFIX).n_unique()).collect().row(0)
    if n != suffixes:
        raise RuntimeError(f"{n - suffixes} ids of the base differ only in their first {PREFIX} hex digits: cannot tile")


def _copy(frame: pl.DataFrame, j: int) -> pl.DataFrame:
    prefix = f"{j:0{PREFIX}x}"
    exprs = [(pl.lit(prefix) + pl.col(c).str.slice(PREFIX)).alias(c) for c in frame.columns if c in ID_COLUMNS]
    if "id" in frame.columns:
        exprs.append(pl.col("id") + j * frame.height)
    return frame.with_columns(exprs)


def build_tiled(root: Path, preset: str, seed: int, copies: int, log=print) -> Path:  # noqa: ANN001
    """The base repeated ``copies`` times with per-copy id prefixes (built once)."""
    base = build_base(root, preset, seed, log)
    if copies == 1:
        return base
    out = folder(root, preset, seed, copies)
    if _done(out):
        return out
    clock = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for side, files in sides(base).items():
        (tmp / side).mkdir(parents=True)
        for t, f in files.items():
            frame = pl.read_parquet(f)
            first = _copy(frame, 0).to_arrow()
            with pq.ParquetWriter(tmp / side / f"{t}.parquet", first.schema, compression="zstd") as writer:
                writer.write_table(first, row_group_size=1 << 20)
                for j in range(1, copies):
                    writer.write_table(_copy(frame, j).to_arrow(), row_group_size=1 << 20)
    info = meta(base)
    info |= {"copies": copies, "rows": {s: {t: n * copies for t, n in r.items()} for s, r in info["rows"].items()}, "build_seconds": round(time.perf_counter() - clock, 1)}
    info["expected"] = scaled(info["expected"], copies)
    (tmp / "meta.json").write_text(json.dumps(info, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log(f"built {out.name} in {time.perf_counter() - clock:.1f} s")
    return out


def scaled(expected: dict[str, Any], k: int) -> dict[str, Any]:
    """The expected summary of k copies: every count times k, rates unchanged."""

    def times(d: dict[str, Any]) -> dict[str, Any]:
        return {key: (times(v) if isinstance(v, dict) else v if key == "rate" or not isinstance(v, int) else v * k) for key, v in d.items()}

    return times(expected)


__all__ = ["ROOT", "SIDES", "TABLES", "build_base", "build_tiled", "folder", "meta", "scaled", "sides"]
