"""What the browser tests share: the skip rule, the screenshot folder, and what a page must hold.

A report is read by people deciding on a migration, often offline, so every page is opened in
headless Chromium (:mod:`runner._cdp`) and checked the same way: nothing fetched from the
network, no console error, images inline and decoded, no code and no traceback shown, no table
running past a laptop-wide window, and no e-mail address or phone number left unmasked.
Screenshots go to ``$BLAZE_TEST_ARTIFACTS`` (default ``test-artifacts/``, gitignored) for a
person to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner._cdp import CHROMIUM, Browser

#: skip, not fail, where Chromium is missing (``.ci/run`` installs Debian's package when it can)
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"chromium is not installed at {CHROMIUM} "
                                    "(apt-get install chromium; .ci/run installs it)")


def artifacts() -> Path:
    """The screenshot folder, created."""
    folder = Path(os.environ.get("BLAZE_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_browser(profile: Path) -> Iterator[Browser]:
    """A browser for a fixture to yield; closed afterwards."""
    browser = Browser(profile)
    try:
        yield browser
    finally:
        browser.close()


def only_local(urls: list[str]) -> list[str]:
    """The requested URLs that would leave the machine."""
    return [u for u in urls if not u.startswith(("file://", "data:", "about:"))]


#: facts about the loaded page, gathered in one evaluation
_FACTS = r"""(() => {
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const width = document.documentElement.clientWidth;
  const title = t => (t.querySelector('.gt_title') || {}).innerText || t.id || '(untitled)';
  return {
    header: (document.querySelector('header.bw-run') || {}).innerText || '',
    text: document.body.innerText,
    tables: Array.from(document.querySelectorAll('table.gt_table')).map(title),
    wide: Array.from(document.querySelectorAll('table.gt_table'))
      .filter(t => t.getBoundingClientRect().right > width + 1).map(title),
    pageWidth: document.documentElement.scrollWidth, width: width,
    images: Array.from(document.images).map(i => ({src: i.src.slice(0, 22), ok: i.complete && i.naturalWidth > 0,
                                                   alt: i.alt})),
    code: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt'))
      .filter(visible).length,
    stderr: Array.from(document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
      .map(e => e.innerText),
  };
})()"""


def page_facts(browser: Browser) -> dict[str, Any]:
    return browser.evaluate(_FACTS)


_EMAIL = re.compile(r"[^\s@(),;:<>\"']+@[^\s@(),;:<>\"']+\.[A-Za-z•]+")
_PHONE = re.compile(r"(?<![\w.+-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\w])")
_IPYTHON_TRACEBACK = re.compile(r"-{40,}\n\w+(Error|Exception)")
#: what the two masks leave of a value: report_kit's bullets, compare's shape (X, x, 9)
_MASKED = set("•xX9._+-")


def unmasked_pii(text: str) -> list[str]:
    """E-mail addresses and phone numbers in ``text`` that no mask has touched.

    A masked e-mail keeps at most its first character and its top-level domain
    (``j•••@•••.com``) or its last two characters (``xxxxxx99@xxxxx.xom``); a masked phone keeps
    no more than its last two digits (``••••••••67``, ``(999) 999-9967``).
    """
    found = []
    for email in _EMAIL.findall(text):
        local, domain = email.split("@", 1)
        if sum(c not in _MASKED for c in local) > 1 or set(domain.rsplit(".", 1)[0]) - _MASKED:
            found.append(email)
    found += [p for p in _PHONE.findall(text) if set(re.sub(r"\D", "", p)[:-2]) - {"9"}]
    return found


def check_page(facts: dict[str, Any], *, requested: list[str], errors: list[str], failed_run: bool = False) -> list[str]:
    """Everything wrong with a report page, as sentences (an empty list: nothing).

    The report of a ``failed_run`` keeps the traceback of the cell that failed: that is its point.
    """
    problems = []
    if only_local(requested):
        problems.append(f"network requests: {only_local(requested)}")
    if errors:
        problems.append(f"console errors: {errors}")
    if facts["wide"] or facts["pageWidth"] > facts["width"]:
        problems.append(f"wider than the window ({facts['pageWidth']} > {facts['width']} px): {facts['wide']}")
    bad = [i for i in facts["images"] if not (i["src"].startswith("data:image/") and i["ok"])]
    if bad:
        problems.append(f"images not inline or not decoded: {bad}")
    if facts["code"]:
        problems.append(f"{facts['code']} code cell input(s) or prompts visible")
    if not failed_run and ("Traceback (most recent call last)" in facts["text"] or _IPYTHON_TRACEBACK.search(facts["text"])):
        problems.append("a Python traceback is shown")
    if unmasked_pii(facts["text"]):
        problems.append(f"unmasked personal data: {unmasked_pii(facts['text'])[:5]}")
    return problems


__all__ = ["CHROMIUM", "Browser", "artifacts", "check_page", "needs_chromium", "only_local", "open_browser", "page_facts",
           "unmasked_pii"]
