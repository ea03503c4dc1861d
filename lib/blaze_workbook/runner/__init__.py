"""The workbook as users run it: papermill runs, self-contained reports, the index, the lock.

``blaze-workbook run NOTEBOOK`` -> :func:`run_notebook`; ``blaze-workbook status`` ->
:func:`collect_status`. Both commands are added to a CLI by :func:`register`.
Notebooks receive one injected parameter, ``run_dir`` (the run's folder, where they write their
JSON files; a ``key_figures.json`` object there is copied into ``run.json`` and the index).

Names are imported lazily: the CLI imports :func:`register` on every start, and papermill and
nbconvert are only needed once a notebook actually runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "register": "commands",
    "load_runs": "index",
    "write_index": "index",
    "EXIT_LOCKED": "lock",
    "WorkbookLock": "lock",
    "RUN_DIR": "params",
    "NotebookParameter": "declare",
    "declared_parameters": "declare",
    "looks_secret": "params",
    "external_references": "report",
    "render_html": "report",
    "strip_external": "report",
    "RunResult": "run",
    "run_notebook": "run",
    "ApiUsage": "status",
    "StatusReport": "status",
    "collect_status": "status",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
