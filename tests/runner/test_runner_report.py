"""Report HTML, the secret scrubber and the index, without a kernel."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from blaze_workbook.runner.index import load_runs, render_index, write_index
from blaze_workbook.runner.report import (
    external_references,
    render_html,
    strip_external,
)
from blaze_workbook.runner.secrets_scan import (
    configured_secrets,
    scrub_bytes,
    scrub_folder,
    scrub_text,
    spellings,
)

RECORD = {
    "notebook": "compare", "status": "ok", "start": "2026-11-29T10:00:00.000Z", "end": "2026-11-29T10:00:05.000Z",
    "duration_s": 5.0, "error": None, "parameters": {"threshold": 0.05, "as_of": "2026-11-29", "note": "<b>&</b>"},
    "key_figures": {"gate_passed": True},
}


@pytest.mark.parametrize(
    "fetch",
    [
        '<script src="https://cdn.example.com/require.js"></script>',
        "<script type='text/javascript' src='//cdn.example.com/x.js'></script>",
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=IBM+Plex">',
        '<style>@import url("https://fonts.googleapis.com/css2?family=IBM+Plex+Mono");</style>',
        "<style>@import 'http://example.com/a.css';</style>",
        '<style>@font-face { src: url(https://example.com/f.woff2) }</style>',
        '<img alt="x" src="https://example.com/pixel.png">',
        '<script type="module">const m = await import("https://cdn.example.com/mermaid.mjs");</script>',
    ],
)
def test_strip_external_removes_every_fetch(fetch: str):
    page = f"<html><head></head><body><p>keep</p>{fetch}<a href='https://docs.example.com'>docs</a></body></html>"
    assert external_references(page)
    stripped = strip_external(page)
    assert external_references(stripped) == []
    assert "<p>keep</p>" in stripped and "href='https://docs.example.com'" in stripped  # links are not fetches


def _executed_notebook() -> nbformat.NotebookNode:
    cells = [
        new_code_cell("threshold = 0.05", metadata={"tags": ["parameters"]}, execution_count=1),
        new_markdown_cell("## Gate"),
        new_code_cell("SECRET_CODE_MARKER = 1\nprint('gate passed')", execution_count=2,
                      outputs=[new_output("stream", name="stdout", text="gate passed\n")]),
        new_code_cell("HTML", execution_count=3, outputs=[new_output(
            "display_data", data={"text/html": '<div>table<script src="https://cdn.example.com/x.js"></script></div>'})]),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                              "display_name": "Python 3"}})


def test_render_html_hides_code_shows_header_and_fetches_nothing():
    nb = _executed_notebook()
    html = render_html(nb, RECORD)
    assert "SECRET_CODE_MARKER" not in html and "threshold = 0.05" not in html
    assert "gate passed" in html and "table" in html
    assert "compare run" in html and "5.0 s" in html and "2026-11-29T10:00:00.000Z" in html
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in html  # parameter values are escaped
    assert external_references(html) == []
    assert "require.js" not in html and "mathjax" not in html.lower()
    assert len(nb.cells) == 4  # the input notebook is not modified


def test_render_html_shows_the_error_of_a_failed_run():
    html = render_html(_executed_notebook(), {**RECORD, "status": "failed", "error": "ValueError: boom"})
    assert "bw-failed" in html and "ValueError: boom" in html


SECRET = 'pk-"quoted"&<odd>/value'


@pytest.mark.parametrize("form", spellings(SECRET))
def test_scrub_catches_every_spelling(form: str):
    text, hits = scrub_text(f"before {form} after", [SECRET])
    assert hits == 1 and text == "before *** after"


def test_scrub_folder_redacts_text_and_binary_files(tmp_path: Path):
    (tmp_path / "a.json").write_text(json.dumps({"k": SECRET}))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00\xff" + SECRET.encode() + b"\x00")
    (tmp_path / "clean.txt").write_text("nothing here")
    found = scrub_folder(tmp_path, [SECRET])
    assert sorted(p.name for p in found) == ["a.json", "b.bin"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(form.encode() in data for form in spellings(SECRET))
    assert scrub_bytes(b"abc", [SECRET]) == (b"abc", 0)


def test_configured_secrets_include_the_database_password(monkeypatch):
    monkeypatch.setenv("BLAZE_PARTNER_KEY", "pk-abcdef")
    monkeypatch.setenv("BLAZE_DEVELOPER_KEY", "dk-abcdef")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p%40ss-word@db:5432/x")
    secrets = configured_secrets()
    assert {"pk-abcdef", "dk-abcdef", "p@ss-word", "p%40ss-word"} <= set(secrets)


def _write_run(home: Path, folder: str, **record) -> None:
    path = home / "reports" / folder
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"report": "report.html", **record}))


def test_index_lists_newest_first_escapes_and_survives_bad_records(tmp_path: Path):
    _write_run(tmp_path, "20261129T100000Z-sync", notebook="sync", status="ok", start="2026-11-29T10:00:00.000Z",
               duration_s=12.5, key_figures={"api_calls": 1234, "rate": 0.0412, "note": "<i>"})
    _write_run(tmp_path, "20261129T110000Z-compare", notebook="compare", status="failed",
               start="2026-11-29T11:00:00.000Z", duration_s=3, error="ValueError: <bad>")
    broken = tmp_path / "reports" / "20261129T090000Z-setup"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    runs = load_runs(tmp_path)
    assert [r["folder"] for r in runs] == ["20261129T110000Z-compare", "20261129T100000Z-sync",
                                           "20261129T090000Z-setup"]
    html = render_index(runs)
    assert html.index("compare") < html.index(">sync<")
    assert "api_calls: 1,234" in html and "rate: 0.0412" in html
    assert "&lt;i&gt;" in html and "ValueError: &lt;bad&gt;" in html and "<i>" not in html
    assert "run.json is unreadable" in html
    assert external_references(html) == [] and "<script" not in html
    target = write_index(tmp_path)
    assert target == tmp_path / "reports" / "index.html" and target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []  # no temp file left
