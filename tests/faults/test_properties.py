"""Property-based checks (hypothesis) that extend the unit tests' invariants (issue 8).

Not repeated here: offset paging with a fixed page cap and a moving total, raw window covers
(``tests/blaze/test_paging.py``), each normalisation's idempotence and never-matching
(``tests/compare/test_normalize.py``), kinds exhaustive and exclusive (``test_classify.py``).
Added: the mapping's names and DDL under any schema name, every mapped column through the
decoder and back out of Postgres, paging whatever sizes the server's pages have, the sync's
window plans across DST in the shop's zone, and the whole compare never turning a real
difference into a match.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from _fixtures_pg import PgServer, TestDatabase
from blaze_workbook import compare as C
from blaze_workbook.blaze.paging import DayWindow, OffsetPaginator, local_day, to_ms
from blaze_workbook.mapping import CUSTOMERS, PRODUCTS, TABLES, Column, Table
from blaze_workbook.setup_sql import create_staging
from blaze_workbook.sync import Warehouse, decode_page, push
from blaze_workbook.sync.plan import DEFAULT_HISTORY_YEARS, MAIN_ENTITIES, MAX_WINDOW_DAYS, Plan, local_midnight_ms, new_plan

pytestmark = pytest.mark.faults

MODEST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DB_MODEST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SAMPLES = Path(__file__).resolve().parents[1] / "sync" / "data"
LA = "America/Los_Angeles"

# --------------------------------------------------------------------------- the mapping


def test_every_mapped_name_is_a_plain_identifier_and_every_key_a_column():
    plain = re.compile(r"^[a-z_][a-z0-9_]*$")
    for t in TABLES:
        names = [c.name for c in t.columns]
        assert len(set(names)) == len(names), t.staging
        assert t.key in names and t.staging != t.legacy
        for name in (t.legacy, t.staging, *names, *(n.name for n in t.new_columns)):
            assert plain.match(name) and len(name.encode()) <= 63, name


@pytest.fixture(scope="module")
def ddl_db(pg: PgServer) -> Iterator[TestDatabase]:
    db = pg.new_database("empty")
    yield db
    pg.drop_database(db.name)


SCHEMA_NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=20).filter(
    lambda s: len(s.encode()) <= 63)


@DB_MODEST
@given(schema=SCHEMA_NAMES)
def test_staging_ddl_creates_exactly_the_mapping_under_any_schema_name(ddl_db, schema):
    with ddl_db.connect() as conn:
        try:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            for t in TABLES:
                conn.execute(create_staging(schema, t))
            got = conn.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                "ORDER BY table_name, ordinal_position", (schema,)).fetchall()
        finally:
            conn.rollback()
    pg_name = {"text": "text", "numeric": "numeric", "boolean": "boolean", "date": "date",
               "timestamptz": "timestamp with time zone", "integer": "integer"}
    expected = sorted((t.staging, c.name, pg_name[c.pg_type]) for t in TABLES for c in t.columns)
    assert sorted(got) == expected


# one strategy per kind of value; text never holds NUL (the decoder cleans it and says so)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=24)
NAME_PART = st.text(st.characters(whitelist_categories=("L",)) | st.sampled_from(" '-"), max_size=12)
MONEY = st.decimals(min_value=-100_000, max_value=100_000, places=2)
NUMERIC = st.decimals(min_value=-100_000, max_value=100_000, places=3)
EPOCH_MS = st.integers(946_684_800_000, 4_070_908_800_000)  # 2000 .. 2099 (later is quarantined as implausible)
_ids = itertools.count()


def _put(record: dict, path: str, value: object) -> None:
    """Set a dotted source path (``address.city``, ``assets[0].publicURL``) in ``record``."""
    *parents, last = path.split(".")
    node = record
    for part in parents:
        m = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        if m:
            items = node.get(m.group(1)) or [{}]
            node[m.group(1)] = items
            node = items[int(m.group(2))]
        else:
            node = node.setdefault(part, {}) if isinstance(node.get(part), dict) or part not in node else node[part]
            if node is None:
                node = {}
    node[last] = value


def _value(kind: str) -> st.SearchStrategy:
    return {"text": TEXT, "lookup": TEXT.filter(bool), "money": MONEY, "numeric": NUMERIC, "bool": st.booleans(),
            "epoch_ms": EPOCH_MS, "local_date": EPOCH_MS}[kind]


def _drawn_columns(t: Table) -> list[Column]:
    """Columns whose value a record sets directly (look-ups only where the record names the value)."""
    return [c for c in t.columns if c.name != t.key and c.kind != "name" and not (c.kind == "lookup" and c.source[0].endswith("Id"))]


@st.composite
def records(draw, t: Table) -> tuple[dict, dict]:
    """A Blaze record of ``t``'s entity built from the shared sample, and the values drawn per column."""
    entity = {CUSTOMERS.staging: "members", PRODUCTS.staging: "products"}[t.staging]
    rec = copy.deepcopy(json.loads((SAMPLES / f"{entity}.json").read_text())["values"][0])
    drawn: dict[str, object] = {t.key: f"prop-{next(_ids)}"}
    rec["id"] = drawn[t.key]
    for c in _drawn_columns(t):
        drawn[c.name] = draw(_value(c.kind))
        value = drawn[c.name]
        _put(rec, c.source[0], f"@@{c.name}@@" if isinstance(value, Decimal) else value)
    if t is CUSTOMERS:
        drawn["first"], drawn["last"] = draw(NAME_PART), draw(NAME_PART)
        rec["firstName"], rec["lastName"] = drawn["first"], drawn["last"]
    return rec, drawn


def _body(recs: list[dict], drawn: list[dict]) -> bytes:
    """A page whose decimals are JSON numbers written exactly as drawn."""
    text = json.dumps({"values": recs, "skip": 0, "limit": 100, "total": len(recs)})
    for d in drawn:
        for name, value in d.items():
            if isinstance(value, Decimal):
                text = text.replace(f'"@@{name}@@"', str(value), 1)
    return text.encode()


def _expected(c: Column, drawn: dict, tz: str) -> object:
    if c.kind == "name":
        return " ".join(f"{drawn['first']} {drawn['last']}".split())
    value = drawn[c.name]
    if c.kind == "epoch_ms":
        return datetime.fromtimestamp(value / 1000, UTC)
    if c.kind == "local_date":
        return datetime.fromtimestamp(value / 1000, ZoneInfo(tz)).date()
    return value


def _same(c: Column, got: object, want: object) -> bool:
    if want == "" and c.kind in ("text", "name"):  # CONTRACTS §3: a Blaze '' may be stored as '' or NULL
        return got in ("", None)
    if isinstance(want, Decimal):
        return got is not None and Decimal(got) == want
    return got == want


def _check_row(t: Table, row: dict, drawn: dict, tz: str) -> None:
    for c in [*_drawn_columns(t), *(c for c in t.columns if c.kind == "name")]:
        want = _expected(c, drawn, tz)
        assert _same(c, row[c.name], want), (c.name, row[c.name], want)


@MODEST
@given(data=st.data(), table=st.sampled_from([CUSTOMERS, PRODUCTS]), tz=st.sampled_from([LA, "Europe/London", "Pacific/Chatham"]))
def test_every_mapped_column_decodes_to_its_value_and_type(data, table, tz):
    pairs = data.draw(st.lists(records(table), min_size=1, max_size=5))
    entity = "members" if table is CUSTOMERS else "products"
    decoded = decode_page(entity, _body([r for r, _ in pairs], [d for _, d in pairs]), timezone=tz)
    assert decoded.quarantine.is_empty()
    frame = decoded.staging(table)
    kinds = {"text": pl.String, "numeric": pl.Decimal, "boolean": pl.Boolean, "date": pl.Date, "timestamptz": pl.Datetime}
    for c in table.columns:
        assert isinstance(frame.schema[c.name], kinds[c.pg_type]), c.name  # the DDL's type, never a float
    rows = {r[table.key]: r for r in frame.iter_rows(named=True)}
    for _, drawn in pairs:
        _check_row(table, rows[drawn[table.key]], drawn, tz)


@pytest.fixture(scope="module")
def roundtrip(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestDatabase, Warehouse]]:
    db = pg.new_database("empty")
    with db.connect() as conn:
        conn.execute(create_staging("public", CUSTOMERS))
        conn.commit()
    with Warehouse.open(tmp_path_factory.mktemp("props") / "w.duckdb", timezone_fallback=LA) as wh:
        yield db, wh
    pg.drop_database(db.name)


@DB_MODEST
@given(pairs=st.lists(records(CUSTOMERS), min_size=1, max_size=4))
def test_every_customer_column_round_trips_through_the_warehouse_and_postgres(roundtrip, pairs):
    db, wh = roundtrip
    wh.ingest("props", "members", _body([r for r, _ in pairs], [d for _, d in pairs]))
    push(wh, db.conninfo, tables=[CUSTOMERS.staging])
    names = [c.name for c in CUSTOMERS.columns]
    with db.connect() as conn:
        for _, drawn in pairs:
            values = conn.execute(sql.SQL("SELECT {} FROM {} WHERE member_id = %s").format(
                sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier(CUSTOMERS.staging)), (drawn["member_id"],)).fetchone()
            _check_row(CUSTOMERS, dict(zip(names, values, strict=True)), drawn, LA)


# --------------------------------------------------------------------------- pagination


@MODEST
@given(total=st.integers(0, 3_000), limit=st.integers(1, 100), sizes=st.lists(st.integers(1, 100), min_size=1, max_size=50))
def test_skip_advances_by_records_received_whatever_the_page_sizes(total, limit, sizes):
    """A server may send fewer records than asked (never more): nothing is skipped or read twice."""
    p, seen, pages = OffsetPaginator(limit=limit), [], itertools.cycle(sizes)
    while True:
        skip = int(p.params()["skip"])
        received = min(next(pages), limit, total - skip)
        seen.extend(range(skip, skip + received))
        if not p.advance(received, total):
            break
    assert seen == list(range(total))
    assert p.skip == total and p.done


@MODEST
@given(total=st.integers(1, 3_000), limit=st.integers(1, 100), empty_at=st.integers(0, 40))
def test_an_empty_page_stops_the_listing_where_it_is(total, limit, empty_at):
    p, seen, n = OffsetPaginator(limit=limit), [], 0
    while True:
        skip = int(p.params()["skip"])
        received = 0 if n == empty_at else min(limit, total - skip)
        seen.extend(range(skip, skip + received))
        n += 1
        if not p.advance(received, total):
            break
    assert seen == list(range(len(seen)))  # a prefix, in order, no repeat
    assert p.done and (received == 0 or p.skip >= total)
    assert len(seen) == min(total, empty_at * limit)


@MODEST
@given(total=st.integers(0, 3_000), limit=st.integers(1, 100))
def test_without_a_total_a_short_page_ends_the_listing(total, limit):
    p, seen = OffsetPaginator(limit=limit), []
    while True:
        skip = int(p.params()["skip"])
        received = min(limit, total - skip)
        seen.extend(range(skip, skip + received))
        if not p.advance(received, None, limit):
            break
    assert seen == list(range(total)) and p.pages == total // limit + 1


# --------------------------------------------------------------------------- window plans (sync)

ZONES = st.sampled_from([LA, "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"])
INSTANTS = st.datetimes(datetime(2019, 1, 1), datetime(2031, 1, 1), timezones=st.just(UTC))


def _check_contiguous(windows: list) -> None:
    """No gap, no overlap; every window at most 7 days but a fill's head (from 1970, Plan.windows)."""
    for w in windows:
        if isinstance(w, DayWindow):
            assert 1 <= w.days <= MAX_WINDOW_DAYS
        elif w is not windows[0] or w.start_ms != 0:
            assert 1 <= w.span_ms <= MAX_WINDOW_DAYS * 86_400_000
    for a, b in itertools.pairwise(windows):  # no gap, no overlap inside one plan
        if isinstance(a, DayWindow):
            assert b.start == a.end + timedelta(days=1)
        else:
            assert b.start_ms == a.end_ms + 1


@MODEST
@given(entity=st.sampled_from(MAIN_ENTITIES), tz=ZONES, now=INSTANTS, back=st.integers(0, 60 * 86_400_000),
       lookback_h=st.integers(0, 14 * 24))
def test_an_incremental_plan_reaches_back_exactly_to_the_lookback(entity, tz, now, back, lookback_h):
    """No gap before the watermark; more overlap than the lookback only to reach a local midnight."""
    watermark = to_ms(now) - back
    lookback = timedelta(hours=lookback_h)
    plan = new_plan(entity, run_id="r", mode="incremental", since=None, watermark_ms=watermark, lookback=lookback, now=now, tz=tz)
    windows = plan.windows()
    _check_contiguous(windows)
    start = watermark - lookback_h * 3_600_000
    if plan.kind == "ms":
        assert (windows[0].start_ms, windows[-1].end_ms) == (start, to_ms(now))
    else:  # shop-local days: the day holding the start, whatever DST did to its length
        first, last = windows[0].start, windows[-1].end
        assert local_midnight_ms(first, tz) <= start < local_midnight_ms(first + timedelta(days=1), tz)
        assert last == local_day(now, tz)


@MODEST
@given(entity=st.sampled_from(MAIN_ENTITIES), tz=ZONES, now=INSTANTS, days=st.integers(0, 120),
       opened_days=st.none() | st.integers(0, 900))
def test_a_backfill_plan_covers_since_to_now_from_the_local_midnight(entity, tz, now, days, opened_days):
    """Transactions from ``since``; members and products whole: from the default history, or
    the shop's opening or ``since`` when earlier."""
    since = local_day(now, tz) - timedelta(days=days)
    opened = None if opened_days is None else to_ms(now) - opened_days * 86_400_000
    plan = new_plan(entity, run_id="r", mode="backfill", since=since, watermark_ms=None, lookback=timedelta(0), now=now, tz=tz,
                    opened_ms=opened)
    windows = plan.windows()
    _check_contiguous(windows)
    weekly = -(-(plan.hi - plan.lo + 1) // (MAX_WINDOW_DAYS if plan.kind == "days" else MAX_WINDOW_DAYS * 86_400_000))
    assert len(windows) == weekly + (plan.kind == "ms")
    if plan.kind == "ms":
        history = local_day(now, tz) - timedelta(days=round(365.25 * DEFAULT_HISTORY_YEARS))
        first = min(since, history, history if opened is None else local_day(opened, tz))
        head, windows = windows[0], windows[1:]  # the head: everything modified before the fill's start
        assert (head.start_ms, head.end_ms) == (0, local_midnight_ms(first, tz) - 1)
        assert windows[0].start_ms == local_midnight_ms(first, tz) and windows[-1].end_ms == to_ms(now)
    else:
        assert (windows[0].start, windows[-1].end) == (since, local_day(now, tz))


@MODEST
@given(entity=st.sampled_from(MAIN_ENTITIES), now=INSTANTS, days=st.integers(0, 60), done=st.sets(st.integers(0, 12)))
def test_a_plan_survives_its_cursor_and_resumes_with_the_same_windows(entity, now, days, done):
    plan = new_plan(entity, run_id="r", mode="backfill", since=local_day(now, LA) - timedelta(days=days), watermark_ms=None,
                    lookback=timedelta(0), now=now, tz=LA)
    plan = plan.with_done(*(i for i in done if i < len(plan.windows())))
    again = Plan.from_cursor(entity, json.loads(json.dumps(plan.cursor())))
    assert again == plan and again.windows() == plan.windows()
    assert {i for i, _ in again.pending()} | set(again.done) == set(range(len(plan.windows())))


# --------------------------------------------------------------------------- normalisation, end to end


DIGITS = st.text("0123456789", min_size=10, max_size=10).filter(lambda d: d[0] not in "01")


@st.composite
def customer_pairs(draw) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, dict[str, int]]]:
    """Matched customers whose phone/email/name differ only in format, or really; and the true counts."""
    n = draw(st.integers(1, 25))
    b_rows, e_rows = [], []
    truth = {f: {"format_only": 0, "real": 0} for f in ("phone", "email", "name")}
    for i in range(n):
        digits, user = draw(DIGITS), draw(st.text("abcdefghij", min_size=3, max_size=8))
        first, last = draw(st.text("abcdefgh", min_size=2, max_size=6)), draw(st.text("abcdefgh", min_size=2, max_size=6))
        blaze = {"member_id": f"m{i}", "phone": digits, "email": f"{user}@example.com", "name": f"{first.title()} {last.title()}"}
        existing = dict(blaze)
        for f in truth:
            change = draw(st.sampled_from(["none", "format_only", "real"]))
            if change == "none":
                continue
            truth[f][change] += 1
            if f == "phone":
                other = str((int(digits[-1]) + draw(st.integers(1, 9))) % 10)
                existing[f] = (f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}" if change == "format_only" else digits[:-1] + other)
            elif f == "email":
                existing[f] = (f"  {blaze['email'].upper()} " if change == "format_only" else f"{user}x@example.com")
            else:
                existing[f] = (f" {first.upper()}   {last} " if change == "format_only" else f"{first.title()} {last.title()}e")
        b_rows.append(blaze)
        e_rows.append(existing)
    return pl.DataFrame(e_rows), pl.DataFrame(b_rows), truth


@settings(max_examples=100, deadline=None)
@given(sample=customer_pairs())
def test_the_compare_never_turns_a_real_difference_into_a_match(sample):
    existing, blaze, truth = sample
    result = C.compare({"customers": existing}, {"customers": blaze}, as_of=date(2026, 1, 1), key_fields=["customers.phone"])
    fields = result.summary()["tables"]["customers"]["fields"]
    for f, counts in truth.items():
        assert fields[f]["real"] == counts["real"], (f, fields[f], counts)
        assert fields[f]["format_only"] == counts["format_only"], (f, fields[f], counts)
        assert fields[f]["mismatched"] == counts["real"]
