"""The CSV reports the legacy tables were imported from: written as the reports printed them,
then loaded the way the imports did, with ``COPY … FROM STDIN``.

Each report has human headers (``Member ID``, ``Budtender``, ``THC %``); dates print as
``MM/DD/YYYY``, transaction times as shop-local ISO with milliseconds and offset
(``2026-03-05 14:01:02.123-08:00``, an exact instant), booleans as ``Yes``/``No``, money as
plain decimals. An empty text prints as ``""`` and a missing value as nothing, so ``''`` and
NULL survive the trip. Loading checks each file's header, then copies it straight into its
table with ``DateStyle`` set to MDY for the transaction, so the result does not depend on the
server's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import polars as pl
import psycopg
from psycopg import sql

from ..errors import InputDataError
from ..postgres import translated

Fmt = Literal["text", "number", "integer", "date", "instant", "bool"]

#: table -> (column, report header, how it prints), in the report's column order
REPORTS: dict[str, tuple[tuple[str, str, Fmt], ...]] = {
    "customers": (
        ("member_id", "Member ID", "text"), ("name", "Name", "text"), ("phone", "Phone", "text"), ("email", "Email", "text"),
        ("street_address", "Street Address", "text"), ("city", "City", "text"), ("state", "State", "text"),
        ("zip_code", "Zip Code", "text"), ("loyalty_points", "Loyalty Points", "number"), ("total_visits", "Total Visits", "integer"),
        ("total_sales", "Total Sales", "integer"), ("total_refunds", "Total Refunds", "integer"), ("gross_sales", "Gross Sales", "number"),
        ("gross_refunds", "Gross Refunds", "number"), ("avg_sale_value", "Avg Sale Value", "number"),
        ("lifetime_value", "Lifetime Value", "number"), ("customer_type", "Customer Type", "text"),
        ("member_group", "Member Group", "text"), ("marketing_source", "Marketing Source", "text"),
        ("date_joined", "Date Joined", "date"), ("last_visited", "Last Visited", "date"), ("vip_status", "VIP Status", "text"),
        ("churn_risk", "Churn Risk", "text"), ("days_since_last_visit", "Days Since Last Visit", "integer"),
    ),
    "transactions": (
        ("transaction_id", "Transaction ID", "text"), ("customer_id", "Member ID", "text"), ("date", "Date", "instant"),
        ("shop_location", "Shop", "text"), ("staff_name", "Budtender", "text"), ("terminal", "Terminal", "text"),
        ("payment_type", "Payment Type", "text"), ("total_amount", "Total", "number"), ("total_tax", "Tax", "number"),
        ("discounts", "Discounts", "number"), ("loyalty_points_earned", "Points Earned", "number"),
        ("loyalty_points_spent", "Points Spent", "number"),
    ),
    "transaction_items": (
        ("transaction_id", "Transaction ID", "text"), ("product_id", "Product ID", "text"), ("product_sku", "SKU", "text"),
        ("product_name", "Product", "text"), ("brand", "Brand", "text"), ("category", "Category", "text"),
        ("strain", "Strain", "text"), ("flower_type", "Flower Type", "text"), ("quantity", "Quantity", "integer"),
        ("unit_price", "Unit Price", "number"), ("total_price", "Total Price", "number"), ("thc_content", "THC %", "number"),
        ("cbd_content", "CBD %", "number"),
    ),
    "products": (
        ("product_id", "Product ID", "text"), ("sku", "SKU", "text"), ("name", "Name", "text"), ("brand", "Brand", "text"),
        ("category", "Category", "text"), ("strain", "Strain", "text"), ("flower_type", "Flower Type", "text"),
        ("vendor", "Vendor", "text"), ("thc_content", "THC %", "number"), ("cbd_content", "CBD %", "number"),
        ("retail_price", "Retail Price", "number"), ("cost", "Cost", "number"), ("is_active", "Active", "bool"),
        ("image_url", "Image URL", "text"),
    ),
}  # fmt: skip
#: load order (parents first)
ORDER = ("customers", "products", "transactions", "transaction_items")


def file_name(table: str) -> str:
    return f"{table}.csv"


def _printed(column: str, fmt: Fmt, tz: str) -> pl.Expr:
    c = pl.col(column)
    if fmt == "date":
        return c.dt.strftime("%m/%d/%Y")
    if fmt == "instant":
        return c.dt.convert_time_zone(tz).dt.strftime("%Y-%m-%d %H:%M:%S%.3f%:z")
    if fmt == "bool":
        return pl.when(c).then(pl.lit("Yes")).when(~c).then(pl.lit("No"))
    return c.cast(pl.String)


def write_reports(frames: Mapping[str, pl.DataFrame], out_dir: Path, tz: str) -> dict[str, Path]:
    """One report CSV per table in ``out_dir``; returns table -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table, spec in REPORTS.items():
        report = frames[table].select(_printed(col, fmt, tz).alias(header) for col, header, fmt in spec)
        path = out_dir / file_name(table)
        report.write_csv(path)
        paths[table] = path
    return paths


def load_report(conn: psycopg.Connection, table: str, path: Path, schema: str = "public") -> int:
    """COPY one report into ``schema.table`` (inside the caller's transaction); returns its rows.

    The report's columns go straight into the table's: Postgres reads ``MM/DD/YYYY`` under
    ``DateStyle`` MDY (set for this transaction only), ISO times with an offset and ``Yes``/``No``
    booleans as they are, so no staging copy is needed.
    """
    spec = REPORTS[table]
    headers = [h for _, h, _ in spec]
    with path.open("r", encoding="utf-8", newline="") as fh:
        first = fh.readline().rstrip("\r\n")
    if first != ",".join(headers):
        raise InputDataError(f"{path.name} does not have the {table} report's columns", hint=f"expected header: {','.join(headers)}")
    query = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(sql.Identifier(col) for col, _, _ in spec)
    )
    with translated(f"loading {path.name} into {schema}.{table}"), conn.cursor() as cur:
        cur.execute("SET LOCAL DateStyle = 'ISO, MDY'")
        with path.open("rb") as fh, cur.copy(query) as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        return cur.rowcount


def load_reports(conn: psycopg.Connection, paths: Mapping[str, Path], schema: str = "public") -> dict[str, int]:
    """Every report, parents first; table -> rows loaded."""
    return {table: load_report(conn, table, paths[table], schema) for table in ORDER}


__all__ = ["ORDER", "REPORTS", "file_name", "load_report", "load_reports", "write_reports"]
