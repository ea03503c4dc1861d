"""One ``blaze-workbook`` CLI call as a test saw it: exit code, output, and the run folder it printed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import typer
from typer.testing import CliRunner


@dataclass(frozen=True)
class Invocation:
    exit_code: int
    stdout: str
    stderr: str
    args: list[str] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        """The run folder: ``blaze-workbook run`` prints its path last."""
        return Path(self.stdout.strip().splitlines()[-1])

    @property
    def record(self) -> dict:
        return json.loads((self.run_dir / "run.json").read_text())

    def report(self) -> str:
        return (self.run_dir / "report.html").read_text(encoding="utf-8")

    def notebook(self) -> str:
        return next(self.run_dir.glob("*.ipynb")).read_text(encoding="utf-8")


def invoke(app: typer.Typer, args: list[str], env: dict[str, str] | None = None) -> Invocation:
    """Run the CLI in-process (exceptions propagate: a crash is a test failure, not an exit code)."""
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    return Invocation(result.exit_code, result.stdout, result.stderr, list(args))
