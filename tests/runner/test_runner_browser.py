"""A report and the index, opened in headless Chromium: no console errors, no network fetches.

Screenshots land in ``test-artifacts/`` (gitignored) for a person to look at. Skipped where
``/usr/bin/chromium`` is missing (``apt-get install chromium`` brings it; CI installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._cdp import CHROMIUM, Browser
from .conftest import ProbeRuns

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def _only_local(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file://", "data:", "about:"))]


@pytest.mark.parametrize("which", ["ok", "failed"])
def test_report_renders_offline_without_errors(browser: Browser, probe_runs: ProbeRuns, which: str):
    run = getattr(probe_runs, which)
    page = run.run_dir / "report.html"
    browser.open(page.as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    browser.screenshot(ARTIFACTS / f"runner-report-{which}.png")
    assert _only_local(browser.requested_urls()) == []
    assert browser.errors() == []
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
    browser.screenshot(ARTIFACTS / "runner-index.png")
    assert _only_local(browser.requested_urls()) == []
    assert browser.errors() == []
    assert browser.evaluate("document.querySelectorAll('tbody tr').length") == 2
    links = browser.evaluate("Array.from(document.querySelectorAll('tbody a')).map(a => a.href)")
    assert all(Path(link.removeprefix("file://")).is_file() for link in links) and len(links) == 2
