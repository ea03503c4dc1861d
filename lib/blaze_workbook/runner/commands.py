"""The ``run`` and ``status`` commands, added to the CLI by :func:`register`.

Exit statuses of ``run``: 0 the notebook ran clean; 1 it failed (or a secret reached its output:
the run fails closed); 2 a configuration or parameter error (nothing ran); 75 another run holds
the workbook home's lock (try again later). The run folder's path is always stdout's last line
when a folder was created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import LockedError, WorkbookError
from .lock import EXIT_LOCKED

EXIT_FAILED = 1
EXIT_CONFIG = 2


def register(app: typer.Typer, *, notebooks_dir: Path | None = None, defaults_file: Path | None = None) -> None:
    """Add ``run`` and ``status`` to ``app``; the directories are overridable for tests."""

    @app.command("run")
    def run(
        notebook: Annotated[str, typer.Argument(metavar="NOTEBOOK", help="setup, sync, compare or cutover.")],
        param: Annotated[list[str] | None, typer.Option(
            "-p", "--param", metavar="NAME=VALUE",
            help="Set a notebook parameter (repeatable); typed like its default in the notebook.")] = None,
        params: Annotated[Path | None, typer.Option(
            "--params", metavar="FILE.yaml",
            help="YAML file of parameters (flat, or sectioned like params/default.yaml).",
            dir_okay=False)] = None,
        timeout: Annotated[float | None, typer.Option(
            help="Seconds one cell may run before the run fails (default: no limit).")] = None,
    ) -> None:
        """Execute notebooks/0N_NOTEBOOK/NOTEBOOK.ipynb with papermill; print the run folder last."""
        from .params import parse_assignments
        from .run import run_notebook

        try:
            result = run_notebook(
                notebook, params=parse_assignments(param or []), params_file=params,
                notebooks_dir=notebooks_dir, defaults_file=defaults_file, timeout_s=timeout,
                echo=typer.echo,
            )
        except LockedError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_LOCKED) from exc
        except WorkbookError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_CONFIG) from exc
        typer.echo(f"status: {result.status}" + (f" ({result.error})" if result.error else ""))
        typer.echo(f"report: {result.run_dir / 'report.html'}")
        typer.echo(f"index:  {result.run_dir.parent / 'index.html'}")
        typer.echo(str(result.run_dir))
        raise typer.Exit(result.exit_code)

    @app.command("status")
    def status() -> None:
        """Watermarks, last runs, API calls against the Blaze tiers, staging and quarantine counts."""
        from rich.console import Console

        from ..config import workbook_home
        from .status import collect_status
        from .status_view import render_status

        render_status(collect_status(workbook_home()), Console(soft_wrap=False))
