"""`blaze-workbook demo` end to end at the tiny scale: every notebook ok, the index path last."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from blaze_workbook.cli import app
from blaze_workbook.demo import STEPS


def test_demo_runs_every_notebook_and_prints_the_index_last(pg, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(home))
    monkeypatch.setenv("DATABASE_URL", pg.conninfo("postgres"))
    for name in ("BLAZE_BASE_URL", "BLAZE_PARTNER_KEY", "BLAZE_DEVELOPER_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["demo", "--scale", "tiny"])
    assert result.exit_code == 0, result.output
    index = home.resolve() / "reports" / "index.html"
    assert result.output.strip().splitlines()[-1] == str(index)
    runs = sorted((home / "reports").glob("*/run.json"))
    assert [json.loads(p.read_text())["notebook"] for p in runs] == [name for name, _ in STEPS]
    assert all(json.loads(p.read_text())["status"] == "ok" for p in runs)
    page = index.read_text()
    assert "compare" in page and "cutover" in page
