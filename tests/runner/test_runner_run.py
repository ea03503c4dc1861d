"""``blaze-workbook run``: run folders, run.json, layering, failures, secrets, the index."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat

from blaze_workbook.runner import external_references
from blaze_workbook.runner.secrets_scan import spellings

from .conftest import LEAK_KEY, LEAK_PASSWORD, ProbeRuns


def test_clean_run_writes_its_folder_and_prints_it_last(probe_runs: ProbeRuns):
    run = probe_runs.ok
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.run_dir.parent == probe_runs.home / "reports"
    assert re.fullmatch(r"\d{8}T\d{6}Z-probe", run.run_dir.name)
    for name in ("probe.ipynb", "report.html", "run.json", "key_figures.json", "seen.json"):
        assert (run.run_dir / name).is_file(), name


def test_run_json_records_the_run(probe_runs: ProbeRuns):
    record = probe_runs.ok.record
    assert record["notebook"] == "probe"
    assert record["status"] == "ok" and record["error"] is None
    assert record["duration_s"] > 0
    assert record["start"] < record["end"]
    assert set(record["versions"]) == {"python", "workbook", "polars", "duckdb", "papermill"}
    assert record["key_figures"] == {"rows": 5, "ratio": 0.25, "greeting": "from-cli"}
    assert record["parameters"]["run_dir"] == str(probe_runs.ok.run_dir)
    assert record["parameters"]["fail"] is False  # defaults of the notebook are recorded too


def test_parameters_are_layered_and_typed(probe_runs: ProbeRuns):
    seen = json.loads((probe_runs.ok.run_dir / "seen.json").read_text())
    assert seen["values"] == {
        "greeting": "from-cli",  # -p beats the file's shared key and default.yaml's
        "count": 5,  # the file's section beats default.yaml's section
        "ratio": 0.25,
        "flag": True,  # "yes"
        "as_of": "2026-03-04",  # a YAML date from default.yaml, as an ISO string
        "since": "2026-02-03",  # a None default whose comment says date
        "names": ["x", "y"],  # comma-separated
    }
    assert seen["types"] == ["str", "int", "float", "bool", "str", "str", "list"]


def test_kernel_is_this_interpreter_and_sees_the_home(probe_runs: ProbeRuns):
    seen = json.loads((probe_runs.ok.run_dir / "seen.json").read_text())
    assert os.path.realpath(seen["python"]) == os.path.realpath(sys.executable)
    assert Path(seen["home"]) == probe_runs.home.resolve()


def test_report_hides_code_shows_header_and_is_self_contained(probe_runs: ProbeRuns):
    html = (probe_runs.ok.run_dir / "report.html").read_text()
    assert "report_kit.write_json" not in html  # inputs hidden
    assert "from-cli table" in html  # the great-tables output
    assert "data:image/png;base64," in html  # the inline plot
    assert 'class="bw-run"' in html and "parameters" in html and "since" in html and "2026-02-03" in html
    assert external_references(html) == []
    assert not re.search(r"<script[^>]+src=", html)


def test_executed_notebook_is_the_audit_record(probe_runs: ProbeRuns):
    nb = nbformat.read(probe_runs.ok.run_dir / "probe.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["greeting"] == "from-cli"
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_failed_run_still_reports_and_exits_non_zero(probe_runs: ProbeRuns):
    run = probe_runs.failed
    assert run.exit_code == 1
    assert "cleared a stale workbook lock left by PID" in run.stdout
    assert run.record["stale_lock_cleared"].startswith("PID ")
    assert not (probe_runs.home / "run.lock.pid").exists()
    record = run.record
    assert record["status"] == "failed"
    assert "AssertionError" in record["error"] and "asked to fail" in record["error"]
    html = (run.run_dir / "report.html").read_text()
    assert "asked to fail" in html and "bw-failed" in html
    nb = nbformat.read(run.run_dir / "probe.ipynb", as_version=4)
    assert any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_index_lists_runs_newest_first_with_links(probe_runs: ProbeRuns):
    index = probe_runs.home / "reports" / "index.html"
    html = index.read_text()
    ok, failed = probe_runs.ok.run_dir.name, probe_runs.failed.run_dir.name
    assert html.index(failed) < html.index(ok)
    for folder in (ok, failed):
        assert f'href="{folder}/report.html"' in html
        assert (index.parent / folder / "report.html").is_file()
    assert "rows: 5" in html and "status ok" in html and "status failed" in html
    assert external_references(html) == []


def test_a_printed_secret_leaves_no_trace_anywhere(probe_runs: ProbeRuns):
    run = probe_runs.failed
    assert run.exit_code == 1
    record = run.record
    assert record["status"] == "failed" and "secret value appeared" in record["error"]
    assert {"probe.ipynb", "leak.json", "blob.bin"} <= set(record["secrets_redacted"])
    needles = [form.encode() for secret in (LEAK_KEY, LEAK_PASSWORD) for form in spellings(secret)]
    files = [p for p in probe_runs.home.rglob("*") if p.is_file()]
    assert len(files) >= 12
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), f"secret found in {path}"
    assert "***" in (run.run_dir / "probe.ipynb").read_text()
    assert LEAK_KEY not in run.stdout + run.stderr and LEAK_PASSWORD not in run.stdout + run.stderr
