"""``blaze-workbook demo --scale tiny``, run once per session through the CLI and shared.

The demo is the one run that leaves a report of every product notebook (setup, sync, compare,
cutover plan, apply and rollback) and the index that links them; it takes over a minute, so
``tests/test_demo.py`` asserts on the run and the browser tests open its pages, from one home.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner


@dataclass(frozen=True)
class DemoRun:
    """What the demo printed and left in its workbook home."""

    home: Path
    exit_code: int
    output: str

    @property
    def index(self) -> Path:
        return self.home / "reports" / "index.html"

    def records(self) -> list[dict]:
        """Every run's ``run.json``, oldest first, with its folder under ``folder``."""
        return [{**json.loads(p.read_text()), "folder": p.parent} for p in sorted((self.home / "reports").glob("*/run.json"))]

    def reports(self) -> dict[str, Path]:
        """``report.html`` by run label: the notebook, and for the cutover its action (``cutover-plan``)."""
        out = {}
        for record in self.records():
            action = (record.get("parameters") or {}).get("action")
            label = record["notebook"] + (f"-{action}" if record["notebook"] == "cutover" and action else "")
            out[label] = record["folder"] / "report.html"
        return out


@pytest.fixture(scope="session")
def demo_run(pg, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    from blaze_workbook.cli import app

    home = (tmp_path_factory.mktemp("demo") / "home").resolve()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BLAZE_WORKBOOK_HOME", str(home))
        mp.setenv("DATABASE_URL", pg.conninfo("postgres"))
        for name in ("BLAZE_BASE_URL", "BLAZE_PARTNER_KEY", "BLAZE_DEVELOPER_KEY"):
            mp.delenv(name, raising=False)
        result = CliRunner().invoke(app, ["demo", "--scale", "tiny"])
    return DemoRun(home, result.exit_code, result.output)
