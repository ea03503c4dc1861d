"""``generate_legacy``: the existing database as years of CSV imports left it, with its manifest.

The steps, each in its own module: select what the export saw (:mod:`.build`), choose who is in
the customers report and inject discrepancies (:mod:`.discrepancies`), compute what the compare
must find (:mod:`.expected`) and reconcile it with the bookkeeping of every injection and
natural difference (:mod:`.natural`), write the report CSVs and COPY them into Postgres
(:mod:`.report_csv`), write the manifest (:mod:`.manifest`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
from psycopg import sql

from .. import legacy, postgres
from ..blaze.simulator.dataset import Dataset
from ..blaze.simulator.presets import DEFAULT_NOW_MS
from ..errors import ConfigurationError
from ..setup_sql import MetricsRules
from . import build, discrepancies as D, expected, natural, report_csv, staging
from .counts import Targets, targets as targets_for
from .manifest import ROWS_SCHEMA, Manifest

#: how long before the simulator's clock the last export ran, by default
EXPORT_DAYS_BEFORE_NOW = 60
TABLES = ("customers", "transactions", "transaction_items", "products")


def local_day(ms: int, tz: str) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).date()


def local_midnight_ms(day: dt.date, tz: str) -> int:
    return int(dt.datetime.combine(day, dt.time(), ZoneInfo(tz)).timestamp() * 1000)


def _capped(tg: Targets, members_before: int, n_tx: int, n_items: int) -> tuple[Targets, object]:
    """Non-strict targets shrink to what the data holds; returns them and their injections."""
    inj = tg.injections(tg.customers, n_tx, n_items)
    if "customers" in tg.strict:
        return tg, inj
    for _ in range(2):
        room = members_before - inj.orphan_members + inj.only_existing_deleted + inj.only_existing_merged
        tg = replace(tg, customers=min(tg.customers, room))
        inj = tg.injections(tg.customers, n_tx, n_items)
    return tg, inj


def reconcile(computed: pl.DataFrame, booked: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """Computed differences with their causes; counts of the unexplained and the unrealised.

    Matched per ``(table, field, kind)`` on the key alone (a join on one column, not four). Rows
    keep the computed order within each group, groups in order of first appearance: both
    deterministic, so no sort of half a million strings is needed.
    """
    group = ["table", "field", "kind"]
    c_parts = computed.select("table", "key", "field", "kind").partition_by(group, as_dict=True, maintain_order=True)
    b_parts = booked.partition_by(group, as_dict=True, maintain_order=True)
    stats = {"unexplained": 0, "unrealised": 0, "booked_twice": 0}
    out = []
    for name, c in c_parts.items():
        b = b_parts.get(name, booked.head(0))
        unique = b.unique("key", keep="first", maintain_order=True)
        stats["booked_twice"] += b.height - unique.height
        stats["unexplained"] += c.join(unique, on="key", how="anti").height
        stats["unrealised"] += unique.join(c, on="key", how="anti").height
        out.append(c.join(unique.select("key", "cause", "injected"), on="key", how="left", maintain_order="left"))
    for name, b in b_parts.items():
        if name not in c_parts:
            unique = b.unique("key")
            stats["booked_twice"] += b.height - unique.height
            stats["unrealised"] += unique.height
    rows = pl.concat(out) if out else pl.DataFrame(schema=ROWS_SCHEMA)
    rows = rows.select("table", "key", "field", "kind", pl.col("cause").fill_null("unexplained"), pl.col("injected").fill_null(False)).cast(ROWS_SCHEMA)
    return rows, stats


def _check(conn: psycopg.Connection, schema: str, replace_rows: bool) -> bool:
    """Whether the four tables exist; refuses a partial set, and rows unless ``replace``."""
    found = {
        t: conn.execute("SELECT to_regclass(%s)", [sql.Identifier(schema, t).as_string(conn)]).fetchone()[0] is not None
        for t in TABLES
    }
    if not any(found.values()):
        return False
    if not all(found.values()):
        missing = [t for t, ok in found.items() if not ok]
        raise ConfigurationError(f"schema {schema!r} holds some legacy tables but not {missing}", hint="use an empty database or schema")
    filled = [t for t in TABLES if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, t))).fetchone()[0]]
    if filled and not replace_rows:
        raise ConfigurationError(
            f"the legacy tables already hold rows ({', '.join(filled)})",
            hint="generate into an empty database, or pass replace=True to empty the four tables first",
        )
    return True


def _prepare(conn: psycopg.Connection, schema: str, replace_rows: bool) -> None:
    """Create the four tables (none exists) or empty them (``replace``); refuse to overwrite rows."""
    if not _check(conn, schema, replace_rows):
        legacy.create_schema(conn, schema)
        return
    conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(sql.SQL(", ").join(sql.Identifier(schema, t) for t in TABLES)))


def generate_legacy(
    conn_or_url: psycopg.Connection | str,
    *,
    scale: str,
    seed: int,
    out_dir: Path | str,
    export_date: dt.date | None = None,
    now_ms: int | None = None,
    counts: Mapping[str, int] | None = None,
    replace: bool = False,
    schema: str = "public",
    dataset: Dataset | None = None,
    rules: MetricsRules | None = None,
) -> Manifest:
    """Build the legacy tables from the simulator's data as of ``export_date`` and load them.

    ``export_date`` (shop-local; the export ran at its midnight) defaults to 60 days before the
    simulator's clock. ``counts`` overrides row and injection counts by name (see
    :mod:`.counts`). ``dataset`` reuses an already generated simulator dataset of the same scale
    and seed. Writes the report CSVs and the manifest into ``out_dir`` and returns the manifest.
    Refuses (:class:`ConfigurationError`) tables that already hold rows unless ``replace``.
    """
    if dataset is not None and (dataset.scale != scale or dataset.seed != seed or (now_ms is not None and dataset.now_ms != now_ms)):
        raise ConfigurationError(f"the dataset given is scale {dataset.scale!r} seed {dataset.seed} at {dataset.now_ms}, not scale {scale!r} seed {seed}")
    conn = postgres.connect(conn_or_url) if isinstance(conn_or_url, str) else conn_or_url
    try:
        with postgres.translated("checking the legacy tables"), conn.transaction():
            _check(conn, schema, replace)  # fail before the work, not after
        return _generate(conn, scale=scale, seed=seed, out=Path(out_dir), export_date=export_date, now_ms=now_ms,
                         counts=counts, replace=replace, schema=schema, dataset=dataset, rules=rules)  # fmt: skip
    finally:
        if isinstance(conn_or_url, str):
            conn.close()


def _generate(conn: psycopg.Connection, *, scale: str, seed: int, out: Path, export_date: dt.date | None, now_ms: int | None,
              counts: Mapping[str, int] | None, replace: bool, schema: str, dataset: Dataset | None, rules: MetricsRules | None) -> Manifest:  # fmt: skip
    """The work of :func:`generate_legacy` on an open connection."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    if dataset is None:
        dataset = Dataset.generate(scale, seed, DEFAULT_NOW_MS if now_ms is None else now_ms)
    tz, now = dataset.tz, dataset.now_ms
    truth = dataset.truth()
    timings["simulator"] = time.perf_counter() - clock
    as_of = local_day(now, tz)
    if isinstance(export_date, dt.datetime):
        export_date = export_date.date()
    export_date = export_date or as_of - dt.timedelta(days=EXPORT_DAYS_BEFORE_NOW)
    if not export_date < as_of:
        raise ConfigurationError(f"export_date {export_date} must be before the simulator's day {as_of}")
    cutoff = local_midnight_ms(export_date, tz)
    rules = rules or MetricsRules(timezone=tz)

    clock = time.perf_counter()
    stage = staging.staging_frames(truth, tz)
    tg = targets_for(scale, counts)
    sel = build.select(truth, stage, cutoff_ms=cutoff, export_date=export_date, targets=tg)
    tg, inj = _capped(tg, sel.members.height, sel.tx.height, sel.items.height)
    plan = D.plan_customers(sel, truth["members"]["id"], tg, inj, seed)
    tx_view = D.repoint(sel.tx, plan)
    dropped = pl.concat([plan.orphan_members, plan.skipped])
    kept = replace_members(sel, dropped)
    products = build.products(stage["products"], truth, cutoff, seed)
    customers = build.customers(kept, truth, tx_view, tz=tz, rules=rules, fabricated=D.fabricated(plan, sel, tz, seed))
    customers, book_c = D.inject_customers(customers, stage["customers"], inj, seed)
    transactions, book_t = D.inject_transactions(build.transactions(tx_view), inj, seed)
    window, book_i = D.inject_items(sel.items, stage["transaction_items"], inj, seed)
    frames = {"customers": customers, "transactions": transactions, "transaction_items": build.transaction_items(window, products), "products": products}
    timings["build"] = time.perf_counter() - clock

    clock = time.perf_counter()
    found = expected.expect(frames, stage, as_of=as_of, tz=tz, rules=rules)
    computed = pl.concat([e.rows for e in found.values()])
    ikeys = stage["transaction_items"].select("item_id", D.item_keys(stage["transaction_items"]))
    booked = pl.concat([
        D.plan_book(plan, sel, stage["customers"], tx_view), book_c, book_t, book_i,
        natural.rows_book(sel, stage, truth, products, window, ikeys),
        natural.values_book(customers, stage, window, ikeys),
        natural.derived_book(computed),
    ]).cast(ROWS_SCHEMA)  # fmt: skip
    rows, stats = reconcile(computed, booked)
    timings["expect"] = time.perf_counter() - clock

    clock = time.perf_counter()
    paths = report_csv.write_reports(frames, out, tz)
    with postgres.translated("generating the legacy database"), conn.transaction():
        _prepare(conn, schema, replace)
        loaded = report_csv.load_reports(conn, paths, schema)
    timings["load"] = time.perf_counter() - clock

    tables = {name: _summary(e.counts) for name, e in found.items()}
    meta = {
        "scale": scale, "seed": seed, "now_ms": now, "timezone": tz, "as_of": as_of.isoformat(),
        "export_date": export_date.isoformat(), "export_cutoff_ms": cutoff, "strict_counts": sorted(tg.strict),
        "targets": {"customers": tg.customers, "transactions": tg.transactions, "transaction_items": tg.transaction_items},
        "csv": {t: p.name for t, p in paths.items()}, "reconciliation": stats,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "notes": [
            "compare with as_of = meta.as_of against a full sync of the simulator at now_ms, without live events",
            "shop_location and staff_name are names: equal to the staged look-ups except the staff_name_padded injection",
            "Blaze never has an empty city, so the missing_in_blaze injection fills street_address instead",
        ],
    }  # fmt: skip
    manifest = Manifest(meta, inj.as_dict(), tables, rows, loaded, out)
    manifest.write(out)
    return manifest


def _summary(counts: dict) -> dict:
    """One table's expected numbers: the compare's fields, then each field's rule."""
    fields = {f: {k: v for k, v in c.items() if k not in ("rule", "equal")} for f, c in counts["fields"].items()}
    return {**counts, "fields": fields, "rules": {f: c["rule"] for f, c in counts["fields"].items()}}


def replace_members(sel: build.Selection, dropped: pl.Series) -> build.Selection:
    """``sel`` without the members the customers report missed."""
    return replace(sel, members=sel.members.filter(~pl.col("id").is_in(dropped.implode())))


__all__ = ["EXPORT_DAYS_BEFORE_NOW", "generate_legacy", "local_day", "local_midnight_ms", "reconcile"]
