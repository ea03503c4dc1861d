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
