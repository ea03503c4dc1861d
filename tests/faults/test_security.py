"""Security of the product as users run it: secrets, personal data and SQL (issue 8, "Security").

One runner session serves the secret and personal-data checks (a kernel start costs seconds):
a tiny simulator that accepts only distinctive keys, a generated legacy database reached
through a ``DATABASE_URL`` whose password the server really asks for, and every product
notebook run through ``blaze-workbook run`` with those values set only in the environment:
setup (apply), sync (backfill), compare (masked, then ``mask_pii=false``), cutover plan, apply
and rollback (with a conflict, so the rollback report has values to show), ``status``, and a
sync with keys the simulator refuses (401). Afterwards every byte under the workbook home, the
CLI output, the test process's log records and every row of the database are searched for the
secrets: zero occurrences.

The SQL checks feed ``'; DROP TABLE customers; --`` to every place a name or value reaches SQL
from a parameter; each is refused with a clear error or is inert, and ``customers`` keeps its
rows.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from _fixtures_pg import SEED_ROWS, PgServer, TestDatabase
from _invocation import Invocation, invoke
from _fixtures_sim import tiny_config
from blaze_workbook import compare as C
from blaze_workbook import cutover, legacy, mapping, phase1, postgres
from blaze_workbook.blaze.client import BlazeClient
from blaze_workbook.blaze.limiter import CallBudget
from blaze_workbook.blaze.retry import RetryPolicy
from blaze_workbook.blaze.simulator import serve
from blaze_workbook.blaze.simulator.dataset import Dataset
from blaze_workbook.cli import app
from blaze_workbook.compare.mask import mask_text
from blaze_workbook.compare_report import load_sides
from blaze_workbook.config import BlazeSettings
from blaze_workbook.cutover_report import latest_compare, run_action
from blaze_workbook.errors import AuthError, ConfigurationError, DatabaseError, ServerError, WorkbookError
from blaze_workbook.legacy_gen import generate_legacy, staging_frames
from blaze_workbook.mapping import TABLES
from blaze_workbook.setup_sql import MetricsRules
from blaze_workbook.sync import Warehouse
from blaze_workbook.sync.plan import check_entities, check_mode, parse_since
from blaze_workbook.sync.push import push
from faults._security import (
    DEVELOPER_KEY,
    INJECTION,
    PARTNER_KEY,
    PG_PASSWORD,
    SECRETS,
    WRONG_DEVELOPER_KEY,
    WRONG_PARTNER_KEY,
    needles,
    occurrences,
    scan_home,
    text_forms,
)
from test_compare_notebook import _fill_staging

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]

SEED = 5
PII_COLUMNS = ("name", "phone", "email", "street_address")
#: the value another application writes after the cutover (the rollback keeps it: a conflict)
CONFLICT_PHONE = "+1 (555) 010-4242"
FAST = {"backoff_initial": 0.01, "backoff_max": 0.05, "jitter": 0.01, "max_attempts": 3, "max_total_wait": 10}


# --------------------------------------------------------------------------- the session


@dataclass
class Session:
    home: Path
    db: TestDatabase
    database_url: str
    #: the server refused a wrong password for the role (False only on a DATABASE_URL server that trusts it)
    password_enforced: bool
    runs: dict[str, Invocation]
    log_text: str
    #: raw personal values (legacy and Blaze side) per customers column
    pii: dict[str, set[str]]
    conflict_key: str
    seconds: float
    figures: dict = field(default_factory=dict)


def _cli(args: list[str]) -> Invocation:
    return invoke(app, args)


def _url_for(conninfo: str, user: str, password: str) -> str:
    """A ``postgresql://`` URL for ``conninfo``'s server and database as ``user:password``."""
    parts = conninfo_to_dict(conninfo)
    host, port, dbname = str(parts.get("host") or "localhost"), str(parts.get("port") or 5432), str(parts["dbname"])
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}"
    if host.startswith("/"):
        return f"postgresql://{auth}@/{quote(dbname)}?host={quote(host, safe='/')}&port={port}"
    return f"postgresql://{auth}@{host}:{port}/{quote(dbname)}"


def _refused(url: str, deadline_s: float = 5.0) -> DatabaseError | None:
    """The error a connection to ``url`` ends with, waiting for a pg_hba.conf reload; ``None`` if accepted."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            postgres.connect(url, connect_timeout=3).close()
        except DatabaseError as exc:
            return exc
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


@contextmanager
def _password_role(pg: PgServer, db: TestDatabase) -> Iterator[tuple[str, bool, str]]:
    """``(DATABASE_URL, password enforced, refusal message)`` for a role that logs in with PG_PASSWORD.

    On the embedded server (which trusts local users) pg_hba.conf asks this role for a scram
    password, so the notebooks really use the password. A ``DATABASE_URL`` server whose user may
    not create roles gets the tests' own connection string (no password of ours in it).
    """
    role = f"{pg.prefix}_faults"
    with pg.admin() as admin:
        try:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(sql.Identifier(role), sql.Literal(PG_PASSWORD)))
        except psycopg.errors.InsufficientPrivilege:
            yield db.conninfo, False, ""
            return
    hba = pg.embedded.pgdata / "pg_hba.conf" if pg.embedded is not None else None
    original = hba.read_text() if hba else ""
    try:
        if hba:
            hba.write_text(f"local all {role} scram-sha-256\nhost all {role} all scram-sha-256\n" + original)
            with pg.admin() as admin:
                admin.execute("SELECT pg_reload_conf()")
        refusal = _refused(_url_for(db.conninfo, role, WRONG_PARTNER_KEY))
        yield _url_for(db.conninfo, role, PG_PASSWORD), refusal is not None, str(refusal or "")
    finally:
        if hba:
            hba.write_text(original)
        pg.drop_database(db.name)  # the role owns objects in it
        with pg.admin() as admin:
            admin.execute("SELECT pg_reload_conf()")
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@contextmanager
def _product_logs() -> Iterator[io.StringIO]:
    """Every record of the workbook's loggers in this process, at DEBUG."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("blaze_workbook")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _days_back(sim, days: int) -> str:
    now = datetime.fromtimestamp(sim.dataset.now_ms / 1000, UTC)
    return (now - timedelta(days=days)).astimezone(ZoneInfo(sim.dataset.tz)).date().isoformat()


def _pii_values(conn: psycopg.Connection) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for column in PII_COLUMNS:
        values: set[str] = set()
        for table in ("customers", "customers_blaze_staging"):
            query = sql.SQL("SELECT DISTINCT {c}::text FROM {t} WHERE {c} IS NOT NULL").format(c=sql.Identifier(column), t=sql.Identifier(table))
            values |= {r[0] for r in conn.execute(query).fetchall()}
        out[column] = values
    return out


@pytest.fixture(scope="module")
def session(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    started = time.monotonic()
    tmp = tmp_path_factory.mktemp("security")
    home = tmp / "home"
    ds = Dataset.generate("tiny", SEED)
    db = pg.new_database("empty")
    manifest = generate_legacy(db.conninfo, scale="tiny", seed=SEED, out_dir=tmp / "legacy", dataset=ds)
    config = tiny_config(seed=SEED, rate_limit_calls=0, partner_key=PARTNER_KEY, developer_key=DEVELOPER_KEY)
    tz, as_of = ds.tz, manifest.as_of.isoformat()
    runs: dict[str, Invocation] = {}
    with serve(config, dataset=ds) as sim, _password_role(pg, db) as (url, enforced, refusal), _product_logs() as logs, \
            pytest.MonkeyPatch.context() as mp:
        for name, value in (("BLAZE_BASE_URL", sim.url), ("BLAZE_PARTNER_KEY", PARTNER_KEY), ("BLAZE_DEVELOPER_KEY", DEVELOPER_KEY),
                            ("DATABASE_URL", url), ("BLAZE_WORKBOOK_HOME", str(home))):
            mp.setenv(name, value)
        runs["setup"] = _cli(["run", "setup", "-p", "apply=true", "-p", f"timezone={tz}"])
        runs["sync"] = _cli(["run", "sync", "-p", "mode=backfill", "-p", f"since={_days_back(sim, 7)}", "-p", "force=true",
                             "-p", f"timezone={tz}"])
        with db.connect() as conn:  # staging as a full sync leaves it: every customer has a Blaze side
            for t in TABLES:
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(t.staging)))
            _fill_staging(conn, staging_frames(sim.truth(), tz))
            conn.commit()
            pii = _pii_values(conn)
        compare = ["run", "compare", "-p", f"as_of={as_of}", "-p", f"timezone={tz}"]
        runs["compare"] = _cli(compare)
        runs["compare_unmasked"] = _cli([*compare, "-p", "mask_pii=false"])
        runs["plan"] = _cli(["run", "cutover"])
        runs["apply"] = _cli(["run", "cutover", "-p", "action=apply", "-p", "force=true", "-p", "steps=safe_fields"])
        with db.connect() as conn:  # another application edits a value the cutover wrote
            key = conn.execute("SELECT key FROM cutover_backup WHERE table_name = 'customers' AND column_name = 'phone' "
                               "ORDER BY key LIMIT 1").fetchone()[0]
            conn.execute("UPDATE customers SET phone = %s WHERE member_id = %s", (CONFLICT_PHONE, key))
            conn.commit()
        runs["rollback"] = _cli(["run", "cutover", "-p", "action=rollback"])
        runs["status"] = _cli(["status"])
        mp.setenv("BLAZE_PARTNER_KEY", WRONG_PARTNER_KEY)
        mp.setenv("BLAZE_DEVELOPER_KEY", WRONG_DEVELOPER_KEY)
        runs["sync_401"] = _cli(["run", "sync", "-p", "mode=backfill", "-p", f"since={_days_back(sim, 2)}", "-p", "force=true",
                                 "-p", "entities=members", "-p", "push=false", "-p", f"timezone={tz}"])
        mp.setenv("BLAZE_PARTNER_KEY", PARTNER_KEY)
        mp.setenv("BLAZE_DEVELOPER_KEY", DEVELOPER_KEY)
        yield Session(home, db, url, enforced, runs, logs.getvalue(), pii, key, time.monotonic() - started,
                      {"refusal": refusal, "sim": sim, "tz": tz})


NOTEBOOK_RUNS = ("setup", "sync", "compare", "compare_unmasked", "plan", "apply", "rollback")


# --------------------------------------------------------------------------- secrets


def test_every_notebook_ran_through_the_runner_clean(session: Session):
    for name in NOTEBOOK_RUNS:
        run = session.runs[name]
        assert run.exit_code == 0, (name, run.stdout[-2000:], run.stderr[-2000:])
        assert run.record["status"] == "ok" and run.record["secrets_redacted"] == [], name  # nothing the scrubber hid
    assert {session.runs[n].record["notebook"] for n in NOTEBOOK_RUNS} == {"setup", "sync", "compare", "cutover"}
    assert json.loads((session.runs["rollback"].run_dir / "key_figures.json").read_text())["conflicts"] == 1
    assert session.runs["status"].exit_code == 0 and "customers_blaze_staging" in session.runs["status"].stdout


def test_no_secret_in_any_file_under_the_home(session: Session):
    scan = scan_home(session.home, SECRETS)
    print(f"FIGURES secrets: files={scan.files} bytes={scan.bytes} decoded_bytes={scan.decoded_bytes} "
          f"duckdb_rows={scan.duckdb_rows} raw_bodies={scan.raw_bodies} occurrences={scan.occurrences} "
          f"session_s={session.seconds:.1f}")
    assert scan.hits == {}
    # the scan had teeth: every kind of file was there and read
    names = {p.name for p in session.home.rglob("*")}
    assert {"warehouse.duckdb", "run.json", "report.html", "index.html", "cutover.sql", "rollback.sql", "compare_summary.json",
            "sync_summary.json", "discrepancies.parquet", "setup.sql"} <= names
    assert scan.duckdb_rows > 100 and scan.raw_bodies > 10 and scan.files >= 40


def test_no_secret_in_cli_output_or_logs(session: Session):
    wanted = needles(SECRETS)
    texts = {f"{name} stdout": run.stdout for name, run in session.runs.items()}
    texts |= {f"{name} stderr": run.stderr for name, run in session.runs.items()}
    texts["logs"] = session.log_text
    found = {where: [s for n, s in wanted.items() if n.decode() in text] for where, text in texts.items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_no_secret_in_any_row_of_the_database(session: Session):
    wanted = needles(SECRETS)
    rows = 0
    with session.db.connect() as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]
        for table in tables:
            text = "\n".join(r[0] for r in conn.execute(sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(table))).fetchall())
            rows += text.count("\n") + 1
            assert not [s for n, s in wanted.items() if n.decode() in text], table
    assert "cutover_runs" in tables and rows > 1000


def test_the_database_really_asked_for_the_password(session: Session, pg: PgServer):
    if pg.embedded is None:
        pytest.skip("a DATABASE_URL server: its authentication is its own")
    assert PG_PASSWORD in session.database_url and session.password_enforced
    refusal = session.figures["refusal"]
    assert "refused the credentials" in refusal and WRONG_PARTNER_KEY not in refusal and PG_PASSWORD not in refusal


def test_refused_keys_fail_the_run_naming_the_variables_not_the_values(session: Session):
    run = session.runs["sync_401"]
    assert run.exit_code == 1 and run.record["status"] == "failed" and run.record["secrets_redacted"] == []
    text = run.report() + run.notebook() + json.dumps(run.record) + run.stdout + run.stderr
    assert "401" in text and "BLAZE_PARTNER_KEY" in text and "BLAZE_DEVELOPER_KEY" in text
    assert not [s for n, s in needles(SECRETS).items() if n.decode() in text]


def _chain_text(exc: BaseException) -> str:
    """Everything an exception can show: its message, repr, hint, and the whole traceback chain."""
    return "\n".join([str(exc), repr(exc), getattr(exc, "hint", ""), *traceback.format_exception(exc)])


def test_httpx_errors_never_echo_headers_or_keys(session: Session, caplog: pytest.LogCaptureFixture):
    sim = session.figures["sim"]
    caplog.set_level(logging.DEBUG)
    policy = RetryPolicy(budget=CallBudget(), **FAST)
    wrong = BlazeSettings(sim.url, WRONG_PARTNER_KEY, WRONG_DEVELOPER_KEY)
    with BlazeClient(wrong, policy=policy, connect_timeout=2, read_timeout=5) as client, pytest.raises(AuthError) as refused:
        list(client.iter_pages("members"))
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    right = BlazeSettings(closed, PARTNER_KEY, DEVELOPER_KEY)
    with BlazeClient(right, policy=policy, connect_timeout=2, read_timeout=5) as client, pytest.raises(ServerError) as unreachable:
        list(client.iter_pages("members"))
    for info, needle in ((refused, "401"), (unreachable, "127.0.0.1")):
        text = _chain_text(info.value) + caplog.text
        assert needle in text
        assert not [s for n, s in needles(SECRETS).items() if n.decode() in text]
        for header in ("partner_key:", "x-api-key:", "authorization:"):
            assert header not in text.lower()


_STR_PARAM = {"setup": "timezone", "sync": "mode", "compare": "timezone", "cutover": "action"}


@pytest.mark.parametrize("notebook", list(_STR_PARAM))
def test_product_notebooks_refuse_secret_parameters_before_anything_runs(notebook, tmp_path, monkeypatch):
    """Names that look like secrets, and configured secret values under any name: exit 2, nothing written."""
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(tmp_path))
    monkeypatch.setenv("BLAZE_PARTNER_KEY", PARTNER_KEY)
    monkeypatch.setenv("BLAZE_DEVELOPER_KEY", DEVELOPER_KEY)
    for args, message in (
        (["-p", f"partner_key={PARTNER_KEY}"], "look like secrets"),
        (["-p", "database_url=postgresql://x:y@h/d"], "look like secrets"),
        (["-p", f"{_STR_PARAM[notebook]}={DEVELOPER_KEY}"], "holds a configured secret value"),
    ):
        run = _cli(["run", notebook, *args])
        assert run.exit_code == 2 and message in run.stderr, (args, run.stderr)
        assert PARTNER_KEY not in run.stderr + run.stdout and DEVELOPER_KEY not in run.stderr + run.stdout
    assert not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------- personal data


def _pii_forms(session: Session, *columns: str) -> set[str]:
    return text_forms(v for c in (columns or PII_COLUMNS) for v in session.pii[c])


def test_the_compare_report_masks_personal_data_by_default(session: Session):
    run = session.runs["compare"]
    assert run.record["parameters"]["mask_pii"] is True
    page, notebook = run.report(), run.notebook()
    assert "are masked" in page and "mask_pii = false" not in page and "UNMASKED" not in page
    forms = _pii_forms(session)
    assert len(forms) > 300  # the check has teeth
    assert occurrences(page, forms) == {} and occurrences(notebook, forms) == {}


def test_mask_pii_false_shows_personal_data_and_says_so(session: Session):
    run = session.runs["compare_unmasked"]
    page = run.report()
    assert "mask_pii = false: this report shows personal data" in page and "UNMASKED" in page
    found = pl.read_parquet(run.run_dir / "discrepancies.parquet").filter(pl.col("table") == "customers")
    fields = set(found["field"].unique()) & set(PII_COLUMNS)
    assert {"name", "phone", "email"} <= fields
    shown = {column: sum(occurrences(page, _pii_forms(session, column)).values()) for column in sorted(fields)}
    print(f"FIGURES pii: unmasked values shown per field {shown}")
    assert all(n > 0 for n in shown.values()), shown


def test_no_other_report_or_notebook_shows_personal_data(session: Session):
    forms = _pii_forms(session)
    for name in ("setup", "sync", "compare", "plan", "apply", "rollback", "sync_401"):
        run = session.runs[name]
        assert occurrences(run.report(), forms) == {}, name
        assert occurrences(run.notebook(), forms) == {}, name


def test_the_rollback_conflict_is_shown_masked(session: Session):
    page = session.runs["rollback"].report()
    assert "Conflicts kept as they are now" in page and session.conflict_key in page
    shape = pl.select(mask_text(pl.lit(CONFLICT_PHONE))).item()  # the compare report's masking
    assert CONFLICT_PHONE not in page and shape in page


# --------------------------------------------------------------------------- SQL injection


@dataclass
class Target:
    db: TestDatabase
    tmp: Path
    warehouse: Warehouse
    monkeypatch: pytest.MonkeyPatch

    def conn(self) -> psycopg.Connection:
        return self.db.connect()


@pytest.fixture(scope="module")
def injection_db(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestDatabase, Warehouse]]:
    """A legacy database with Phase 1 applied, and a warehouse holding one member, for the attempts."""
    db = pg.new_database("legacy")
    with db.connect() as conn:
        phase1.apply(conn)
    sample = json.loads((Path(__file__).parents[1] / "sync" / "data" / "members.json").read_text())["values"][0]
    record = sample | {"id": INJECTION, "firstName": INJECTION, "lastName": "x", "email": INJECTION, "primaryPhone": INJECTION}
    record["address"] = (record.get("address") or {}) | {"address": INJECTION}
    with Warehouse.open(tmp_path_factory.mktemp("inj") / "w.duckdb") as wh:
        wh.ingest("inj-run", "members", json.dumps({"values": [record], "skip": 0, "limit": 100, "total": 1}).encode())
        yield db, wh
    pg.drop_database(db.name)


@pytest.fixture()
def target(injection_db, tmp_path, monkeypatch) -> Target:
    db, wh = injection_db
    monkeypatch.setenv("DATABASE_URL", db.conninfo)
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(tmp_path / "home"))
    return Target(db, tmp_path, wh, monkeypatch)


def _compare_with_key_field(t: Target) -> None:
    with t.conn() as conn:
        sides = load_sides(conn)
    result = C.compare(sides.existing, sides.blaze, as_of=datetime(2026, 1, 1).date(), key_fields=[f"customers.{INJECTION}"])
    assert not result.gate.passed and result.gate.reasons == {f"customers.{INJECTION}": "not compared"}


def _pushed_values_are_literal(t: Target) -> None:
    counts = push(t.warehouse, t.db.conninfo, tables=["customers_blaze_staging"], full=True)
    assert counts["customers_blaze_staging"].inserted >= 1
    with t.conn() as conn:
        row = conn.execute("SELECT name, email, phone, street_address FROM customers_blaze_staging WHERE member_id = %s",
                           (INJECTION,)).fetchone()
    assert row == (f"{INJECTION} x", INJECTION, INJECTION, INJECTION)


def _setup_sql_comment_holds_a_newline_schema(t: Target) -> None:
    schema = "odd\nDROP TABLE customers; --"
    with t.conn() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        legacy.create_schema(conn, schema)
        conn.commit()
        script = phase1.plan(conn, schema=schema).script()
    header = script.split("\nBEGIN;\n", 1)[0].splitlines()
    assert all(line.startswith("--") or not line.strip() for line in header), header


def _cli_date(t: Target) -> None:
    run = _cli(["run", "compare", "-p", f"as_of={INJECTION}"])
    assert run.exit_code == 2 and "'as_of' wants an ISO date" in run.stderr
    assert not (t.tmp / "home" / "reports").exists()


def _raises(error: type[Exception], fragment: str, call: Callable[[Target], object]) -> Callable[[Target], None]:
    def attempt(t: Target) -> None:
        with pytest.raises(error) as info:
            call(t)
        assert fragment in str(info.value), str(info.value)
        assert isinstance(info.value, WorkbookError)
    return attempt


def _with_conn(fn: Callable[[psycopg.Connection], object]) -> Callable[[Target], object]:
    def call(t: Target) -> object:
        with t.conn() as conn:
            return fn(conn)
    return call


ATTEMPTS: dict[str, Callable[[Target], None]] = {
    "schema: 01_setup plan": _raises(DatabaseError, "does not exist", _with_conn(lambda c: phase1.plan(c, schema=INJECTION))),
    "schema: 01_setup apply": _raises(DatabaseError, "does not exist", _with_conn(lambda c: phase1.apply(c, schema=INJECTION))),
    "schema: cutover plan": _raises(WorkbookError, "", lambda t: _with_conn(lambda c: cutover.plan(c, t.tmp / "c", schema=INJECTION))(t)),
    "schema: sync push": _raises(DatabaseError, "", lambda t: push(t.warehouse, t.db.conninfo, schema=INJECTION)),
    "schema: compare load": _raises(DatabaseError, "", _with_conn(lambda c: C.existing_from_postgres(c, schema=INJECTION))),
    "table: mapping": _raises(ConfigurationError, "unknown table", lambda t: mapping.table(INJECTION)),
    "table: sync push": _raises(ConfigurationError, "unknown table", lambda t: push(t.warehouse, t.db.conninfo, tables=[INJECTION])),
    "table: compare load": _raises(ConfigurationError, "unknown table", _with_conn(lambda c: C.existing_from_postgres(c, tables=[INJECTION]))),
    "key field without a table": _raises(ConfigurationError, "table.field", lambda t: C.evaluate_gate({}, key_fields=[INJECTION])),
    "key field: compare (inert, gate fails)": _compare_with_key_field,
    "steps entry: cutover plan": _raises(ConfigurationError, "unknown cutover step",
                                         lambda t: _with_conn(lambda c: cutover.plan(c, t.tmp / "c", steps=[INJECTION]))(t)),
    "date: sync since": _raises(ConfigurationError, "ISO date", lambda t: parse_since(INJECTION)),
    "date: compare as_of through the runner": _cli_date,
    "compare_run: cutover plan": _raises(ConfigurationError, "no compare_summary.json", lambda t: latest_compare(INJECTION)),
    "compare_run: cutover notebook action": _raises(ConfigurationError, "no compare_summary.json",
                                                    lambda t: run_action("plan", t.tmp / "run", compare_run=INJECTION)),
    "run: cutover rollback": _raises(ConfigurationError, "no applied cutover run", _with_conn(lambda c: cutover.rollback(c, INJECTION))),
    "timezone: metrics view": _raises(ConfigurationError, "unknown time zone", lambda t: MetricsRules(timezone=INJECTION)),
    "lock_timeout: 01_setup": _raises(ConfigurationError, "lock_timeout", _with_conn(lambda c: phase1.plan(c, lock_timeout=INJECTION))),
    "entities: sync": _raises(ConfigurationError, "unknown entity", lambda t: check_entities([INJECTION])),
    "mode: sync": _raises(ConfigurationError, "unknown sync mode", lambda t: check_mode(INJECTION)),
    "source: compare": _raises(WorkbookError, "", _with_conn(lambda c: load_sides(c, INJECTION))),
    "values: a member pushed to staging (inert)": _pushed_values_are_literal,
    "schema with a newline: setup.sql header": _setup_sql_comment_holds_a_newline_schema,
}


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_sql_in_parameters_is_refused_or_inert(name: str, target: Target):
    ATTEMPTS[name](target)
    with target.conn() as conn:
        assert conn.execute("SELECT to_regclass('public.customers') IS NOT NULL").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == SEED_ROWS["customers"]
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'customers'").fetchone()[0] == 1
