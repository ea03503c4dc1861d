"""What the 04_cutover notebook does and shows, so its cells stay one line each.

:func:`run_action` carries out ``action`` (``plan``, ``apply`` or ``rollback``) in the run's
folder and returns an :class:`ActionResult`; the ``*_table`` helpers render it with
great-tables. ``apply`` plans again in its own folder (the same SQL a ``plan`` run wrote for
review, against the data as it is now) and runs it only when the latest compare gate passed,
unless ``force``. Each step's row shows a real value before and after (personal values
masked), so a reviewer sees what a step does, not only how much; a section that does not apply
to the action says so instead of staying empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from great_tables import GT, html, loc, style

from . import cutover, postgres
from .compare.mask import mask_text
from .compare.summary import find_previous
from .compare_report import MASKED_FIELDS
from .config import workbook_home
from .cutover import examples as cutover_examples
from .errors import ConfigurationError

ACTIONS = ("plan", "apply", "rollback")
#: example lines per step and table, and the longest value shown
EXAMPLE_LINES, EXAMPLE_CHARS = 4, 36


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
    #: this run's folder
    run_dir: Path | None = None
    #: before/after values per step, table and column (:mod:`.cutover.examples`), unmasked
    examples: pl.DataFrame | None = None


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
            return ActionResult("rollback", result.summary(), rolled_back=result, run_dir=folder, key_figures={
                "action": "rollback", "run_rolled_back": result.run_id, "values_restored": result.restored,
                "rows_removed": result.removed, "conflicts": len(result.conflicts)})
        summary = latest_compare(compare_run)
        gate = _gate(summary)
        planned = cutover.plan(conn, folder, steps or None, summary)
        if action == "plan":
            return ActionResult("plan", planned.summary(), gate_passed=gate, compare_summary=summary, plan=planned,
                                run_dir=folder, examples=planned.examples,
                                key_figures={"action": "plan", "gate_passed": gate, "rows_to_change": planned.rows})
        if planned.rows == 0:  # applying again: nothing left to change, so no run to roll back either
            return ActionResult("apply", f"nothing to change: every step is already applied ({planned.run_id} not applied)",
                                gate_passed=gate, compare_summary=summary, plan=planned, run_dir=folder,
                                key_figures={"action": "apply", "gate_passed": gate, "forced": False, "rows_changed": 0})
        applied = cutover.apply(conn, folder, gate_passed=gate, force=force)
        return ActionResult("apply", applied.summary(), gate_passed=gate, forced=force and not gate, compare_summary=summary,
                            plan=planned, applied=applied, run_dir=folder,
                            examples=cutover_examples.read(conn, planned.schema, applied.run_id),
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


def _note(text: str) -> Any:
    """One grey line where a section does not apply to this action (rather than an empty heading)."""
    from IPython.display import HTML

    return HTML(f'<p style="color:#57606a">{_escape(text)}</p>')


def _short(value: pl.Expr) -> pl.Expr:
    cut = pl.when(value.str.len_chars() > EXAMPLE_CHARS).then(value.str.slice(0, EXAMPLE_CHARS - 1) + pl.lit("…"))
    return cut.otherwise(value).fill_null("∅")


def example_lines(result: ActionResult) -> pl.DataFrame:
    """Per (step, table): ``column: before → after`` lines, one per column, personal values masked.

    An inserted row (``+ new row <key>``) comes first, then the columns in the order the step
    writes them: at most :data:`EXAMPLE_LINES` lines, then how many more columns were changed.
    A plan shows no key a sequence assigns (:data:`.cutover.examples.ASSIGNED_KEYS`): apply draws
    another one.
    """
    schema = {"step": pl.String, "table": pl.String, "examples": pl.String}
    if result.examples is None or result.plan is None or result.examples.is_empty():
        return pl.DataFrame(schema=schema)
    order = pl.DataFrame([{"step": s.id, "table": t.table, "column": c, "_order": n}
                          for s in result.plan.steps for t in s.tables for n, c in enumerate(t.updates)],
                         schema={"step": pl.String, "table": pl.String, "column": pl.String, "_order": pl.Int64})
    personal = pl.concat_str(["table", "column"], separator=".").is_in(list(MASKED_FIELDS))
    planned_only = pl.lit(result.applied is None)
    value = {side: pl.when(personal).then(mask_text(pl.col(side))).otherwise(pl.col(side)) for side in ("before", "after")}
    lines = (
        result.examples.group_by("step", "table", "column", maintain_order=True).first()
        .join(order, on=["step", "table", "column"], how="left")
        .with_columns(
            pl.when(pl.col("column") == "*").then(-1).otherwise(pl.col("_order")).alias("_order"),  # new rows first
            pl.when((pl.col("column") == "*") & planned_only & pl.col("table").is_in(list(cutover_examples.ASSIGNED_KEYS)))
            .then(pl.lit("+ new row (its id is drawn at apply)"))
            .when(pl.col("column") == "*").then(pl.lit("+ new row ") + pl.col("key"))
            .otherwise(pl.col("column") + pl.lit(": ") + _short(value["before"]) + pl.lit(" → ") + _short(value["after"]))
            .alias("line"),
        )
        .sort("step", "table", "_order", nulls_last=True)
    )
    return (
        lines.group_by("step", "table", maintain_order=True)
        .agg(pl.col("line").head(EXAMPLE_LINES), pl.len().alias("_n"))
        .select("step", "table", pl.concat_str(
            pl.col("line").list.join("\n"),
            pl.when(pl.col("_n") > EXAMPLE_LINES).then(pl.format("\n… and {} more", pl.col("_n") - EXAMPLE_LINES))
            .otherwise(pl.lit("")),
        ).alias("examples"))
    )


def steps_table(result: ActionResult) -> Any:
    """Rows each step would change (plan) or changed (apply), per table, with an example of each change."""
    if result.plan is None:
        return _note(f"{result.action}: no steps were planned or applied by this run (its numbers are in the line above)")
    frame = result.plan.frame().join(example_lines(result), on=["step", "table"], how="left")
    title = "Rows each step would change (counted in a transaction that was rolled back)"
    if result.applied is not None:
        title = "Rows each step changed"
    return (
        GT(frame, rowname_col="table", groupname_col="step")
        .tab_header(title=title, subtitle=f"cutover run {result.plan.run_id}; examples: before → after, ∅ = empty, "
                                          "personal values masked (shape kept)")
        .cols_label(examples="e.g. before → after")
        .fmt_integer(columns=["rows", "values", "inserted", "compare_expected"])
        .sub_missing(missing_text="—")
        .tab_style(style=style.text(weight="bold"), locations=loc.body(columns="rows"))
        .tab_style(style=style.css("white-space: pre-line; font-size: 12px; min-width: 26em"),
                   locations=loc.body(columns="examples"))
        .tab_style(style=style.css("max-width: 20em"), locations=loc.body(columns="updates"))
    )


def log_table(result: ActionResult) -> Any:
    """``cutover_log`` of an applied run: rows changed and checksums before and after."""
    if result.applied is None:
        return _note(f"{result.action}: nothing was applied by this run, so it wrote no cutover_log rows")
    frame = result.applied.frame()
    return (GT(frame).tab_header(title="cutover_log", subtitle="rows changed per step and table; checksums are row count : sum of 64-bit row hashes")
            .fmt_number(columns="seconds", decimals=3))


def conflicts_table(result: ActionResult) -> Any:
    """Values another application changed after the cutover: kept, not overwritten."""
    if result.rolled_back is None:
        return _note(f"{result.action}: only a rollback can meet conflicts")
    if not result.rolled_back.conflicts:
        return _note("No conflicts: no value or inserted row had been changed since the cutover, so all were restored")
    frame: pl.DataFrame = result.rolled_back.frame()
    personal = pl.concat_str(["table", "column"], separator=".").is_in(list(MASKED_FIELDS))  # the report is shared:
    frame = frame.with_columns(pl.when(personal).then(mask_text(pl.col(c))).otherwise(pl.col(c)).alias(c)  # mask, like
                               for c in ("cutover_value", "current_value", "restore_value"))  # the examples above
    return GT(frame.head(50)).tab_header(title=html("<span style='color:#b00020'>Conflicts kept as they are now</span>"),
                                         subtitle="changed by another application after the cutover; rollback did not overwrite them")


def files_table(result: ActionResult) -> GT:
    """The reviewable files this run wrote."""
    folder = result.run_dir or (result.plan.run_dir if result.plan else None)
    names = sorted(p.name for p in folder.iterdir() if p.suffix in (".sql", ".json", ".csv")) if folder else []
    return GT(pl.DataFrame({"file": names}, schema={"file": pl.String})).tab_header(title="Files in the run folder")


__all__ = ["ACTIONS", "ActionResult", "conflicts_table", "example_lines", "files_table", "latest_compare", "log_table",
           "run_action", "steps_table", "verdict"]
