"""The probe's reports and their index, opened in headless Chromium: no console errors, no network fetches.

The product notebooks' reports are checked the same way in ``tests/test_reports_browser.py``;
the rules and the screenshot folder are shared in ``tests/_browser.py``. Skipped where
``/usr/bin/chromium`` is missing (``apt-get install chromium`` brings it; CI installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _browser import Browser, artifacts, check_page, needs_chromium, only_local, open_browser, page_facts

from .conftest import ProbeRuns

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    yield from open_browser(tmp_path_factory.mktemp("chromium-profile"))


@pytest.mark.parametrize("which", ["ok", "failed"])
def test_report_renders_offline_without_errors(browser: Browser, probe_runs: ProbeRuns, which: str):
    run = getattr(probe_runs, which)
    page = run.run_dir / "report.html"
    browser.open(page.as_uri())
    browser.screenshot(artifacts() / f"runner-report-{which}.png")
    assert check_page(page_facts(browser), requested=browser.requested_urls(), errors=browser.errors(),
                      failed_run=which == "failed") == []
    header = browser.evaluate("document.querySelector('header.bw-run').innerText")
    assert "probe run" in header and ("ok" if which == "ok" else "failed") in header
    if which == "ok":
        assert browser.evaluate("document.querySelectorAll('img[src^=\"data:image/png\"]').length") == 1
        assert browser.evaluate("document.querySelector('img').naturalWidth") > 0
        assert "from-cli table" in browser.evaluate("document.body.innerText")
    else:
        assert "asked to fail" in browser.evaluate("document.body.innerText")


def test_index_renders_offline_and_links_reports(browser: Browser, probe_runs: ProbeRuns):
    index = probe_runs.home / "reports" / "index.html"
    browser.open(index.as_uri())
    browser.screenshot(artifacts() / "runner-index.png")
    assert only_local(browser.requested_urls()) == []
    assert browser.errors() == []
    assert browser.evaluate("document.querySelectorAll('tbody tr').length") == 2
    links = browser.evaluate("Array.from(document.querySelectorAll('tbody a')).map(a => a.href)")
    assert all(Path(link.removeprefix("file://")).is_file() for link in links) and len(links) == 2
