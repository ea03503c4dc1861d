"""A small world for the cutover tests: the fixture's legacy rows, 01_setup, and staging by hand.

The staging rows carry known differences from the legacy rows (see the comments), so every
step has an exact expected outcome. ``AS_OF`` fixes the day for the date-dependent fields.
"""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg import sql

from blaze_workbook import phase1
from blaze_workbook.mapping import TABLES

AS_OF = date(2024, 3, 1)
ORIGINAL_TABLES = tuple(t.legacy for t in TABLES)

STAGING_SQL = """
INSERT INTO customers_blaze_staging (member_id, name, phone, email, street_address, city, state, zip_code, last_visited,
    loyalty_points, customer_type, is_medical, text_opt_in, email_opt_in, member_group, date_joined, blaze_created, blaze_modified, deleted) VALUES
 -- m-1: name spacing and email case differ; new columns filled
 ('m-1', 'Ana Lopez', '+15551230001', 'ana@example.com', '1 Main St', 'Oakland', 'CA', '94601', '2024-01-31',
  99, 'Active', true, false, true, 'Regulars', '2021-03-04', '2021-03-04 10:00:00+00', '2024-02-20 08:00:00.123456+00', false),
 -- m-2: Blaze has no phone (NULL) and an empty email: the legacy values stay; city is new
 ('m-2', 'Zoë Ünicode', NULL, '', NULL, 'Fresno', NULL, NULL, NULL,
  NULL, 'Active', NULL, NULL, NULL, NULL, NULL, '2020-01-01 00:00:00+00', '2020-01-01 00:00:00+00', false),
 -- m-3: an empty phone (the legacy one stays), a corrected name
 ('m-3', 'O''Brien', '', 'ob@example.com', 'Apt "4"', 'LA', 'CA', '90001', '2023-11-30',
  0, 'Inactive', false, NULL, NULL, NULL, '2019-12-31', '2019-12-31 23:59:59+00', '2024-01-01 00:00:00+00', false),
 -- m-5: only in Blaze: inserted
 ('m-5', 'New Person', '+15559990005', 'new@example.com', '5 Elm', 'Oakland', 'CA', '94602', '2024-02-28',
  5, 'Active', false, true, true, NULL, '2024-02-01', '2024-02-01 12:00:00+00', '2024-02-28 12:00:00+00', false),
 -- m-6: only in Blaze but deleted there: not inserted
 ('m-6', 'Gone Person', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, 'Inactive', NULL, NULL, NULL, NULL, NULL, '2024-02-01 12:00:00+00', '2024-02-02 12:00:00+00', true);

INSERT INTO transactions_blaze_staging (transaction_id, customer_id, date, shop_id, shop_location, seller_id, staff_name, terminal,
    payment_type, total_amount, total_tax, discounts, loyalty_points_earned, loyalty_points_spent, blaze_status, trans_type,
    blaze_created, blaze_modified, start_time, end_time, completed_time) VALUES
 ('t-1', 'm-1', '2024-02-01 03:30:00+00', 's1', 'Downtown', 'e1', 'Sam Budtender', 'T1', 'Cash', 40.03, 3.61, 0, 4, 0,
  'Completed', 'Sale', '2024-02-01 03:00:00+00', '2024-02-01 03:31:00+00', '2024-02-01 03:00:00+00', '2024-02-01 03:29:00+00', '2024-02-01 03:30:00+00'),
 -- t-2: payment type corrected; total_tax 7.20 equals the legacy 7.2 (no change); staff name differs but is kept
 ('t-2', 'm-1', '2024-01-15 18:00:00+00', 's1', 'Downtown', 'e2', 'Other Name', 'T1', 'Credit Card', 80.07, 7.20, 5.5, 8, 0,
  'Completed', 'Sale', '2024-01-15 17:50:00+00', '2024-01-15 18:01:00+00', '2024-01-15 17:50:00+00', '2024-01-15 17:59:00+00', '2024-01-15 18:00:00+00'),
 ('t-3', 'm-3', '2023-12-31 23:00:00+00', 's2', 'Uptown', NULL, NULL, NULL, NULL, -15.25, -1.37, 0, 0, 0,
  'Refunded', 'Refund', '2023-12-31 22:50:00+00', '2023-12-31 23:01:00+00', NULL, NULL, '2023-12-31 23:00:00+00'),
 ('t-5', 'm-3', '2023-11-30 20:00:00+00', 's2', 'Uptown', 'e3', 'Lee', 'T2', 'Cash', 2100.00, 189.00, 0, 210, 100,
  'Completed', 'Sale', '2023-11-30 19:50:00+00', '2023-11-30 20:01:00+00', NULL, NULL, '2023-11-30 20:00:00+00'),
 -- t-6: only in Blaze: inserted
 ('t-6', 'm-5', '2024-02-28 20:00:00+00', 's1', 'Downtown', 'e1', 'Sam Budtender', 'T1', 'Cash', 50.00, 4.50, 0, 5, 0,
  'Completed', 'Sale', '2024-02-28 19:55:00+00', '2024-02-28 20:01:00+00', NULL, NULL, '2024-02-28 20:00:00+00'),
 -- t-7: only in Blaze, without a date (the legacy column is NOT NULL): not inserted
 ('t-7', 'm-1', NULL, 's1', NULL, NULL, NULL, NULL, NULL, 1.00, 0, 0, 0, 0,
  'Queued', 'Sale', '2024-02-29 10:00:00+00', '2024-02-29 10:00:00+00', NULL, NULL, NULL);

INSERT INTO transaction_items_blaze_staging (item_id, transaction_id, product_id, product_sku, product_name, brand, category,
    quantity, unit_price, total_price, discount, discount_type, tax, weight_per_unit, item_status) VALUES
 ('i-1', 't-1', 'p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 1, 40.03, 40.03, 0, 'None', 3.61, 'EIGHTH', 'Active'),
 -- i-2 pairs with the legacy line of t-2; unit price corrected (40.035 -> 40.04)
 ('i-2', 't-2', 'p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 2, 40.04, 80.07, 5.50, 'Cash', 7.20, 'EIGHTH', 'Active'),
 -- i-2b: a second line of the same product in t-2: no legacy line left to pair with: inserted
 ('i-2b', 't-2', 'p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 1, 10.00, 10.00, 0, 'None', 0.90, 'EIGHTH', 'Active'),
 -- i-3: quantity 1.5 does not fit the legacy integer column: kept as 1; total price sign corrected
 ('i-3', 't-3', 'p-2', 'SKU-2', 'Gummies', 'Chewy', 'Edible', 1.5, 15.25, 15.25, 0, NULL, -1.37, NULL, 'Refunded'),
 ('i-5', 't-5', 'p-3', 'SKU-3', 'Pre-roll', 'Acme', 'Pre-Rolls', 0, 0, 0, 0, NULL, 0, NULL, 'Active'),
 -- i-6: in the new transaction t-6: inserted
 ('i-6', 't-6', 'p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 1, 50.00, 50.00, 0, 'None', 4.50, 'EIGHTH', 'Active'),
 -- i-7: its transaction exists nowhere: not inserted
 ('i-7', 't-99', 'p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 1, 1, 1, 0, NULL, 0, NULL, 'Active');

INSERT INTO products_blaze_staging (product_id, sku, name, brand, category, vendor, vendor_name, retail_price, is_active,
    thc_content, cbd_content, thca, cbda, cbg, description, weight_per_unit, unit_value, flower_type, image_url,
    blaze_created, blaze_modified, deleted) VALUES
 -- p-1: name and price changed, a new image
 ('p-1', 'SKU-1', 'Blue Dream 3.5 g', 'Acme', 'Flower', 'v-1', 'Vendor One', 42.00, true, 21.5, 0.1, 0.5, 0.01, 0.2,
  'A hybrid', 'EIGHTH', 3.5, 'Hybrid', 'https://img/1b.png', '2020-01-01 00:00:00+00', '2024-02-01 00:00:00+00', false),
 -- p-2: no name in Blaze (kept); the brand differs but report names are kept; now active
 ('p-2', 'SKU-2', NULL, 'Other Brand', 'Edible', 'v-2', 'Vendor Two', 15.25, true, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, '2020-01-01 00:00:00+00', '2024-02-01 00:00:00+00', false),
 ('p-3', 'SKU-3', 'Pre-roll', 'Acme', 'Pre-Rolls', NULL, NULL, 0, NULL, 0, 0, NULL, NULL, NULL,
  NULL, NULL, NULL, 'Indica', '', '2020-01-01 00:00:00+00', '2024-02-01 00:00:00+00', false),
 -- p-4: only in Blaze: inserted
 ('p-4', 'SKU-4', 'Tincture', 'Drops', 'Tincture', 'v-3', 'Vendor Three', 30.00, true, 5, 20, NULL, NULL, NULL,
  'Calm', NULL, NULL, NULL, NULL, '2024-01-01 00:00:00+00', '2024-02-01 00:00:00+00', false);
"""


def build(conn: psycopg.Connection) -> None:
    """01_setup, then the staging rows above, committed."""
    phase1.apply(conn)
    with conn.transaction():
        conn.execute(STAGING_SQL)


def checksums(conn: psycopg.Connection, tables: tuple[str, ...] = ORIGINAL_TABLES) -> dict[str, tuple[tuple[str, ...], str]]:
    """Per table: its columns and the md5 of all its rows (every column) in key order."""
    out = {}
    with conn.transaction():
        for name in tables:
            key = "id"
            cols = tuple(r[0] for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (name,)
            ).fetchall())  # fmt: skip
            digest = conn.execute(
                sql.SQL("SELECT md5(coalesce(string_agg(x::text, chr(10) ORDER BY x.{}), '')) FROM {} AS x").format(sql.Identifier(key), sql.Identifier(name))
            ).fetchone()[0]
            out[name] = (cols, digest)
    return out


def one(conn: psycopg.Connection, query: str, *params: object) -> object:
    with conn.transaction():
        row = conn.execute(query, params or None).fetchone()
    return None if row is None else (row[0] if len(row) == 1 else row)


def rows(conn: psycopg.Connection, query: str, *params: object) -> list[tuple]:
    with conn.transaction():
        return conn.execute(query, params or None).fetchall()
