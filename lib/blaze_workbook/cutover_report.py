"""What the 04_cutover notebook does and shows, so its cells stay one line each.

:func:`run_action` carries out ``action`` (``plan``, ``apply`` or ``rollback``) in the run's
folder and returns an :class:`ActionResult`; the ``*_table`` helpers render it with
great-tables. ``apply`` plans again in its own folder (the same SQL a ``plan`` run wrote for
review, against the data as it is now) and runs it only when the latest compare gate passed,
unless ``force``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from great_tables import GT, html, style, loc

from . import cutover, postgres
from .compare.summary import find_previous
from .config import workbook_home
from .errors import ConfigurationError

ACTIONS = ("plan", "apply", "rollback")


@dataclass
class ActionResult:
    """The outcome of one notebook run: what was done, and the tables to show."""

    action: str
    message: str
    gate_passed: bool | None = None
    forced: bool = False
    compare_summary: Path | None = None
    plan: cutover.Plan | None = None
    applied: cutover.ApplyResult | None = None
    rolled_back: cutover.RollbackResult | None = None
    key_figures: dict[str, Any] = field(default_factory=dict)


def latest_compare(compare_run: str | None = None) -> Path | None:
    """``compare_summary.json`` of ``compare_run`` (a run folder), else of the newest compare run."""
    if compare_run:
        path = Path(compare_run)
        path = path if path.name.endswith(".json") else path / "compare_summary.json"
        if not path.is_file():
            raise ConfigurationError(f"no compare_summary.json at {path}", hint="give a compare run folder, or leave compare_run empty")
        return path
    return find_previous(workbook_home() / "reports")


def _gate(summary: Path | None) -> bool:
    if summary is None:
        return False
    return bool(json.loads(summary.read_text(encoding="utf-8")).get("gate", {}).get("passed"))


def run_action(action: str, run_dir: str | Path, *, force: bool = False, steps: list[str] | None = None,
               compare_run: str | None = None, run: str | None = None) -> ActionResult:
    """Carry out ``action`` for this notebook run; see the module docstring."""
    if action not in ACTIONS:
        raise ConfigurationError(f"unknown action {action!r}; valid: {', '.join(ACTIONS)}")
    folder = Path(run_dir)
    with postgres.connect() as conn:
        if action == "rollback":
            target = run or _latest_applied(conn)
            result = cutover.rollback(conn, target, out_dir=folder)
            return ActionResult("rollback", result.summary(), rolled_back=result, key_figures={
                "action": "rollback", "run_rolled_back": result.run_id, "values_restored": result.restored,
                "rows_removed": result.removed, "conflicts": len(result.conflicts)})
        summary = latest_compare(compare_run)
        gate = _gate(summary)
        planned = cutover.plan(conn, folder, steps or None, summary)
        if action == "plan":
            return ActionResult("plan", planned.summary(), gate_passed=gate, compare_summary=summary, plan=planned,
                                key_figures={"action": "plan", "gate_passed": gate, "rows_to_change": planned.rows})
        if planned.rows == 0:  # applying again: nothing left to change, so no run to roll back either
            return ActionResult("apply", f"nothing to change: every step is already applied ({planned.run_id} not applied)",
                                gate_passed=gate, compare_summary=summary, plan=planned,
                                key_figures={"action": "apply", "gate_passed": gate, "forced": False, "rows_changed": 0})
        applied = cutover.apply(conn, folder, gate_passed=gate, force=force)
        return ActionResult("apply", applied.summary(), gate_passed=gate, forced=force and not gate, compare_summary=summary,
                            plan=planned, applied=applied,
                            key_figures={"action": "apply", "gate_passed": gate, "forced": force and not gate,
                                         "rows_changed": applied.rows, "run_id": applied.run_id})


def _latest_applied(conn: Any) -> str:
    found = cutover.latest_applied(conn)
    if found is None:
        raise ConfigurationError("no applied cutover run to roll back", hint="apply one first, or pass -p run=<cutover run folder>")
    run_id, run_dir = found
    return run_dir or run_id


def verdict(result: ActionResult) -> Any:
    """A big coloured line: what happened, and whether the gate allowed it."""
    from IPython.display import HTML

    if result.forced:
        colour, text = "#b00020", f"FORCED: the compare gate did not pass; applied anyway (force=true). {result.message}"
    elif result.action == "plan" and result.gate_passed is False:
        colour, text = "#b00020", f"Planned only; apply will be refused: the latest compare gate did not pass. {result.message}"
    else:
        colour, text = "#1b5e20", result.message
    return HTML(f'<div style="border-left:6px solid {colour};padding:8px 14px;font-size:1.2em;color:{colour}">'
                f"{_escape(text)}</div>")


def _escape(text: str) -> str:
    import html as _html

    return _html.escape(text)


def steps_table(result: ActionResult) -> GT | None:
    """Rows each step would change (plan) or changed (apply), per table."""
    if result.plan is None:
        return None
    frame = result.plan.frame()
    title = "Rows each step would change (counted in a transaction that was rolled back)"
    if result.applied is not None:
        title = "Rows each step changed"
    return (
        GT(frame, rowname_col="table", groupname_col="step")
        .tab_header(title=title, subtitle=f"cutover run {result.plan.run_id}")
        .fmt_integer(columns=["rows", "values", "inserted", "compare_expected"])
        .sub_missing(missing_text="—")
        .tab_style(style=style.text(weight="bold"), locations=loc.body(columns="rows"))
    )


def log_table(result: ActionResult) -> GT | None:
    """``cutover_log`` of an applied run: rows changed and checksums before and after."""
    if result.applied is None:
        return None
    frame = result.applied.frame()
    return GT(frame).tab_header(title="cutover_log", subtitle="rows changed and md5 checksums per step and table")


def conflicts_table(result: ActionResult) -> GT | None:
    """Values another application changed after the cutover: kept, not overwritten."""
    if result.rolled_back is None or not result.rolled_back.conflicts:
        return None
    frame: pl.DataFrame = result.rolled_back.frame()
    return GT(frame.head(50)).tab_header(title=html("<span style='color:#b00020'>Conflicts kept as they are now</span>"),
                                         subtitle="changed by another application after the cutover; rollback did not overwrite them")


def files_table(result: ActionResult) -> GT:
    """The reviewable files this run wrote."""
    folder = result.plan.run_dir if result.plan else None
    names = sorted(p.name for p in folder.iterdir() if p.suffix in (".sql", ".json", ".csv")) if folder else []
    return GT(pl.DataFrame({"file": names}, schema={"file": pl.String})).tab_header(title="Files in the run folder")


__all__ = ["ACTIONS", "ActionResult", "conflicts_table", "files_table", "latest_compare", "log_table", "run_action",
           "steps_table", "verdict"]
