"""notebooks/01_setup/setup.ipynb through the runner, against the simulator and a legacy database.

Three runs in one home and one database: ``apply=false`` (plans, writes setup.sql, creates
nothing), ``apply=true`` (creates Phase 1), ``apply=true`` again (no change). Each run costs a
kernel start and ~20 API calls, so the runs are made once and shared by the tests below.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY
from blaze_workbook.errors import ConfigurationError
from blaze_workbook.introspect import inspect_database
from blaze_workbook.runner import RunResult, run_notebook

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SetupRuns:
    plan: RunResult
    applied: RunResult
    again: RunResult
    #: Phase 1 state of the database after each run
    states: tuple[str, str, str]
    #: members and employees of the first batch as the API sent them
    members: list[dict]
    employees: list[dict]


@pytest.fixture(scope="module")
def setup_runs(sim, pg, tmp_path_factory: pytest.TempPathFactory) -> SetupRuns:
    import httpx

    db = pg.new_database("legacy")
    home = tmp_path_factory.mktemp("setup") / "home"
    env = {"BLAZE_BASE_URL": sim.url, "BLAZE_PARTNER_KEY": DEMO_PARTNER_KEY, "BLAZE_DEVELOPER_KEY": DEMO_DEVELOPER_KEY,
           "DATABASE_URL": db.conninfo}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        results, states = [], []
        # the later runs probe fewer records: the masking check has the first run's 100 members
        for params in ({"apply": "false"}, {"apply": "true", "probe_limit": "20"}, {"apply": "true", "probe_limit": "20"}):
            results.append(run_notebook("setup", params=params, home=home))
            states.append(inspect_database(db.engine(), counts=False).phase1)
    headers = {"partner_key": DEMO_PARTNER_KEY, "Authorization": DEMO_DEVELOPER_KEY}
    with httpx.Client(base_url=sim.api_url, headers=headers, timeout=30) as http:
        members = http.get("/members", params={"limit": 100}).json()["values"]
        employees = http.get("/employees", params={"limit": 100}).json()["values"]
    yield SetupRuns(*results, tuple(states), members, employees)
    pg.drop_database(db.name)


def _figures(run: RunResult) -> dict:
    return json.loads((run.run_dir / "key_figures.json").read_text())


def test_every_run_is_clean_and_leaves_its_files(setup_runs: SetupRuns):
    for run in (setup_runs.plan, setup_runs.applied, setup_runs.again):
        assert run.ok, run.error
        for name in ("setup.sql", "probe.json", "report.html", "key_figures.json", "setup.ipynb", "run.json"):
            assert (run.run_dir / name).is_file(), name
        assert run.record["secrets_redacted"] == []


def test_apply_false_plans_and_creates_nothing(setup_runs: SetupRuns):
    figures = _figures(setup_runs.plan)
    assert figures["phase1_status"] == "planned"
    assert figures["objects_created"] == 0 and figures["objects_to_create"] > 0
    assert setup_runs.states[0] == "not started"
    script = (setup_runs.plan.run_dir / "setup.sql").read_text()
    assert "CREATE TABLE IF NOT EXISTS" in script and "customers_blaze_staging" in script
    assert "will be created" in script
    assert setup_runs.plan.record["parameters"]["apply"] is False


def test_apply_true_creates_phase1_then_changes_nothing(setup_runs: SetupRuns):
    applied, again = _figures(setup_runs.applied), _figures(setup_runs.again)
    assert applied["phase1_status"] == "applied"
    assert applied["objects_created"] == _figures(setup_runs.plan)["objects_to_create"]
    assert setup_runs.states[1] == "complete"
    assert again["phase1_status"] == "no change" and again["objects_created"] == 0
    assert setup_runs.states[2] == "complete"
    assert "no change" in (setup_runs.again.run_dir / "report.html").read_text()
    assert "will be created" not in (setup_runs.again.run_dir / "setup.sql").read_text()


def test_key_figures_and_probe_json(setup_runs: SetupRuns):
    figures = _figures(setup_runs.plan)
    assert figures["endpoints_ok"] == "12/12"
    assert 15 <= figures["calls_used"] <= 25
    assert figures["timezone"] == "America/Los_Angeles"
    assert setup_runs.plan.record["key_figures"] == figures
    probe = json.loads((setup_runs.plan.run_dir / "probe.json").read_text())
    assert probe["calls_used"] == figures["calls_used"]
    assert set(probe["answers"]) >= {"lookups", "staff", "loyalty", "header", "seven_day_rule", "page_cap", "date_formats"}
    questions = [q["question"] for q in probe["plan_questions"]]
    assert len(questions) == 5 and any("rollback" in q for q in questions)
    assert probe["first_batch"]["summary"][0]["stored"] == 100


def test_report_answers_the_questions(setup_runs: SetupRuns):
    page = (setup_runs.plan.run_dir / "report.html").read_text()
    for text in ("Do vendor/category lookup endpoints exist?", "Do staff lookup endpoints exist?",
                 "the loyalty points endpoint structure?", "Date range cannot exceed 7 days",
                 "Both names are accepted"):
        assert text in page, text


def test_report_shows_the_first_batch_masked(setup_runs: SetupRuns):
    # the later runs show the first 20 of the same members: the first run's report covers them
    pages = [(setup_runs.plan.run_dir / name).read_text() for name in ("report.html", "probe.json")]
    raw: set[str] = set()
    for m in setup_runs.members:
        raw |= {m.get("email") or "", m.get("primaryPhone") or "", f"{m.get('firstName', '')} {m.get('lastName', '')}".strip()}
        raw.add((m.get("address") or {}).get("address") or "")
    for e in setup_runs.employees:
        raw.add(f"{e.get('firstName', '')} {e.get('lastName', '')}".strip())
    raw = {v for v in raw if isinstance(v, str) and len(v) >= 6 and v.strip("0+-() .") != ""}
    assert len(raw) > 150  # the check has teeth
    spellings = {form for v in raw for form in (v, html.escape(v), json.dumps(v)[1:-1])}
    pattern = re.compile("|".join(re.escape(f) for f in sorted(spellings, key=len, reverse=True)))
    for page in pages:
        assert pattern.findall(page) == []
    assert "•••@•••." in pages[0]  # masked emails are shown


def test_without_base_url_the_settings_cell_fails_with_the_configuration_message(monkeypatch):
    """The notebook's own cells up to the settings one, executed here (a kernel start costs ~10 s)."""
    monkeypatch.delenv("BLAZE_BASE_URL", raising=False)
    monkeypatch.setenv("BLAZE_PARTNER_KEY", DEMO_PARTNER_KEY)
    monkeypatch.setenv("BLAZE_DEVELOPER_KEY", DEMO_DEVELOPER_KEY)
    nb = json.loads((REPO / "notebooks" / "01_setup" / "setup.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    upto = next(i for i, source in enumerate(code) if "BlazeSettings.from_env()" in source)
    namespace: dict = {}
    exec("\n".join(code[:upto]), namespace)  # parameters and imports
    with pytest.raises(ConfigurationError) as caught:
        exec(code[upto], namespace)
    assert str(caught.value).startswith("missing environment variable(s): BLAZE_BASE_URL (set them in the environment")
