"""The code-hidden HTML report of one run: self-contained, with the run's header on top.

Reviewers read reports, not code, and reports are opened on machines without network access
(or where a CDN fetch would leak that a report was opened), so: inputs are hidden, images are
embedded, and nothing is fetched from the network — the ``lab`` template's require.js, MathJax,
mermaid and widget loaders are switched off, and whatever a cell's HTML output tries to fetch is
stripped by :func:`strip_external`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

_TEMPLATE_NAME = "blaze_report.html.j2"
_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
.bw-run { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1rem 0 1.5rem;
  padding: 0.8rem 1rem; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; }
.bw-run h1 { font-size: 1.4rem; margin: 0 0 0.4rem; }
.bw-run .bw-status { padding: 0.1rem 0.5rem; border-radius: 4px; color: #fff; font-size: 0.9rem; }
.bw-run .bw-ok { background: #1a7f37; } .bw-run .bw-failed { background: #cf222e; }
.bw-run table { border-collapse: collapse; font-size: 0.85rem; margin-top: 0.4rem; }
.bw-run th, .bw-run td { text-align: left; padding: 0.15rem 0.8rem 0.15rem 0; vertical-align: top; }
.bw-run td code { white-space: pre-wrap; }
.bw-run .bw-error { color: #cf222e; font-weight: 600; margin-top: 0.4rem; white-space: pre-wrap; }
/* stderr streams (progress bars, warnings) are not errors: grey, not the traceback's pink */
.jp-RenderedText.bw-stderr[data-mime-type] { background: #f6f8fa; border-left: 3px solid #bf8700; }
</style>
{%- endblock extra_css -%}
{%- block stream_stderr -%}
<div class="jp-RenderedText jp-OutputArea-output bw-stderr" data-mime-type="application/vnd.jupyter.stderr">
<pre>
{{- output.text | ansi2html -}}
</pre>
</div>
{%- endblock stream_stderr -%}
{%- block body_header -%}
{{ super() }}
{%- set run = resources.blaze_run -%}
<header class="bw-run">
<h1>{{ run.title | e }} <span class="bw-status bw-{{ run.status | e }}">{{ run.status | e }}</span></h1>
<div>started {{ run.start | e }} · ended {{ run.end | e }} · {{ run.duration | e }}</div>
{%- if run.error %}<div class="bw-error">{{ run.error | e }}</div>{% endif %}
<table><tr><th colspan="2">parameters</th></tr>
{%- for name, value in run.parameters %}<tr><td>{{ name | e }}</td><td><code>{{ value | e }}</code></td></tr>{% endfor %}
</table>
{%- if run.key_figures %}
<table><tr><th colspan="2">key figures</th></tr>
{%- for name, value in run.key_figures %}<tr><td>{{ name | e }}</td><td><code>{{ value | e }}</code></td></tr>{% endfor %}
</table>
{%- endif %}
</header>
{%- endblock body_header -%}
"""

_URL = r"""(?:https?:)?//[^"'\s>)]+"""
_EXTERNAL_SCRIPT = re.compile(rf"""<script\b[^>]*\bsrc\s*=\s*["']?{_URL}["']?[^>]*>\s*</script\s*>""", re.I)
_EXTERNAL_LINK = re.compile(rf"""<link\b[^>]*\bhref\s*=\s*["']?{_URL}["']?[^>]*>""", re.I)
_CSS_IMPORT = re.compile(rf"""@import\s+(?:url\(\s*)?["']?{_URL}["']?\s*\)?[^;]*;""", re.I)
_CSS_URL = re.compile(rf"""url\(\s*["']?{_URL}["']?\s*\)""", re.I)
_SRC_ATTR = re.compile(
    rf"""(<(?:img|iframe|source|video|audio|embed|input|track)\b[^>]*?)\s(src|srcset)\s*=\s*(["']?){_URL}\3""", re.I
)
_JS_IMPORT = re.compile(rf"""\bimport\s*\(\s*["']{_URL}["']\s*\)""", re.I)
#: what a browser would fetch from the network, for :func:`external_references`
_FETCHES = (_EXTERNAL_SCRIPT, _EXTERNAL_LINK, _CSS_IMPORT, _CSS_URL, _SRC_ATTR, _JS_IMPORT)


def strip_external(html: str) -> str:
    """``html`` without anything that makes a browser fetch from the network.

    Plain links (``<a href>``) stay: following one is the reader's choice, not a fetch.
    """
    html = _EXTERNAL_SCRIPT.sub("", html)
    html = _EXTERNAL_LINK.sub("", html)
    html = _CSS_IMPORT.sub("", html)
    html = _CSS_URL.sub("none", html)
    html = _SRC_ATTR.sub(r"\1", html)
    return _JS_IMPORT.sub("Promise.reject(new Error('network disabled in reports'))", html)


def external_references(html: str) -> list[str]:
    """The network fetches ``html`` would make (empty for a self-contained page)."""
    return [m.group(0)[:200] for pattern in _FETCHES for m in pattern.finditer(html)]


def _display(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def header_context(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the report header shows, from a ``run.json`` record."""
    return {
        "title": f"{record.get('notebook', '?')} run",
        "status": record.get("status", "?"),
        "start": record.get("start", "?"),
        "end": record.get("end", "?"),
        "duration": f"{float(record.get('duration_s') or 0):.1f} s",
        "error": record.get("error") or "",
        "parameters": [(k, _display(v)) for k, v in (record.get("parameters") or {}).items()],
        "key_figures": [(k, _display(v)) for k, v in (record.get("key_figures") or {}).items()],
    }


def render_html(nb: nbformat.NotebookNode, record: Mapping[str, Any]) -> str:
    """The report of an executed notebook: inputs hidden, run header on top, nothing external.

    Code cells without outputs (the parameters cells among them) are left out: with their code
    hidden they would only be empty boxes. Stream outputs are merged and carriage returns applied
    as a terminal would, so a progress bar shows its last state instead of every redraw on a
    line of its own. ``nb`` itself is not modified.
    """
    shown = copy.deepcopy(nb)
    shown.cells = [c for c in shown.cells if c.cell_type != "code" or c.get("outputs")]
    shown, _ = CoalesceStreamsPreprocessor().preprocess(shown, {})
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {
        "metadata": {"name": f"{record.get('notebook', 'notebook')} · {record.get('start', '')}"},
        "blaze_run": header_context(record),
    }
    body, _ = exporter.from_notebook_node(shown, resources=resources)
    return strip_external(body)
