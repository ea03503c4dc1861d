"""Render a :class:`~blaze_workbook.runner.status.StatusReport` as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .status import CALLS_PER_5_MIN, TIERS, StatusReport, age, as_utc


def render_status(report: StatusReport, console: Console) -> None:
    """Print the status tables; sections without data say why in a dim note."""
    console.print(f"[bold]Workbook home[/bold] {report.home}  ·  now {report.now:%Y-%m-%d %H:%M:%S} UTC")

    runs = Table(title="Last run of each notebook", title_justify="left")
    for column in ("notebook", "started (UTC)", "age", "status", "duration", "folder"):
        runs.add_column(column)
    for name, run in report.last_runs.items():
        if run is None:
            runs.add_row(name, "never", "", "", "", "")
            continue
        status = str(run.get("status") or "unknown")
        colour = {"ok": "green", "failed": "red"}.get(status, "yellow")
        duration = run.get("duration_s")
        runs.add_row(
            name, str(run.get("start") or "?"), age(as_utc(run.get("start")), report.now),
            f"[{colour}]{status}[/{colour}]", "" if duration is None else f"{float(duration):.1f} s",
            str(run.get("folder") or ""),
        )
    console.print(runs)

    if report.watermarks is not None:
        marks = Table(title="Watermarks", title_justify="left")
        for column in ("entity", "watermark (UTC)", "age"):
            marks.add_column(column)
        for row in report.watermarks:
            marks.add_row(*row)
        console.print(marks)

    if report.api is not None:
        api = report.api
        calls = Table(title=f"API calls (from {api.source})", title_justify="left")
        calls.add_column("period")
        calls.add_column("calls", justify="right")
        calls.add_column("against", justify="left")
        calls.add_row("current 5-minute window", f"{api.window_5min:,}", f"cap {CALLS_PER_5_MIN:,} per 5 minutes")
        calls.add_row("today (UTC)", f"{api.today:,}", "")
        calls.add_row("this month", f"{api.month:,}", "")
        tiers = " / ".join(f"{c:,} ${d}" for c, d in TIERS)
        calls.add_row("projected this month", f"{api.projected_month:,}", f"tier {api.tier} (tiers: {tiers})")
        console.print(calls)

    if report.staging is not None:
        staging = Table(title="Staging rows (warehouse)", title_justify="left")
        staging.add_column("table")
        staging.add_column("rows", justify="right")
        for table, rows in report.staging:
            staging.add_row(table, f"{rows:,}")
        console.print(staging)

    if report.quarantine is not None:
        quarantine = Table(title="Quarantined records", title_justify="left")
        for column in ("entity", "reason", "records"):
            quarantine.add_column(column, justify="right" if column == "records" else "left")
        for entity, reason, count in report.quarantine:
            quarantine.add_row(entity, reason, f"{count:,}")
        if not report.quarantine:
            quarantine.add_row("(none)", "", "0")
        console.print(quarantine)

    for note in report.notes:
        console.print(f"[dim]note: {note}[/dim]")
