"""Every product notebook's report, and the index, opened in headless Chromium from the demo run.

Each page must load offline without a console error and pass :func:`_browser.check_page`
(inline decoded images, no code, no traceback, nothing wider than a 1280 px window, no unmasked
e-mail or phone); then what a reviewer decides on must be there: the probe and the masked
first batch (setup), one final line per progress bar (sync), the gate verdict and the plots
(compare), and each cutover step with a real value before and after (plan, apply), or the
rollback's outcome. A full-page screenshot of each lands in the artefact folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from _browser import Browser, artifacts, check_page, needs_chromium, open_browser, page_facts, unmasked_pii

pytestmark = needs_chromium

REPORTS = ("setup", "sync", "compare", "cutover-plan", "cutover-apply", "cutover-rollback")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    yield from open_browser(tmp_path_factory.mktemp("chromium-profile"))


def _load(browser: Browser, page: Path, shot: str) -> dict:
    browser.open(page.as_uri())
    browser.screenshot(artifacts() / shot)
    facts = page_facts(browser)
    assert check_page(facts, requested=browser.requested_urls(), errors=browser.errors()) == []
    return facts


def _cells(browser: Browser, table_title: str, column: str) -> list[str]:
    """The texts of ``column`` in the great-tables table titled ``table_title``."""
    return browser.evaluate(
        "Array.from(document.querySelectorAll('table.gt_table')).filter(t => (t.querySelector('.gt_title') || {}).innerText"
        f" === {table_title!r}).flatMap(t => Array.from(t.querySelectorAll('td[headers~=\"{column}\"]')).map(c => c.innerText))"
    )


@pytest.mark.parametrize("label", REPORTS)
def test_report_renders_offline_and_holds_what_a_reviewer_decides_on(browser: Browser, demo_run, label: str):
    assert demo_run.exit_code == 0, demo_run.output
    record = next(r for r in demo_run.records() if demo_run.reports().get(label) == r["folder"] / "report.html")
    facts = _load(browser, demo_run.reports()[label], f"report-{label}.png")
    header = facts["header"]
    assert f"{record['notebook']} run" in header and "ok" in header and "parameters" in header
    assert f"{record['duration_s']:.1f} s" in header and "started" in header and "ended" in header
    assert all(name in header for name in record["parameters"]) and all(name in header for name in record["key_figures"])
    text = facts["text"]
    getattr(_CHECKS, label.replace("-", "_"))(browser, facts, text, record)


class _CHECKS:
    """What each report must show beyond the common checks, against the run's own figures."""

    @staticmethod
    def setup(browser: Browser, facts: dict, text: str, record: dict) -> None:
        assert {"Endpoint probe", "Phase-1 steps", "First batch", "Members → customers_blaze_staging"} <= set(facts["tables"])
        assert f"{record['key_figures']['endpoints_ok']} endpoints answered" in text
        phones = _cells(browser, "Members → customers_blaze_staging", "phone")
        emails = _cells(browser, "Members → customers_blaze_staging", "email")
        assert len(phones) == 10 and all(re.fullmatch(r"•{7,}\d\d", p) for p in phones if p not in ("", "—"))
        assert all(re.fullmatch(r".•••@•••(\.\w+)?", e) for e in emails if e not in ("", "—"))
        # time stamps to the second, on one line
        stamps = _cells(browser, "Members → customers_blaze_staging", "blaze_modified")
        assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", s) for s in stamps)

    @staticmethod
    def sync(browser: Browser, facts: dict, text: str, record: dict) -> None:
        assert {"Entities", "API calls and cost"} <= set(facts["tables"])
        assert f"{record['key_figures']['api_calls']:,}" in text
        bars = "\n".join(facts["stderr"]).splitlines()
        # each progress bar once, in its final state: redraws are not kept as lines of their own
        assert bars and all("100%" in line for line in bars if "%|" in line)
        # the entities run side by side and share a bar: each is named in exactly one bar line
        described = [b.split(":", 1)[0].split("+") for b in bars if "%|" in b]
        assert sorted(e for names in described for e in names) == sorted(record["parameters"]["entities"]), bars

    @staticmethod
    def compare(browser: Browser, facts: dict, text: str, record: dict) -> None:
        assert {"Rows on each side", "Fields compared", "Examples per field"} <= set(facts["tables"])
        verdict = "Gate PASSED" if record["key_figures"]["gate_passed"] else "Gate FAILED"
        assert verdict in text
        assert len(facts["images"]) >= 3 and all(i["alt"] != "plot" for i in facts["images"])
        assert _cells(browser, "Examples per field", "existing")

    @staticmethod
    def cutover_plan(browser: Browser, facts: dict, text: str, record: dict) -> None:
        _steps_with_examples(browser, facts, record, "Rows each step would change (counted in a transaction that was rolled back)")
        assert f"{record['key_figures']['rows_to_change']}" in text.replace(",", "")

    @staticmethod
    def cutover_apply(browser: Browser, facts: dict, text: str, record: dict) -> None:
        _steps_with_examples(browser, facts, record, "Rows each step changed")
        assert "cutover_log" in facts["tables"] and "every check passed" in text

    @staticmethod
    def cutover_rollback(browser: Browser, facts: dict, text: str, record: dict) -> None:
        figures = record["key_figures"]
        assert f"{figures['values_restored']} values restored" in text and "No conflicts" in text
        files = _cells(browser, "Files in the run folder", "file")
        assert "rollback_result.json" in files and "key_figures.json" in files


def _steps_with_examples(browser: Browser, facts: dict, record: dict, title: str) -> None:
    """Every step and table that changes rows shows at least one ``before → after`` line."""
    assert title in facts["tables"]
    plan = json.loads((record["folder"] / "cutover_plan.json").read_text())
    rows = _cells(browser, title, "rows")
    examples = _cells(browser, title, "examples")
    assert len(rows) == len(examples) == sum(len(step["tables"]) for step in plan["steps"])
    assert [int(r.replace(",", "")) for r in rows] == [t["rows"] for step in plan["steps"] for t in step["tables"]]
    changing = [e for r, e in zip(rows, examples, strict=True) if r not in ("0", "—")]
    assert changing and all("→" in e or "+ new row" in e for e in changing)
    assert any(e.startswith("phone: ") for e in examples)
    assert not unmasked_pii("\n".join(examples))


def test_index_links_every_demo_report(browser: Browser, demo_run):
    facts = _load(browser, demo_run.index, "report-index.png")
    assert browser.evaluate("document.querySelectorAll('tbody tr').length") == len(demo_run.records()) == 6
    links = browser.evaluate("Array.from(document.querySelectorAll('tbody a')).map(a => a.href)")
    assert sorted(Path(link.removeprefix("file://")) for link in links) == sorted(demo_run.reports().values())
    assert "0 not ok" in facts["text"]
