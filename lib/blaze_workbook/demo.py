"""``blaze-workbook demo`` (what ``make demo`` runs): the whole migration, rehearsed end to end.

It starts the Blaze simulator (``demo`` preset) in a background process on a free port, uses
``DATABASE_URL`` or the embedded Postgres with a freshly generated legacy database (its own
database ``demo`` on the server, dropped and re-created), then runs the four notebooks through
the runner: setup (apply), sync (backfill), compare, and cutover plan, apply, rollback to show
the round trip. It prints a summary table and, as its last line, the path of
``reports/index.html``, and stops what it started.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from . import postgres
from .config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, database_url, workbook_home
from .errors import ConfigurationError, WorkbookError

#: the notebooks in the order the demo runs them, with their parameters
STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("setup", {"apply": True}),
    ("sync", {"mode": "backfill", "force": True}),
    ("compare", {}),
    ("cutover", {"action": "plan"}),
    ("cutover", {"action": "apply"}),
    ("cutover", {"action": "rollback"}),
)
DEMO_DATABASE = "demo"


@dataclass
class DemoResult:
    """What the demo did: one row per notebook run, the index path, the wall time."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    index: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r["status"] == "ok" for r in self.runs)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the notebooks' kernels; restore them afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def _stopping_what_it_starts(echo: Callable[[str], None]) -> Iterator[None]:
    """Stop the embedded Postgres afterwards when it was not running before (and no
    ``DATABASE_URL`` is set): the demo leaves the machine as it found it. Its data stays in the
    workbook home; the next command that needs it starts it again."""
    from . import pg_embedded

    ours = not database_url() and pg_embedded.running() is None
    try:
        yield
    finally:
        if ours and pg_embedded.stop():
            echo("stopped the embedded Postgres the demo started (its data stays; the next run starts it again)")


def fresh_database(name: str = DEMO_DATABASE) -> str:
    """Drop and re-create database ``name`` on the configured server; return its URL."""
    base = postgres.url()
    with postgres.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(base, name)


def _with_database(conninfo: str, name: str) -> str:
    """``conninfo`` (a URL or ``key=value`` string) pointing at database ``name`` instead."""
    if "://" in conninfo:
        from urllib.parse import quote, urlsplit, urlunsplit

        return urlunsplit(urlsplit(conninfo)._replace(path="/" + quote(name)))
    from psycopg.conninfo import make_conninfo

    return make_conninfo(conninfo, dbname=name)


def run_demo(*, scale: str = "demo", seed: int = 0, echo: Callable[[str], None] = print) -> DemoResult:
    """Run the whole rehearsal; see the module docstring."""
    from .blaze.simulator import SimulatorConfig, start_background
    from .legacy_gen import generate_legacy
    from .runner import run_notebook

    started = time.perf_counter()
    home = workbook_home()
    result = DemoResult()
    keys = {
        "BLAZE_PARTNER_KEY": os.environ.get("BLAZE_PARTNER_KEY") or DEMO_PARTNER_KEY,
        "BLAZE_DEVELOPER_KEY": os.environ.get("BLAZE_DEVELOPER_KEY") or DEMO_DEVELOPER_KEY,
    }
    echo(f"starting the Blaze simulator ({scale} preset) …")
    with _stopping_what_it_starts(echo), _environment(keys), start_background(SimulatorConfig(scale=scale, seed=seed, port=0)) as sim:
        echo(f"simulator at {sim.url}; preparing the legacy database …")
        database_url = fresh_database()
        manifest = generate_legacy(database_url, scale=scale, seed=seed, out_dir=home / "legacy", replace=True)
        echo(f"legacy database ready ({_counts(manifest)})")
        env = {"BLAZE_BASE_URL": sim.url, "DATABASE_URL": database_url}
        with _environment(env):
            for name, params in STEPS:
                echo(f"running {name} {_describe(params)} …")
                try:
                    run = run_notebook(name, params=params)
                except WorkbookError as exc:  # refused before it started: no run folder
                    result.runs.append({"notebook": name, "params": _describe(params), "status": "failed",
                                        "seconds": None, "folder": "", "figures": {"error": str(exc)}})
                    echo(f"{name} could not start: {exc}")
                    break
                figures = run.record.get("key_figures") or {}
                result.runs.append({"notebook": name, "params": _describe(params), "status": run.status,
                                    "seconds": run.record.get("duration_s"), "folder": str(run.run_dir),
                                    "figures": figures})
                if not run.ok:
                    echo(f"{name} failed: {run.error}")
                    break
    result.index = home / "reports" / "index.html"
    result.seconds = time.perf_counter() - started
    if not result.index.exists():
        raise ConfigurationError("the demo ran no notebook: no reports/index.html was written")
    return result


def _counts(manifest: Any) -> str:
    """``customers 3,000, transactions …``: the rows the generator loaded."""
    return ", ".join(f"{table} {rows:,}" for table, rows in manifest.loaded.items())


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def print_summary(result: DemoResult) -> None:
    """A rich table of the runs, then the index path as the last line of stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Blaze Migration Workbook demo — {result.seconds:.0f} s")
    for column in ("notebook", "parameters", "status", "seconds", "key figures"):
        table.add_column(column)
    for run in result.runs:
        figures = ", ".join(f"{k}: {v}" for k, v in list(run["figures"].items())[:4])
        seconds = f"{run['seconds']:.1f}" if isinstance(run["seconds"], (int, float)) else ""
        style = "green" if run["status"] == "ok" else "red"
        table.add_row(run["notebook"], run["params"], f"[{style}]{run['status']}[/{style}]", seconds, figures)
    console.print(table)
    print(result.index)


def main(scale: str = "demo", seed: int = 0) -> int:
    """The CLI's body: run, print, exit status 0 only when every notebook succeeded."""
    result = run_demo(scale=scale, seed=seed)
    print_summary(result)
    return 0 if result.ok else 1


__all__ = ["DemoResult", "fresh_database", "main", "run_demo"]
