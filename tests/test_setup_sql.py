"""Phase 1 on a real Postgres: exactly the mapped objects, idempotent, data untouched, metrics right."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import psycopg.sql
import pytest
import yaml

from blaze_workbook import legacy, mapping, phase1
from blaze_workbook.errors import ConfigurationError, DatabaseError, LockedError
from blaze_workbook.introspect import canonical_type, fingerprint
from blaze_workbook.setup_sql import ADDED_COMMENT, MetricsRules, comparison_view, view_names

ROOT = Path(__file__).resolve().parents[1]
STAGING = {t.staging for t in mapping.TABLES}


def _catalog(db) -> dict[str, phase1.Relation]:
    with db.connect() as conn:
        return phase1.catalog(conn, "public")


def _state(db) -> dict:
    """Everything Phase 1 could change: relations, columns, types, comments, view definitions."""
    with db.connect() as conn:
        cat = phase1.catalog(conn, "public")
        views = dict(conn.execute(
            "SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'v'"
        ).fetchall())
    return {"catalog": {k: (v.kind, v.columns, v.comments) for k, v in cat.items()}, "views": views}


def _attributes(conn: psycopg.Connection, table: str) -> dict[str, tuple[bool, bool]]:
    """column -> (NOT NULL, has default)."""
    rows = conn.execute(
        "SELECT attname, attnotnull, atthasdef FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (f"public.{table}",),
    ).fetchall()
    return {name: (notnull, hasdef) for name, notnull, hasdef in rows}


def test_apply_creates_exactly_the_mapped_objects(legacy_db):
    before = _catalog(legacy_db)
    with legacy_db.connect() as conn:
        result = phase1.apply(conn)
    after = _catalog(legacy_db)

    assert set(after) - set(before) == STAGING | set(view_names())
    assert result.changed and not result.replaced
    for t in mapping.TABLES:
        legacy_cols = after[t.legacy].columns
        for new in t.new_columns:
            assert canonical_type(legacy_cols[new.name]) == new.pg_type
        # the pre-existing columns are as they were, in the same order, and come first
        assert list(legacy_cols)[: len(before[t.legacy].columns)] == list(before[t.legacy].columns)
        added = set(legacy_cols) - set(before[t.legacy].columns)
        assert added == {n.name for n in t.new_columns} - set(before[t.legacy].columns)
        assert {c for c, text in after[t.legacy].comments.items() if text == ADDED_COMMENT} == added
        staging = after[t.staging]
        assert [(c, canonical_type(ty)) for c, ty in staging.columns.items()] == [(c.name, c.pg_type) for c in t.columns]
    with legacy_db.connect() as conn:
        for t in mapping.TABLES:
            attrs = _attributes(conn, t.legacy)
            for new in t.new_columns:
                assert attrs[new.name] == (False, False), f"{t.legacy}.{new.name} must be nullable without default"
            pk = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary",
                (f"public.{t.staging}",),
            ).fetchall()
            assert pk == [(t.key,)]
    metrics = after[mapping.METRICS_VIEW].columns
    assert [(c, canonical_type(ty)) for c, ty in metrics.items()] == [("member_id", "text"), *mapping.DERIVED_FIELDS.items()]
    customers_view = after[comparison_view(mapping.CUSTOMERS)].columns
    assert list(customers_view)[:3] == ["member_id", "in_existing", "in_blaze"]
    assert {"phone_existing", "phone_blaze", "lifetime_value_existing", "lifetime_value_blaze"} <= set(customers_view)
    items_view = after[comparison_view(mapping.TRANSACTION_ITEMS)].columns
    assert list(items_view)[:4] == ["transaction_id", "product_id", "id_existing", "item_id_blaze"]
    for t in mapping.TABLES:
        view = after[comparison_view(t)].columns
        for col in t.compared:
            if col.name not in ("transaction_id", "product_id") or t is not mapping.TRANSACTION_ITEMS:
                assert f"{col.name}_existing" in view and f"{col.name}_blaze" in view


def test_second_apply_changes_nothing_and_says_so(legacy_db):
    with legacy_db.connect() as conn:
        phase1.apply(conn)
        state = _state(legacy_db)
        again = phase1.apply(conn)
        planned = phase1.plan(conn)
    assert not again.changed
    assert again.summary().startswith("no change")
    assert len(again.present) == len(again.plan.steps)
    assert not planned.changes
    assert _state(legacy_db) == state


def test_plan_changes_nothing_and_its_script_is_the_same_setup(pg, legacy_db):
    state = _state(legacy_db)
    with legacy_db.connect() as conn:
        planned = phase1.plan(conn, lock_timeout="2s")
    assert _state(legacy_db) == state
    assert [s.name for s in planned.steps if s.status != "create"] == ["products.image_url"]  # in the legacy schema
    script = planned.script()
    assert "BEGIN;" in script and "SET LOCAL lock_timeout = '2s';" in script and script.rstrip().endswith("COMMIT;")

    with legacy_db.connect(autocommit=True) as conn:
        conn.execute(script)
        conn.execute(script)  # idempotent when run by hand, too
        assert not phase1.apply(conn).changed
    by_script = _state(legacy_db)
    other = pg.new_database("legacy")
    try:
        with other.connect() as conn:
            phase1.apply(conn)
        assert _state(other) == by_script
    finally:
        pg.drop_database(other.name)


def test_existing_rows_are_byte_identical_and_not_rewritten(legacy_db):
    expected = legacy.expected_tables()

    def snapshot() -> dict:
        with legacy_db.connect() as conn:
            out = {}
            for table, columns in expected.items():
                node = conn.execute("SELECT pg_relation_filenode(%s::regclass)", (f"public.{table}",)).fetchone()[0]
                out[table] = (fingerprint(conn, table, list(columns), ["id"]), node)
            return out

    before = snapshot()
    with legacy_db.connect() as conn:
        phase1.apply(conn)
        phase1.apply(conn)
    assert snapshot() == before


def test_a_missing_optional_column_is_reported_and_left_out(legacy_db):
    with legacy_db.connect(autocommit=True) as conn:
        conn.execute("ALTER TABLE customers DROP COLUMN street_address")
        result = phase1.apply(conn)
        assert result.plan.missing_columns == {"customers": ("street_address",)}
        assert "customers lacks street_address" in result.summary()
        view = phase1.catalog(conn, "public")["customers_comparison"].columns
        assert "street_address_existing" not in view and "street_address_blaze" not in view
        assert "city_existing" in view
        assert not phase1.apply(conn).changed

        # the column comes back: the view gains its pair (columns change, so it is re-created)
        conn.execute("ALTER TABLE customers ADD COLUMN street_address text")
        again = phase1.apply(conn)
        assert again.replaced == ("customers_comparison",)
        assert not again.plan.missing_columns
        assert "street_address_existing" in phase1.catalog(conn, "public")["customers_comparison"].columns


def test_image_url_added_by_setup_is_not_compared(legacy_db):
    with legacy_db.connect(autocommit=True) as conn:
        conn.execute("ALTER TABLE products DROP COLUMN image_url")
        result = phase1.apply(conn)
        assert "products.image_url" in result.created
        assert result.plan.not_compared == {"products": ("image_url",)}
        assert "image_url_existing" not in phase1.catalog(conn, "public")["products_comparison"].columns
        second = phase1.apply(conn)  # the comment remembers who added it
        assert not second.changed and second.plan.not_compared == {"products": ("image_url",)}


def test_a_pre_existing_image_url_is_compared_and_left_alone(legacy_db):
    with legacy_db.connect(autocommit=True) as conn:
        result = phase1.apply(conn)
        assert "products.image_url" in result.present
        cat = phase1.catalog(conn, "public")
    assert "image_url" not in cat["products"].comments
    assert "image_url_existing" in cat["products_comparison"].columns


def test_a_staging_table_gains_a_new_mapped_column(legacy_db):
    with legacy_db.connect(autocommit=True) as conn:
        phase1.apply(conn)
        conn.execute("ALTER TABLE customers_blaze_staging DROP COLUMN deleted")
        result = phase1.apply(conn)
        assert result.created == ("customers_blaze_staging.deleted",)
        assert "deleted" in phase1.catalog(conn, "public")["customers_blaze_staging"].columns


@pytest.mark.parametrize(
    ("ddl", "match"),
    [
        ("DROP TABLE products", "existing table public.products was not found"),
        ("ALTER TABLE transaction_items DROP COLUMN product_id", "lacks its key column"),
    ],
)
def test_a_missing_table_or_key_column_is_an_error_and_changes_nothing(legacy_db, ddl, match):
    with legacy_db.connect(autocommit=True) as conn:
        conn.execute(ddl)
    state = _state(legacy_db)
    with legacy_db.connect() as conn, pytest.raises(DatabaseError, match=match):
        phase1.apply(conn)
    assert _state(legacy_db) == state


def test_a_locked_table_makes_apply_fail_with_locked_error_and_change_nothing(legacy_db):
    state = _state(legacy_db)
    with legacy_db.connect() as holder:
        holder.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        with legacy_db.connect() as conn, pytest.raises(LockedError) as info:
            phase1.apply(conn, lock_timeout="200ms")
        holder.rollback()
    assert "customers" in info.value.message and "lock_timeout" in info.value.message
    assert "nothing was changed" in info.value.hint
    assert isinstance(info.value.__cause__, psycopg.errors.LockNotAvailable)
    assert _state(legacy_db) == state


def test_apply_refuses_a_connection_in_a_transaction_and_a_bad_lock_timeout(legacy_db):
    with legacy_db.connect() as conn:
        conn.execute("SELECT 1")
        with pytest.raises(ConfigurationError, match="no transaction in progress"):
            phase1.apply(conn)
        conn.rollback()
        with pytest.raises(ConfigurationError):
            phase1.apply(conn, lock_timeout="soon")


def test_a_schema_whose_name_needs_quoting(empty_db):
    """Everything is created in, and refers to, the given schema: names are composed, never pasted."""
    schema = 'Shop "Data"'
    with empty_db.connect(autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
        legacy.create_schema(conn, schema)
        conn.execute(psycopg.sql.SQL("INSERT INTO {} (member_id) VALUES ('m-1')").format(psycopg.sql.Identifier(schema, "customers")))
        assert phase1.apply(conn, schema=schema).changed
        assert not phase1.apply(conn, schema=schema).changed
        assert set(view_names()) | STAGING <= set(phase1.catalog(conn, schema))
        assert phase1.catalog(conn, "public") == {}
        rows = conn.execute(psycopg.sql.SQL("SELECT member_id, in_existing, in_blaze FROM {}").format(
            psycopg.sql.Identifier(schema, "customers_comparison"))).fetchall()
        assert rows == [("m-1", True, False)]


def test_schema_names_are_inert(legacy_db):
    with legacy_db.connect() as conn, pytest.raises(DatabaseError, match="does not exist"):
        phase1.apply(conn, schema="public; DROP TABLE customers; --")
    assert "customers" in _catalog(legacy_db)


# --- customers_blaze_metrics on hand-made staging rows ------------------------------------------

TZ = "America/Los_Angeles"


def _stage(conn: psycopg.Connection, rows: list[tuple], members: list[str]) -> None:
    """rows: (member, days ago (shop-local), local time, trans_type, blaze_status, total_amount)."""
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO customers_blaze_staging (member_id) VALUES (%s)", [(m,) for m in members])
        cur.executemany(
            "INSERT INTO transactions_blaze_staging (transaction_id, customer_id, date, trans_type, blaze_status, total_amount) "
            "VALUES (%s, %s, (((now() AT TIME ZONE %s)::date - %s::int) + %s::time) AT TIME ZONE %s, %s, %s, %s)",
            [(f"t{i}", m, TZ, ago, at, TZ, kind, status, amount) for i, (m, ago, at, kind, status, amount) in enumerate(rows)],
        )


def _sale(member: str, ago: int, amount: str = "1.00", at: str = "12:00") -> tuple:
    return (member, ago, at, "Sale", "Completed", Decimal(amount))


ROWS = [
    _sale("m_refund", 3, "100.00"),
    _sale("m_refund", 5, "50.00"),
    ("m_refund", 2, "12:00", "Refund", "Completed", Decimal("-30.00")),  # negative: counted via abs
    ("m_refund", 1, "12:00", "Sale", "RefundWithInventory", Decimal("20.00")),  # a refund by status
    ("m_refund", 0, "12:00", "Sale", "Queued", Decimal("999.00")),  # not completed: nowhere
    _sale("m_evening", 10, "10.00", at="09:00"),
    _sale("m_evening", 10, "20.00", at="20:30"),  # the next day in UTC, the same day in the shop
    *[_sale(f"m_v{n}", day) for n in (1, 2, 5, 6, 15, 16) for day in range(1, n + 1)],
    *[_sale(f"m_c{d}", d) for d in (29, 30, 60, 61)],
]
MEMBERS = ["m_none", "m_refund", "m_evening", *[f"m_v{n}" for n in (1, 2, 5, 6, 15, 16)], *[f"m_c{d}" for d in (29, 30, 60, 61)]]

# member: total_visits, total_sales, total_refunds, gross_sales, gross_refunds, lifetime_value,
#         avg_sale_value, days ago of last_visited, days_since_last_visit, vip_status, churn_risk
EXPECTED = {
    "m_none": (0, 0, 0, "0", "0", "0", None, None, None, "New", None),
    "m_refund": (2, 2, 2, "150.00", "50.00", "100.00", "75", 3, 3, "Casual", "Low"),
    "m_evening": (1, 2, 0, "30.00", "0", "30.00", "15", 10, 10, "New", "Low"),
    "m_v1": (1, 1, 0, "1.00", "0", "1.00", "1", 1, 1, "New", "Low"),
    "m_v2": (2, 2, 0, "2.00", "0", "2.00", "1", 1, 1, "Casual", "Low"),
    "m_v5": (5, 5, 0, "5.00", "0", "5.00", "1", 1, 1, "Casual", "Low"),
    "m_v6": (6, 6, 0, "6.00", "0", "6.00", "1", 1, 1, "Regular", "Low"),
    "m_v15": (15, 15, 0, "15.00", "0", "15.00", "1", 1, 1, "Regular", "Low"),
    "m_v16": (16, 16, 0, "16.00", "0", "16.00", "1", 1, 1, "VIP", "Low"),
    "m_c29": (1, 1, 0, "1.00", "0", "1.00", "1", 29, 29, "New", "Low"),
    "m_c30": (1, 1, 0, "1.00", "0", "1.00", "1", 30, 30, "New", "Medium"),
    "m_c60": (1, 1, 0, "1.00", "0", "1.00", "1", 60, 60, "New", "Medium"),
    "m_c61": (1, 1, 0, "1.00", "0", "1.00", "1", 61, 61, "New", "High"),
}


def _staged_database(pg):
    db = pg.new_database("legacy")
    with db.connect() as conn:
        phase1.apply(conn)
        _stage(conn, ROWS, MEMBERS)
        conn.commit()
    return db


@pytest.fixture(scope="module")
def staged(pg):
    """Read-only: shared by the tests of one module."""
    db = _staged_database(pg)
    yield db
    pg.drop_database(db.name)


def _metrics(conn: psycopg.Connection) -> tuple[date, dict[str, tuple]]:
    today = conn.execute("SELECT (now() AT TIME ZONE %s)::date", (TZ,)).fetchone()[0]
    fields = ", ".join(mapping.DERIVED_FIELDS)
    rows = conn.execute(f"SELECT member_id, {fields} FROM customers_blaze_metrics").fetchall()
    return today, {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("member", list(EXPECTED))
def test_metrics_follow_the_contract(staged, member):
    with staged.connect() as conn:
        today, got = _metrics(conn)
    assert set(got) == set(MEMBERS)  # one row per staged member
    visits, sales, refunds, gross, gross_ref, ltv, avg, last_ago, days, vip, churn = EXPECTED[member]
    want = (
        visits, sales, refunds, Decimal(gross), Decimal(gross_ref), Decimal(ltv), None if avg is None else Decimal(avg),
        None if last_ago is None else today - timedelta(days=last_ago), days, vip, churn,
    )
    assert got[member] == want


def test_metrics_rules_are_parameters(pg):
    # in UTC, m_evening's last visit is 9 days ago while the UTC date equals the shop's, 10 from
    # midnight UTC until the shop's midnight: churn_medium 11 keeps it Low at any hour of the run
    rules = MetricsRules(timezone="UTC", vip=3, regular=2, casual=1, churn_high=20, churn_medium=11)
    db = _staged_database(pg)
    try:
        with db.connect() as conn:
            result = phase1.apply(conn, rules=rules)
            assert result.replaced == (mapping.METRICS_VIEW,)
            got = dict(conn.execute("SELECT member_id, (total_visits, vip_status, churn_risk)::text FROM customers_blaze_metrics").fetchall())
    finally:
        pg.drop_database(db.name)
    assert got["m_evening"] == "(2,Regular,Low)"  # in UTC the evening sale is another day
    assert got["m_v1"] == "(1,Casual,Low)"
    assert got["m_v16"] == "(16,VIP,Low)"
    assert got["m_c29"] == "(1,Casual,High)"
    assert got["m_none"] == "(0,New,)"


def test_metrics_rules_are_validated_and_read_from_params():
    with pytest.raises(ConfigurationError, match="time zone"):
        MetricsRules(timezone="Mars/Olympus")
    with pytest.raises(ConfigurationError, match="Casual < Regular < VIP"):
        MetricsRules(vip=6, regular=6)
    with pytest.raises(ConfigurationError, match="churn"):
        MetricsRules(churn_high=10, churn_medium=30)
    params = yaml.safe_load((ROOT / "params" / "default.yaml").read_text())
    assert MetricsRules.from_params(params["compare"], timezone=params["setup"]["timezone"]) == MetricsRules()
    custom = MetricsRules.from_params({"vip_tiers": {"VIP": 20}, "churn_days": {"High": 90}, "timezone": "America/Denver"})
    assert (custom.vip, custom.regular, custom.churn_high, custom.timezone) == (20, 6, 90, "America/Denver")
