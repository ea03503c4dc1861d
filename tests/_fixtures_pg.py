"""Postgres fixtures: ONE real server per test session, a fresh database per test that mutates.

Without ``DATABASE_URL`` the session starts an embedded Postgres in a temporary directory
(directly under the system temp dir, not pytest's, whose permissions other pytest sessions
reset) and stops and deletes it at the end. With ``DATABASE_URL`` the tests create and drop
their databases on that server instead (its user needs CREATEDB).

Fresh databases are copies of session templates (``CREATE DATABASE … TEMPLATE``): ``legacy``
holds the legacy schema and a few hand-made rows (:data:`SEED_ROWS`), ``empty`` nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import sqlalchemy
from psycopg import sql
from psycopg.conninfo import make_conninfo

from blaze_workbook import legacy, pg_embedded, postgres

#: rows each legacy table of the ``legacy`` template holds
SEED_ROWS = {"customers": 4, "transactions": 5, "transaction_items": 5, "products": 3}

_SEED_SQL = """
INSERT INTO customers (member_id, name, phone, email, street_address, city, state, zip_code, loyalty_points,
    total_visits, total_sales, total_refunds, gross_sales, gross_refunds, avg_sale_value, lifetime_value,
    customer_type, member_group, marketing_source, date_joined, last_visited, vip_status, churn_risk,
    days_since_last_visit, created_at, updated_at) VALUES
 ('m-1', 'Ana  Lopez', '+15551230001', 'ANA@example.com', '1 Main St', 'Oakland', 'CA', '94601', 12.5,
  3, 3, 0, 120.10, 0, 40.0333333333333333, 120.10, 'Active', 'Regulars', 'walk-in', '2021-03-04', '2024-02-01',
  'Casual', 'High', 300, '2021-03-04 10:00:00+00', '2024-02-01 10:00:00+00'),
 ('m-2', 'Zoë Ünicode', '(555) 123-0002', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '2020-01-01 00:00:00+00', '2020-01-01 00:00:00+00'),
 ('m-3', 'O''Brien; DROP TABLE x', '555.123.0003', 'ob@example.com', 'Apt "4"', 'LA', 'CA', '90001', 0,
  20, 21, 1, 2100.00, 15.25, 100, 2084.75, 'Inactive', NULL, NULL, '2019-12-31', '2023-12-31',
  'VIP', 'Low', 1, '2019-12-31 23:59:59.999999+00', '2023-12-31 23:59:59+00'),
 ('m-4', '', '', '', '', '', '', '', -1, 0, 0, 0, 0, 0, 0, 0, '', '', '', '1970-01-01', '1970-01-01', 'New', '', 0,
  '1970-01-01 00:00:00+00', '1970-01-01 00:00:00+00');

INSERT INTO transactions (transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type,
    total_amount, total_tax, discounts, loyalty_points_earned, loyalty_points_spent, created_at) VALUES
 ('t-1', 'm-1', '2024-02-01 03:30:00+00', 'Downtown', 'Sam Budtender', 'T1', 'Cash', 40.03, 3.61, 0, 4, 0, '2024-02-01 04:00:00+00'),
 ('t-2', 'm-1', '2024-01-15 18:00:00+00', 'Downtown', 'Sam Budtender', 'T1', 'Credit', 80.07, 7.2, 5.5, 8, 0, '2024-01-15 19:00:00+00'),
 ('t-3', 'm-3', '2023-12-31 23:00:00+00', 'Uptown', NULL, NULL, NULL, -15.25, -1.37, 0, 0, 0, '2024-01-01 00:00:00+00'),
 ('t-4', 'm-orphan', '2022-06-01 12:00:00+00', '', '', '', '', 0, 0, 0, 0, 0, '2022-06-01 12:00:00+00'),
 ('t-5', 'm-3', '2023-11-30 20:00:00+00', 'Uptown', 'Lee', 'T2', 'Cash', 2100.00, 189.00, 0, 210, 100, '2023-11-30 21:00:00+00');

INSERT INTO transaction_items (transaction_id, product_id, product_sku, product_name, brand, category, strain,
    flower_type, quantity, unit_price, total_price, thc_content, cbd_content, created_at) VALUES
 ('t-1', 'p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 'Blue Dream', 'Hybrid', 1, 40.03, 40.03, 21.5, 0.1, '2024-02-01 04:00:00+00'),
 ('t-2', 'p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 'Blue Dream', 'Hybrid', 2, 40.035, 80.07, 21.5, 0.1, '2024-01-15 19:00:00+00'),
 ('t-3', 'p-2', 'SKU-2', 'Gummies', 'Chewy', 'Edible', NULL, NULL, 1, 15.25, -15.25, NULL, NULL, '2024-01-01 00:00:00+00'),
 ('t-5', NULL, NULL, 'Old import line', NULL, NULL, NULL, NULL, 3, NULL, 2100.00, NULL, NULL, '2023-11-30 21:00:00+00'),
 ('t-5', 'p-3', 'SKU-3', 'Pre-roll', 'Acme', 'Pre-Rolls', 'OG', 'Indica', 0, 0, 0, 0, 0, '2023-11-30 21:00:00+00');

INSERT INTO products (product_id, sku, name, brand, category, strain, flower_type, vendor, thc_content, cbd_content,
    retail_price, cost, is_active, image_url) VALUES
 ('p-1', 'SKU-1', 'Blue Dream 3.5g', 'Acme', 'Flower', 'Blue Dream', 'Hybrid', 'v-1', 21.5, 0.1, 40.03, 20.00, true, 'https://img/1.png'),
 ('p-2', 'SKU-2', 'Gummies', 'Chewy', 'Edible', NULL, NULL, 'v-2', NULL, NULL, 15.25, 7.123456789, false, NULL),
 ('p-3', 'SKU-3', 'Pre-roll', 'Acme', 'Pre-Rolls', 'OG', 'Indica', NULL, 0, 0, 0, 0, NULL, '');
"""


@dataclass
class TestDatabase:
    """One database of the session's server."""

    __test__ = False  # not a test class, despite the name

    name: str
    conninfo: str

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection:
        return postgres.connect(self.conninfo, autocommit=autocommit)

    def engine(self) -> sqlalchemy.Engine:
        return postgres.engine(self.conninfo)


@dataclass
class PgServer:
    """The session's server and a factory of fresh databases on it."""

    admin_conninfo: str
    embedded: pg_embedded.EmbeddedServer | None
    templates: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"bwt_{uuid.uuid4().hex[:8]}")
    #: seconds the embedded server took to start (0 with DATABASE_URL)
    start_seconds: float = 0.0

    def conninfo(self, dbname: str) -> str:
        return make_conninfo(self.admin_conninfo, dbname=dbname)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_conninfo, autocommit=True)

    def new_database(self, template: str | None = "legacy") -> TestDatabase:
        """A fresh database: a copy of template ``legacy`` or ``empty``, or a plain new one (``None``)."""
        name = f"{self.prefix}_{len(self.created)}"
        with self.admin() as conn:
            if template is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                source = self._template(template)
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(source)))
        self.created.append(name)
        return TestDatabase(name, self.conninfo(name))

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _template(self, kind: str) -> str:
        if kind not in self.templates:
            name = f"{self.prefix}_tpl_{kind}"
            with self.admin() as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            if kind == "legacy":
                with psycopg.connect(self.conninfo(name)) as conn:
                    legacy.create_schema(conn)
                    conn.execute(_SEED_SQL)
                    conn.commit()
            elif kind != "empty":
                raise ValueError(f"unknown template {kind!r}; valid: legacy, empty")
            self.created.append(name)
            self.templates[kind] = name
        return self.templates[kind]

    def drop_all(self) -> None:
        for name in reversed(self.created):
            self.drop_database(name)
        self.created.clear()
        self.templates.clear()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """The session's Postgres: ``DATABASE_URL`` if set, else one embedded server in a temp dir."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        server = PgServer(configured, None)
        yield server
        server.drop_all()
        return
    root = Path(tempfile.mkdtemp(prefix="bw-pg-"))
    started = time.monotonic()
    embedded = pg_embedded.start(root / "postgres")
    server = PgServer(embedded.uri("postgres"), embedded, start_seconds=time.monotonic() - started)
    with server.admin() as conn:  # a throw-away server: durability buys the tests nothing
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield server
    finally:
        pg_embedded.stop(root / "postgres")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def legacy_db(pg: PgServer) -> Iterator[TestDatabase]:
    """A fresh database holding the legacy schema and :data:`SEED_ROWS`."""
    db = pg.new_database("legacy")
    yield db
    pg.drop_database(db.name)


@pytest.fixture()
def empty_db(pg: PgServer) -> Iterator[TestDatabase]:
    """A fresh, empty database."""
    db = pg.new_database("empty")
    yield db
    pg.drop_database(db.name)
