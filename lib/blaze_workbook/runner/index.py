"""``reports/index.html``: every run, newest first, built from the ``run.json`` files.

The index is derived data: it is rebuilt from scratch after every run (and can be rebuilt at
any time), so a crash mid-write never loses anything but the index, which is itself replaced
atomically. It is one self-contained page: inline CSS, no scripts, no fetches.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from pathlib import Path
from typing import Any

from .paths import INDEX, REPORT_HTML, RUN_JSON, reports_dir

#: key figures shown per run in the index (the report has them all)
MAX_FIGURES = 8

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem; color: #1f2328; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
p.meta { color: #59636e; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.4rem 0.8rem; border-bottom: 1px solid #d1d9e0; vertical-align: top; }
th { background: #f6f8fa; }
td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { padding: 0.1rem 0.5rem; border-radius: 4px; color: #fff; font-size: 0.8rem; }
.ok { background: #1a7f37; } .failed { background: #cf222e; } .unknown { background: #59636e; }
ul.figures { margin: 0; padding-left: 1rem; } ul.figures li { white-space: nowrap; }
td.error { color: #cf222e; font-size: 0.8rem; max-width: 30rem; }
"""


def load_runs(home: Path) -> list[dict[str, Any]]:
    """Every readable ``run.json`` under ``<home>/reports``, newest first, with its ``folder``."""
    runs: list[dict[str, Any]] = []
    for path in reports_dir(home).glob(f"*/{RUN_JSON}"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {"status": "unknown", "error": "run.json is unreadable"}
        if not isinstance(record, dict):
            record = {"status": "unknown", "error": "run.json is not an object"}
        record["folder"] = path.parent.name
        runs.append(record)
    return sorted(runs, key=lambda r: (str(r.get("start") or ""), r["folder"]), reverse=True)


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _when(start: Any) -> str:
    """``2026-11-29T08:54:02.405Z`` -> ``2026-11-29 08:54:02``."""
    text = str(start or "?")
    return text[:19].replace("T", " ") if len(text) >= 19 else text


def _row(run: dict[str, Any]) -> str:
    e = html.escape
    folder = run["folder"]
    target = f"{folder}/{REPORT_HTML}" if run.get("report") else f"{folder}/"
    status = str(run.get("status") or "unknown")
    css = status if status in ("ok", "failed") else "unknown"
    duration = run.get("duration_s")
    figures = list((run.get("key_figures") or {}).items())[:MAX_FIGURES]
    figure_items = "".join(f"<li>{e(str(k))}: {e(_figure(v))}</li>" for k, v in figures)
    return (
        "<tr>"
        f"<td class=\"when\">{e(_when(run.get('start')))}</td>"
        f"<td><a href=\"{e(target)}\" title=\"{e(folder)}\">{e(str(run.get('notebook') or folder))}</a></td>"
        f"<td><span class=\"status {css}\">{e(status)}</span></td>"
        f"<td class=\"num\">{'' if duration is None else e(f'{float(duration):.1f} s')}</td>"
        f"<td>{f'<ul class=figures>{figure_items}</ul>' if figure_items else ''}</td>"
        f"<td class=\"error\">{e(str(run.get('error') or ''))}</td>"
        "</tr>"
    )


def render_index(runs: list[dict[str, Any]], *, generated: dt.datetime | None = None) -> str:
    """The index page for ``runs`` (already sorted newest first)."""
    when = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    failed = sum(1 for r in runs if r.get("status") != "ok")
    rows = "\n".join(_row(r) for r in runs) or '<tr><td colspan="6">no runs yet</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Blaze Migration Workbook · runs</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Blaze Migration Workbook · runs</h1>
<p class="meta">{len(runs)} run(s), {failed} not ok · generated {when} · newest first</p>
<table>
<thead><tr><th>started (UTC)</th><th>notebook</th><th>status</th><th>duration</th><th>key figures</th><th>error</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def write_index(home: Path) -> Path:
    """Rebuild ``<home>/reports/index.html`` from the run folders; return its path."""
    target = reports_dir(home) / INDEX
    tmp = target.with_name(f".{INDEX}.{os.getpid()}.tmp")
    tmp.write_text(render_index(load_runs(home)), encoding="utf-8")
    os.replace(tmp, target)
    return target
