"""Connection access on a real Postgres: the embedded server's life, clear errors, inert names."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy
from psycopg import sql
from psycopg.conninfo import make_conninfo

from blaze_workbook import introspect, pg_embedded, postgres
from blaze_workbook.errors import ConfigurationError, DatabaseError, WorkbookError
from blaze_workbook.redact import MASK

SECRET = "hunter2-Secret-pw"
INJECTION = "'; DROP TABLE customers; --"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_clean(exc: WorkbookError) -> None:
    """A message and a hint, and no secret anywhere."""
    assert exc.hint
    for text in (str(exc), repr(exc), exc.message, exc.hint):
        assert SECRET not in text


def test_embedded_server_lifecycle(monkeypatch, capsys):
    """Started on demand under the home, attached to by a second process, stopped cleanly, data kept."""
    home = Path(tempfile.mkdtemp(prefix="bw-home-"))
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    try:
        with postgres.connect() as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "workbook"
            conn.execute("CREATE TABLE kept (x int)")
            conn.execute("INSERT INTO kept VALUES (42)")
            conn.commit()
        server = pg_embedded.running()
        assert server is not None and server.pgdata == (home / "postgres").resolve()

        # a second process attaches to the same server, and leaves it running when it exits
        out = subprocess.run(
            [sys.executable, "-c", "from blaze_workbook import pg_embedded; print(pg_embedded.start().pid)"],
            capture_output=True, text=True, check=True, env={**os.environ, "BLAZE_WORKBOOK_HOME": str(home)},
        )
        assert int(out.stdout.strip().splitlines()[-1]) == server.pid
        assert pg_embedded.running() == server
        assert pg_embedded.main(["status"]) == 0
        assert f"running (pid {server.pid})" in capsys.readouterr().out

        assert postgres.stop() is True
        assert pg_embedded.running() is None
        assert postgres.stop() is False
        assert pg_embedded.main(["status"]) == 0
        assert "not running" in capsys.readouterr().out

        # the next use starts it again, with the data of before
        with postgres.connect() as conn:
            assert conn.execute("SELECT x FROM kept").fetchone()[0] == 42
        assert pg_embedded.main(["stop"]) == 0
        assert "stopped" in capsys.readouterr().out
    finally:
        pg_embedded.stop(home / "postgres")
        shutil.rmtree(home, ignore_errors=True)


def test_database_url_wins(monkeypatch, legacy_db):
    monkeypatch.setenv("DATABASE_URL", legacy_db.conninfo)
    assert postgres.url() == legacy_db.conninfo
    with postgres.connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == legacy_db.name
    tables = sqlalchemy.inspect(postgres.engine()).get_table_names()
    assert set(tables) == {"customers", "transactions", "transaction_items", "products"}


def test_engine_uses_the_psycopg_dialect(legacy_db):
    eng = legacy_db.engine()
    assert eng.dialect.name == "postgresql" and eng.dialect.driver == "psycopg"
    with eng.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT count(*) FROM customers")).scalar_one() == 4


def test_display_url_masks_the_password(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://shop:{SECRET}@db.example:5432/shop")
    assert SECRET not in postgres.display_url()
    assert MASK in postgres.display_url()
    assert postgres.describe(postgres.url()) == "shop@db.example:5432/shop"


def test_unreachable_server_is_a_clear_error():
    port = _free_port()
    with pytest.raises(DatabaseError) as info:
        postgres.connect(f"postgresql://shop:{SECRET}@127.0.0.1:{port}/shop", connect_timeout=3)
    assert "cannot reach Postgres" in info.value.message
    assert f"127.0.0.1:{port}" in info.value.message
    assert "start the server" in info.value.hint
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    _assert_clean(info.value)


def test_unreachable_database_url_names_the_variable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://shop:{SECRET}@127.0.0.1:{_free_port()}/shop")
    with pytest.raises(DatabaseError) as info:
        postgres.connect(connect_timeout=3)
    assert "DATABASE_URL" in info.value.hint
    _assert_clean(info.value)


def test_missing_database_is_a_clear_error(pg):
    with pytest.raises(DatabaseError) as info:
        postgres.connect(pg.conninfo("no_such_database_here"))
    assert "database 'no_such_database_here' does not exist" in info.value.message
    assert "createdb no_such_database_here" in info.value.hint
    _assert_clean(info.value)


def test_bad_credentials_are_a_clear_error(pg):
    user = "bw_pw_user"
    with pg.admin() as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))
        try:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal("right-password")))
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the DATABASE_URL user may not create roles")
        if pg.embedded is not None:  # the embedded server trusts local users: ask this one for a password
            hba = pg.embedded.pgdata / "pg_hba.conf"
            hba.write_text(f"local all {user} scram-sha-256\n" + hba.read_text())
            admin.execute("SELECT pg_reload_conf()")
    try:
        bad = make_conninfo(pg.conninfo("postgres"), user=user, password=SECRET)
        deadline = time.monotonic() + 5
        while True:
            try:
                postgres.connect(bad).close()
            except DatabaseError as exc:
                error = exc
                break
            if pg.embedded is None:
                pytest.skip("the DATABASE_URL server accepts this user without a password")
            assert time.monotonic() < deadline, "pg_hba.conf reload did not take effect"
            time.sleep(0.1)
        assert f"refused the credentials of user '{user}'" in error.message
        assert "password" in error.hint
        _assert_clean(error)
    finally:
        if pg.embedded is not None:
            hba = pg.embedded.pgdata / "pg_hba.conf"
            hba.write_text("".join(line for line in hba.read_text().splitlines(keepends=True) if user not in line))
        with pg.admin() as admin:
            admin.execute("SELECT pg_reload_conf()")
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def test_unparseable_connection_string_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="not a valid Postgres connection string"):
        postgres.connect("this is not = a url = at all")


def test_missing_table_and_column_are_clear_errors(legacy_db):
    with legacy_db.connect() as conn:
        with pytest.raises(DatabaseError) as info:
            introspect.row_counts(conn, ["customer"])
        assert 'relation "public.customer" does not exist' in info.value.message
        assert "DATABASE_URL" in info.value.hint
        with pytest.raises(DatabaseError) as info:
            with postgres.translated("reading customers"):
                conn.execute("SELECT loyalty_tier FROM customers")
        assert info.value.message.startswith("reading customers: column \"loyalty_tier\" does not exist")
        assert "missing" in info.value.hint
        assert isinstance(info.value.__cause__, psycopg.errors.UndefinedColumn)


def test_sql_injection_in_names_is_inert(legacy_db):
    """Names are composed as identifiers: the attack is just a name that does not exist."""
    with legacy_db.connect() as conn:
        with pytest.raises(DatabaseError, match="does not exist"):
            introspect.row_counts(conn, [INJECTION])
        with pytest.raises(DatabaseError, match="does not exist"):
            introspect.row_counts(conn, ["customers"], schema=INJECTION)
        with pytest.raises(DatabaseError, match="does not exist"):
            introspect.fingerprint(conn, INJECTION, ["id"], ["id"])
        assert postgres.qualified("public", INJECTION).as_string(conn) == '"public"."\'; DROP TABLE customers; --"'
        assert introspect.row_counts(conn, ["customers"]) == {"customers": 4}
