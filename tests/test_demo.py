"""`blaze-workbook demo` end to end at the tiny scale: every notebook ok, the index path last.

The demo runs once per session (``demo_run`` in ``_fixtures_demo.py``); the browser tests in
``test_reports_browser.py`` open the reports it leaves.
"""

from __future__ import annotations

from blaze_workbook.demo import STEPS


def test_demo_runs_every_notebook_and_prints_the_index_last(demo_run):
    assert demo_run.exit_code == 0, demo_run.output
    assert demo_run.output.strip().splitlines()[-1] == str(demo_run.index)
    records = demo_run.records()
    assert [r["notebook"] for r in records] == [name for name, _ in STEPS]
    assert all(r["status"] == "ok" for r in records)
    assert list(demo_run.reports()) == ["setup", "sync", "compare", "cutover-plan", "cutover-apply", "cutover-rollback"]
    page = demo_run.index.read_text()
    assert "compare" in page and "cutover" in page


def test_the_demo_stops_the_embedded_postgres_it_started_and_only_that(monkeypatch):
    import tempfile
    from pathlib import Path

    from blaze_workbook import pg_embedded, postgres
    from blaze_workbook.demo import _stopping_what_it_starts

    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", tempfile.mkdtemp(prefix="bw-home-"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    said: list[str] = []
    try:
        with _stopping_what_it_starts(said.append):
            postgres.url()  # what the demo's first database step does: starts the embedded server
            assert pg_embedded.running() is not None
        assert pg_embedded.running() is None and said and "stopped the embedded Postgres" in said[0]
        server = pg_embedded.start()  # one running before the demo is left running
        with _stopping_what_it_starts(said.append):
            postgres.url()
        assert pg_embedded.running() == server and len(said) == 1
        assert Path(server.pgdata).is_dir()
    finally:
        pg_embedded.stop()
