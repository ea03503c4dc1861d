"""``blaze-workbook run NOTEBOOK``: one notebook, one run folder, one audit record.

A run, in order: find the notebook, resolve its parameters (refusing unknown and secret-looking
names before anything starts), take the home's lock, create
``<home>/reports/<UTC YYYYMMDDTHHMMSSZ>-<notebook>/``, execute the notebook with that folder
injected as ``run_dir`` (notebooks write their JSON files there), scan everything for secret
values, then write the executed notebook, ``report.html`` and ``run.json`` and regenerate
``reports/index.html``. A failing notebook still gets its executed copy and report.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import platform
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from .. import __version__
from ..config import load_dotenv_once, workbook_home
from ..redact import redact
from . import params as P
from .declare import declared_parameters, parameters_cell, read_notebook
from .execute import execute
from .index import write_index
from .lock import WorkbookLock
from .paths import (
    KEY_FIGURES,
    REPORT_HTML,
    RUN_JSON,
    default_notebooks_dir,
    default_params_file,
    find_notebook,
    reports_dir,
)
from .report import render_html
from .secrets_scan import configured_secrets, scrub_folder, scrub_text

STATUS_OK, STATUS_FAILED = "ok", "failed"
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class RunResult:
    """What a run left behind: its folder, status and ``run.json`` record."""

    run_dir: Path
    status: str
    error: str | None
    record: dict[str, Any] = field(repr=False)
    #: the holder of a stale lock file this run cleared, described, if any
    stale_lock: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "workbook": __version__}
    for dist in ("polars", "duckdb", "papermill"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _new_run_dir(reports: Path, start: dt.datetime, notebook: str) -> Path:
    base = f"{start.strftime(_STAMP)}-{notebook}"
    for n in range(1, 1000):
        candidate = reports / (base if n == 1 else f"{base}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"too many runs of {notebook} in one second under {reports}")


@contextmanager
def _home_for_kernel(home: Path) -> Iterator[None]:
    """The kernel inherits our environment: make its ``workbook_home()`` this run's home."""
    previous = os.environ.get("BLAZE_WORKBOOK_HOME")
    os.environ["BLAZE_WORKBOOK_HOME"] = str(home)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("BLAZE_WORKBOOK_HOME", None)
        else:
            os.environ["BLAZE_WORKBOOK_HOME"] = previous


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _key_figures(run_dir: Path) -> dict[str, Any]:
    path = run_dir / KEY_FIGURES
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_notebook(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    params_file: Path | None = None,
    home: Path | None = None,
    notebooks_dir: Path | None = None,
    defaults_file: Path | None = None,
    timeout_s: float | None = None,
    echo: Callable[[str], None] | None = None,
) -> RunResult:
    """Run notebook ``name`` (``setup``, ``sync``, ``compare``, ``cutover``) and report it.

    ``params`` are the ``-p`` values (strings, typed here), ``params_file`` the ``--params``
    YAML. Raises :class:`~blaze_workbook.errors.ConfigurationError` for a bad name or
    parameter and :class:`~blaze_workbook.errors.LockedError` when another run holds the home;
    a failing notebook is not an exception but a result with ``status == "failed"``.
    """
    say = echo or (lambda _line: None)
    load_dotenv_once()
    home = Path(home).resolve() if home else workbook_home()
    path = find_notebook(name, Path(notebooks_dir) if notebooks_dir else default_notebooks_dir())
    declared = declared_parameters(parameters_cell(read_notebook(path)))
    defaults_path = Path(defaults_file) if defaults_file else default_params_file()
    secrets = configured_secrets()
    injected = P.resolve(
        name,
        declared,
        defaults=P.load_yaml_mapping(defaults_path) if defaults_path.is_file() else None,
        params_file=P.load_yaml_mapping(Path(params_file)) if params_file else None,
        cli=params,
        secrets=secrets,
    )
    with WorkbookLock(home, owner=name) as lock:
        stale = lock.stale.describe() if lock.stale else None
        if stale:
            say(f"cleared a stale workbook lock left by {stale}")
        start = dt.datetime.now(dt.UTC)
        run_dir = _new_run_dir(reports_dir(home), start, name)
        injected = {**injected, P.RUN_DIR: str(run_dir)}
        say(f"running {name} ({path.name}) into {run_dir}")
        record: dict[str, Any] = {
            "notebook": name,
            "notebook_path": str(path),
            "run_dir": str(run_dir),
            "parameters": P.effective(declared, injected),
            "start": _iso(start),
            "status": STATUS_FAILED,
            "error": "the run stopped before its report was written",
            "versions": _versions(),
        }
        if stale:
            record["stale_lock_cleared"] = stale
        try:
            with _home_for_kernel(home):
                execution = execute(path, injected, timeout_s=timeout_s)
            end = dt.datetime.now(dt.UTC)
            record.update(end=_iso(end), duration_s=round((end - start).total_seconds(), 3))
            return _finish(run_dir, path, execution.nb, execution.error, record, secrets, stale)
        finally:
            if not (run_dir / RUN_JSON).exists():  # interrupted: leave an honest record
                record.setdefault("end", _iso(dt.datetime.now(dt.UTC)))
                _write_atomic(run_dir / RUN_JSON, scrub_text(json.dumps(record, indent=2), secrets)[0])
            write_index(home)


def _fallback_html(record: Mapping[str, Any], problem: str) -> str:
    """A plain page for when nbconvert itself fails: the run still gets a readable report."""
    e = html.escape
    rows = "".join(f"<tr><td>{e(str(k))}</td><td>{e(json.dumps(v, default=str))}</td></tr>" for k, v in record.items())
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(str(record.get("notebook")))}'
            f" run</title></head><body><h1>Report could not be rendered</h1><p>{e(problem)}</p>"
            f"<p>The executed notebook beside this file is complete.</p><table>{rows}</table></body></html>")


def _finish(
    run_dir: Path,
    path: Path,
    nb: nbformat.NotebookNode,
    error: str | None,
    record: dict[str, Any],
    secrets: list[str],
    stale: str | None,
) -> RunResult:
    """Scan, redact and write the run's files; decide its status.

    The executed notebook is written first: if rendering the HTML fails, the audit record is
    already safe, the report is a plain fallback page and the run is marked failed.
    """
    nb.metadata.setdefault("papermill", {})["output_path"] = str(run_dir / path.name)
    nb_text, nb_hits = scrub_text(nbformat.writes(nb), secrets)
    leaked = [path.name] if nb_hits else []
    leaked += [str(p.relative_to(run_dir)) for p in scrub_folder(run_dir, secrets)]
    _write_atomic(run_dir / path.name, nb_text)
    if error:
        error = scrub_text(error, secrets)[0]
    record["key_figures"] = _key_figures(run_dir)
    executed = nbformat.reads(nb_text, as_version=4)
    page = ""
    for _attempt in range(2):  # a second pass only when the HTML itself held a secret
        if leaked:
            note = (f"a configured secret value appeared in the output ({', '.join(leaked)}); "
                    "it was replaced by *** and the run is marked failed")
            error = f"{error}; {note}" if error and note not in error else (error or note)
        record.update(status=STATUS_FAILED if error else STATUS_OK, error=redact(error) if error else None)
        try:
            page = render_html(executed, record)
        except Exception as exc:  # nbconvert broke on some output: keep the run, say so
            problem = f"the HTML report could not be rendered ({type(exc).__name__}: {exc})"
            error = f"{error}; {problem}" if error else problem
            record.update(status=STATUS_FAILED, error=redact(error))
            page = _fallback_html(record, record["error"])
        page, html_hits = scrub_text(page, secrets)
        if not html_hits or leaked:
            break
        leaked.append(REPORT_HTML)
    record.update(executed_notebook=path.name, report=REPORT_HTML, secrets_redacted=leaked)
    _write_atomic(run_dir / REPORT_HTML, page)
    _write_atomic(run_dir / RUN_JSON, scrub_text(json.dumps(record, indent=2, default=str), secrets)[0])
    return RunResult(run_dir, record["status"], record["error"], record, stale)
