"""``blaze-workbook``: the product's command line (CONTRACTS.md §1).

Each command only wires options to a function of the package; the logic lives there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__

app = typer.Typer(
    name="blaze-workbook",
    help="Move a dispensary's report-derived Postgres data onto live BLAZE Partner API data, safely.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"blaze-workbook {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Move a dispensary's report-derived Postgres data onto live BLAZE Partner API data, safely."""


def _fault(help: str) -> Any:
    return typer.Option(rich_help_panel="Faults", help=help)


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one (see --ready-file).")] = 8088,
    scale: Annotated[str, typer.Option(help="Dataset preset: tiny, demo, seed or real.")] = "demo",
    seed: Annotated[int, typer.Option(help="Seed of the generated data and of the faults.")] = 0,
    now: Annotated[str | None, typer.Option(
        help="The simulator's now, ISO-8601 or epoch ms (default 2026-11-15T20:00:00Z).")] = None,
    partner_key: Annotated[str | None, typer.Option(
        help="Accepted partner key (else BLAZE_PARTNER_KEY, else the demo key).")] = None,
    developer_key: Annotated[str | None, typer.Option(
        help="Accepted developer key (else BLAZE_DEVELOPER_KEY, else the demo key).")] = None,
    rate_limit_calls: Annotated[int, typer.Option(help="Calls per window and partner key; 0 = no limit.")] = 10_000,
    rate_limit_seconds: Annotated[float, typer.Option(help="Length of the sliding rate-limit window.")] = 300.0,
    live_events_per_call: Annotated[int, typer.Option(help="Live mode: dataset events after every call.")] = 0,
    fault_latency_ms: Annotated[float, _fault("Delay before every answer.")] = 0.0,
    fault_latency_jitter_ms: Annotated[float, _fault("Extra random delay, up to this.")] = 0.0,
    fault_error_rate: Annotated[float, _fault("Fraction of calls answered 500/502/503.")] = 0.0,
    fault_burst_429_every: Annotated[int, _fault("After every N calls a burst of 429s (0 = off).")] = 0,
    fault_burst_429_length: Annotated[int, _fault("429s per burst.")] = 3,
    fault_burst_retry_after: Annotated[bool, _fault("Burst 429s carry Retry-After.")] = True,
    fault_hang_rate: Annotated[float, _fault("Fraction of calls that hang.")] = 0.0,
    fault_hang_seconds: Annotated[float, _fault("How long a hung call stalls.")] = 10.0,
    fault_truncate_rate: Annotated[float, _fault("Fraction of bodies cut mid-way.")] = 0.0,
    fault_invalid_json_rate: Annotated[float, _fault("Fraction of 200s with broken JSON.")] = 0.0,
    fault_drift_rate: Annotated[float, _fault("Fraction of records with schema drift.")] = 0.0,
    fault_move_rate: Annotated[float, _fault("Chance a record moves before a page with skip > 0.")] = 0.0,
    fault_latency_spike_rate: Annotated[float, _fault("Fraction of calls with a latency spike.")] = 0.0,
    fault_latency_spike_ms: Annotated[float, _fault("Length of a latency spike.")] = 2_000.0,
    fault_bad_record_rate: Annotated[float, _fault("Fraction of records sent broken (no id, wrong types, ...).")] = 0.0,
    fault_capped_ranges: Annotated[bool, _fault("Members and products/modified refuse ranges over 7 days (400).")] = False,
    export_truth: Annotated[Path | None, typer.Option(help="Write the data as parquet into DIR and exit.")] = None,
    ready_file: Annotated[Path | None, typer.Option(help="Write the base URL into this file once serving.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    parent_pid: Annotated[int | None, typer.Option(hidden=True, help="Stop when this process is gone.")] = None,
) -> None:
    """Serve the Blaze simulator until stopped (Ctrl-C)."""
    from rich.console import Console
    from rich.markup import escape

    from .blaze.simulator.faults import Faults
    from .blaze.simulator.params import parse_now
    from .blaze.simulator.server import run_foreground
    from .blaze.simulator.settings import SimulatorConfig
    from .errors import WorkbookError

    options: dict[str, Any] = locals()
    console = Console(soft_wrap=True)
    try:
        faults = Faults(**{name: options["fault_" + name] for name in Faults.names()})
        config = SimulatorConfig(
            scale=scale, seed=seed, now_ms=parse_now(now) if now else None, host=host, port=port,
            partner_key=partner_key, developer_key=developer_key, rate_limit_calls=rate_limit_calls,
            rate_limit_seconds=rate_limit_seconds, live_events_per_call=live_events_per_call,
            faults=faults, log_level=log_level,
        )
        run_foreground(config, ready_file=ready_file, export_truth=export_truth, parent_pid=parent_pid,
                       echo=lambda line: console.print(f"[bold]{escape(line)}[/bold]"))
    except WorkbookError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="Simulator preset: tiny, demo, seed or real.")] = "demo",
    seed: Annotated[int, typer.Option(help="Seed of the simulated data.")] = 0,
) -> None:
    """Rehearse the whole migration on the simulator and an embedded Postgres; print the index path last."""
    from .demo import main as demo_main

    raise typer.Exit(demo_main(scale=scale, seed=seed))


# `run` and `status` (the runner package keeps their logic)
from .runner.commands import register as _register_runner  # noqa: E402

_register_runner(app)


if __name__ == "__main__":
    app()
