"""How fast the set-based cutover applies at seed scale, against a row-by-row loop.

Builds a seed-scale legacy database on a throw-away embedded Postgres — with
:func:`blaze_workbook.legacy_gen.generate_legacy` when it is available, else a synthetic one
made with ``generate_series`` — runs 01_setup, fills the staging tables with a full sync's rows,
and copies the database (``CREATE DATABASE … TEMPLATE``) so both contenders start from the same
state. Then, in the same run:

- ours: ``cutover.plan`` (timed apart) and ``cutover.apply`` — every step, backups, checksums
  and verify.sql included, in one transaction;
- the row loop: what the plan's per-customer loop would do, from Python on the copy — one
  ``UPDATE … SET field = %s WHERE key = %s`` per record per field (every record the cutover
  matches, every field it writes, as the loop does not know which values differ) and one
  ``INSERT`` per new record, in one transaction with prepared statements (its best case). When
  it would run longer than ``--loop-seconds`` it runs on a prefix of its statements and is
  extrapolated per statement (said in ``details``). ``details.vs_changed_only_loop`` is the
  ratio against a smarter loop that gets the changed cells for free (one statement per cell);
  ``details.vs_row_per_record_loop`` against a loop that writes all of a step's fields of a
  record in one statement (one per record and step, at the measured per-statement cost).

Prints one JSON line last (CONTRACTS.md §6)::

    python bench/cutover.py [--scale seed] [--seed 0] [--loop-seconds 60] [--synthetic]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from blaze_workbook import cutover, legacy, pg_embedded, phase1
from blaze_workbook.mapping import TABLES, table as mapped_table

SYNTHETIC = {"customers": 10_047, "transactions": 186_394, "transaction_items": 114_136, "products": 1_500}


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# the database


def load_staging(conn: psycopg.Connection, frames: dict[str, Any]) -> dict[str, int]:
    """COPY staging-shaped polars frames into the staging tables (as a full sync leaves them)."""
    out = {}
    for legacy_name, frame in frames.items():
        t = mapped_table(legacy_name)
        names = [c.name for c in t.columns]
        buffer = io.BytesIO()
        frame.select(names).write_csv(buffer, include_header=False, quote_style="non_numeric", datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z")
        with conn.cursor() as cur, cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(t.staging), sql.SQL(", ").join(map(sql.Identifier, names)))
        ) as copy:
            copy.write(buffer.getvalue())
        out[t.staging] = frame.height
    return out


def build_generated(conn: psycopg.Connection, scale: str, seed: int, work: Path) -> dict[str, Any]:
    from blaze_workbook.blaze.simulator.dataset import Dataset
    from blaze_workbook.blaze.simulator.presets import DEFAULT_NOW_MS
    from blaze_workbook.legacy_gen import generate_legacy, staging_frames

    dataset = Dataset.generate(scale, seed, DEFAULT_NOW_MS)
    generate_legacy(conn, scale=scale, seed=seed, out_dir=work / "legacy", dataset=dataset)
    conn.commit()
    phase1.apply(conn)
    with conn.transaction():
        staged = load_staging(conn, staging_frames(dataset.truth(), dataset.tz))
    return {"source": "legacy_gen.generate_legacy", "staged": staged}


SYNTH_SQL = """
INSERT INTO customers (member_id, name, phone, email, street_address, city, state, zip_code, loyalty_points, total_visits,
    total_sales, total_refunds, gross_sales, gross_refunds, avg_sale_value, lifetime_value, customer_type, last_visited,
    vip_status, churn_risk, days_since_last_visit)
SELECT 'm' || lpad(g::text, 6, '0'), 'First ' || g || '  Last', '+1555' || lpad(g::text, 7, '0'), 'USER' || g || '@example.com',
       g || ' Main St', 'Oakland', 'CA', '94601', g % 500, g % 40, g % 45, g % 3, (g % 900) * 10.5, g % 7, 41.25, (g % 900) * 10.5 - g % 7,
       'Active', date '2024-01-01' - (g % 400), 'Casual', 'High', 300
FROM generate_series(1, %(customers)s) AS g;
INSERT INTO products (product_id, sku, name, brand, category, vendor, thc_content, cbd_content, retail_price, cost, is_active)
SELECT 'p' || lpad(g::text, 5, '0'), 'SKU-' || g, 'Product ' || g, 'Brand ' || g % 30, 'Flower', 'v' || g % 40, 20.5, 0.1, 10 + g % 50, 5, true
FROM generate_series(1, %(products)s) AS g;
INSERT INTO transactions (transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type, total_amount,
    total_tax, discounts, loyalty_points_earned, loyalty_points_spent)
SELECT 't' || lpad(g::text, 7, '0'), 'm' || lpad((1 + g % %(customers)s)::text, 6, '0'), timestamptz '2022-01-01' + g * interval '4 minutes',
       'Downtown', 'Sam', 'T1', 'Cash', 20 + g % 80, 1.8, 0, 2, 0
FROM generate_series(1, %(transactions)s) AS g;
INSERT INTO transaction_items (transaction_id, product_id, product_sku, product_name, brand, category, quantity, unit_price, total_price)
SELECT 't' || lpad((1 + g % %(transactions)s)::text, 7, '0'), 'p' || lpad((1 + g % %(products)s)::text, 5, '0'), 'SKU-x', 'Product', 'Brand', 'Flower', 1, 20, 20
FROM generate_series(1, %(transaction_items)s) AS g;
"""

SYNTH_STAGING_SQL = """
INSERT INTO customers_blaze_staging (member_id, name, phone, email, street_address, city, state, zip_code, is_medical, text_opt_in,
    email_opt_in, customer_type, blaze_created, blaze_modified, deleted)
SELECT member_id, replace(name, '  ', ' '), phone, lower(email), street_address, city, state, zip_code, id % 2 = 0, true, id % 3 = 0,
       'Active', timestamptz '2021-01-01' + id * interval '1 hour', now(), false
FROM customers UNION ALL
SELECT 'mnew' || g, 'New ' || g, NULL, NULL, NULL, NULL, NULL, NULL, false, false, false, 'Active', now(), now(), false FROM generate_series(1, 500) AS g;
INSERT INTO transactions_blaze_staging (transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type, total_amount,
    total_tax, discounts, loyalty_points_earned, loyalty_points_spent, blaze_status, trans_type, blaze_created, blaze_modified,
    start_time, end_time, completed_time)
SELECT transaction_id, customer_id, date, shop_location, staff_name, terminal, CASE WHEN id % 10 = 0 THEN 'Credit' ELSE payment_type END,
       total_amount, total_tax, discounts, loyalty_points_earned, loyalty_points_spent, 'Completed', 'Sale', date, date, date, date, date
FROM transactions;
INSERT INTO transaction_items_blaze_staging (item_id, transaction_id, product_id, product_sku, product_name, brand, category, quantity,
    unit_price, total_price, discount, discount_type, tax)
SELECT 'i' || id, transaction_id, product_id, product_sku, product_name, brand, category, quantity, unit_price, total_price, 0, 'None', 1.8
FROM transaction_items;
INSERT INTO products_blaze_staging (product_id, sku, name, brand, category, vendor, retail_price, is_active, thc_content, cbd_content,
    thca, description, blaze_created, blaze_modified, deleted)
SELECT product_id, sku, name || ' (3.5g)', brand, category, vendor, retail_price + 1, is_active, thc_content, cbd_content, 0.5, 'A product',
       now(), now(), false
FROM products;
"""


def build_synthetic(conn: psycopg.Connection) -> dict[str, Any]:
    legacy.create_schema(conn)
    with conn.transaction():
        conn.execute(SYNTH_SQL.replace("%(", "{").replace(")s", "}").format(**SYNTHETIC))
    phase1.apply(conn)
    with conn.transaction():
        conn.execute(SYNTH_STAGING_SQL)
    return {"source": "generate_series (synthetic)", "legacy_rows": SYNTHETIC}


# ---------------------------------------------------------------------------------------------
# the row loop


def loop_work(conn: psycopg.Connection, plan: cutover.Plan) -> tuple[list[tuple[str, str, str, int]], dict[str, int]]:
    """(table, key column, column, rows) per written column: what the plan's loop updates.

    The loop updates every record the cutover matches, for every field it writes; its count of
    records per table is the matched count (existing rows with a staging row).
    """
    matched: dict[str, int] = {}
    for t in TABLES:
        if t.legacy == "transaction_items":  # existing lines whose (transaction, product) Blaze has
            q = sql.SQL("SELECT count(*) FROM {} e WHERE EXISTS (SELECT 1 FROM {} b WHERE b.transaction_id = e.transaction_id AND b.product_id = e.product_id)").format(
                sql.Identifier(t.legacy), sql.Identifier(t.staging)
            )
        else:
            q = sql.SQL("SELECT count(*) FROM {} e JOIN {} s ON s.{} = e.{}").format(
                sql.Identifier(t.legacy), sql.Identifier(t.staging), sql.Identifier(t.key), sql.Identifier(t.column(t.key).legacy)
            )
        matched[t.legacy] = conn.execute(q).fetchone()[0]
    work = []
    for step in plan.steps:
        for tp in step.tables:
            t = mapped_table(tp.table)
            for col in tp.updates:
                work.append((tp.table, t.legacy_key, col, matched[tp.table]))
    return work, matched


def run_loop(conn: psycopg.Connection, statements: list[tuple[sql.Composable, tuple]], budget: float) -> tuple[int, float]:
    """Execute statements one by one until done or ``budget`` seconds; (executed, seconds)."""
    done, start = 0, time.perf_counter()
    with conn.transaction(force_rollback=True):
        with conn.cursor() as cur:
            for query, params in statements:
                cur.execute(query, params)
                done += 1
                if done % 500 == 0 and time.perf_counter() - start > budget:
                    break
    return done, time.perf_counter() - start


def add_old_columns(conn: psycopg.Connection, plan: cutover.Plan) -> None:
    """The ``_old`` columns the plan adds, with their source columns' types."""
    with conn.transaction():
        for step in plan.steps:
            for tp in step.tables:
                for col in tp.added_columns:
                    type_ = conn.execute(
                        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
                        (tp.table, col.removesuffix("_old")),
                    ).fetchone()[0]
                    conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(sql.Identifier(tp.table), sql.Identifier(col), sql.SQL(type_)))


def loop_statements(conn: psycopg.Connection, limit: int) -> list[tuple[sql.Composable, tuple]]:
    """The changed cells of the applied run, as the row loop's UPDATE statements (its sample)."""
    rows = conn.execute(
        "SELECT table_name, key, column_name, value_type, new_value FROM cutover_backup ORDER BY md5(key || column_name) LIMIT %s", (limit,)
    ).fetchall()
    key_of = {t.legacy: (t.legacy_key, "integer" if t.legacy_key == "id" else "text") for t in TABLES}
    out = []
    for table, key, column, type_, value in rows:
        kcol, ktype = key_of[table]
        q = sql.SQL("UPDATE {} SET {} = %s::{} WHERE {} = %s::{}").format(
            sql.Identifier(table), sql.Identifier(column), sql.SQL(type_), sql.Identifier(kcol), sql.SQL(ktype)
        )
        out.append((q, (value, key)))
    return out


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loop-seconds", type=float, default=60.0, help="time budget of the row loop before extrapolating")
    parser.add_argument("--batch-size", type=int, default=cutover.plan.__kwdefaults__["batch_size"])
    parser.add_argument("--synthetic", action="store_true", help="skip legacy_gen; build with generate_series")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bw-bench-cutover-"))
    server = pg_embedded.start(root / "postgres")
    admin = psycopg.connect(server.uri("postgres"), autocommit=True)
    try:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):  # a throw-away server; both contenders share it
            admin.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        admin.execute("ALTER SYSTEM SET max_wal_size = '4GB'")
        admin.execute("SELECT pg_reload_conf()")
        admin.execute("CREATE DATABASE bench")
        clock = time.perf_counter()
        with psycopg.connect(server.uri("bench")) as conn:
            built: dict[str, Any]
            if args.synthetic:
                built = build_synthetic(conn)
            else:
                try:
                    built = build_generated(conn, args.scale, args.seed, root)
                except Exception as exc:  # noqa: BLE001 - the generator is optional here: fall back, and say so
                    log(f"legacy_gen unavailable ({type(exc).__name__}: {exc}); building a synthetic database")
                    conn.rollback()
                    conn.close()
                    admin.execute("DROP DATABASE bench WITH (FORCE)")
                    admin.execute("CREATE DATABASE bench")
                    with psycopg.connect(server.uri("bench")) as fresh:
                        built = build_synthetic(fresh)
        with psycopg.connect(server.uri("bench"), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            sizes = {t.legacy: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t.legacy))).fetchone()[0] for t in TABLES}
            sizes |= {t.staging: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t.staging))).fetchone()[0] for t in TABLES}
        admin.execute("CREATE DATABASE bench_loop TEMPLATE bench")
        build_seconds = time.perf_counter() - clock
        log(f"built in {build_seconds:.1f} s: {sizes}")

        with psycopg.connect(server.uri("bench")) as conn:
            clock = time.perf_counter()
            plan = cutover.plan(conn, root / "run", batch_size=args.batch_size)
            plan_seconds = time.perf_counter() - clock
            log(f"planned in {plan_seconds:.1f} s: {plan.summary()}")
            with conn.transaction():
                work, matched = loop_work(conn, plan)  # before the apply: the records the loop would visit
            clock = time.perf_counter()
            result = cutover.apply(conn, root / "run", gate_passed=True)
            apply_seconds = time.perf_counter() - clock
            log(f"applied in {apply_seconds:.1f} s")
            per_step = {f"{r.step} {r.table}": round(r.seconds, 2) for r in result.log}
            cells = sum(r.cells for r in result.log)
            inserted = sum(r.inserted for r in result.log)
            rows_changed = sum(r.rows for r in result.log)
            sample = loop_statements(conn, 400_000)

        plan_loop_statements = sum(n for *_, n in work) + inserted
        changed_loop_statements = cells + inserted
        # a loop writing all of a step's fields of a record in one statement: one per (step, table, record)
        record_loop_statements = sum(matched[tp.table] for step in plan.steps for tp in step.tables if tp.updates) + inserted
        with psycopg.connect(server.uri("bench_loop")) as conn:
            add_old_columns(conn, plan)  # the loop adds them once, up front (not timed)
            done, loop_seconds = run_loop(conn, sample, args.loop_seconds)
        per_statement = loop_seconds / done
        loop_total = per_statement * plan_loop_statements
        changed_total = per_statement * changed_loop_statements
        record_total = per_statement * record_loop_statements
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        details = {
            "database": built | {"rows": sizes},
            "build_seconds": round(build_seconds, 1),
            "plan_seconds": round(plan_seconds, 2),
            "apply_seconds": round(apply_seconds, 2),
            "apply_includes": "cutover.sql (every step, backups, checksums) and verify.sql, one transaction",
            "apply_split_seconds": {k: round(v, 2) for k, v in result.timings.items()},
            "vs_row_loop_cutover_sql_only": round(loop_total / result.timings["cutover"], 2),
            "rows_changed": rows_changed,
            "values_changed": cells,
            "rows_inserted": inserted,
            "per_step_seconds": per_step,
            "row_loop": {
                "what": "one UPDATE per matched record per written field, one INSERT per new record, from Python, one transaction, prepared",
                "statements": plan_loop_statements,
                "matched_records": matched,
                "measured_statements": done,
                "measured_seconds": round(loop_seconds, 2),
                "seconds_per_statement": round(per_statement, 7),
                "extrapolated": done < plan_loop_statements,
                "seconds": round(loop_total, 1),
                "note": "measured on a pseudo-random sample of the changed cells' UPDATEs, extrapolated per statement to the loop's count (inserts at the same rate)",
            },
            "vs_changed_only_loop": round(changed_total / apply_seconds, 2),
            "changed_only_loop_statements": changed_loop_statements,
            "vs_row_per_record_loop": round(record_total / apply_seconds, 2),
            "row_per_record_loop": {
                "what": "one UPDATE per matched record per step (all the step's fields in one statement), one INSERT per new record",
                "statements": record_loop_statements,
                "seconds": round(record_total, 1),
                "note": "extrapolated at the one-field statement's measured cost: a lower bound (a several-field UPDATE costs a little more)",
            },
            "batch_size": args.batch_size,
            "peak_rss_note": "this Python process only (the Postgres server's memory is not included)",
            "server_settings": "fsync, synchronous_commit, full_page_writes off (throw-away server, same for both)",
        }
        record = {
            "bench": "cutover",
            "scale": args.scale,
            "seconds": round(apply_seconds, 3),
            "peak_rss_mb": round(peak_rss_mb, 1),
            "records_per_s": round(rows_changed / apply_seconds, 1),
            "ratios": {"vs_row_loop": round(loop_total / apply_seconds, 2)},
            "details": details,
        }
    finally:
        admin.close()
        pg_embedded.stop(root / "postgres")
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(record))


if __name__ == "__main__":
    main()
