"""The fault suite's shared parts: the ``faults`` marker, a reference run, fresh staging, the tally.

Every test collected under ``tests/faults`` is marked ``faults``, so the suite runs alone with
``pytest -m faults`` (or is left out with ``-m 'not faults'``). Fault tests compare what a run
left after a fault with what an uninterrupted run left: ``reference`` is that run, once per
session, on a static tiny simulator (``fault_sim``). Each scenario adds what it did to the
``tally`` (runs, faults injected, records verified, losses, duplicates, …), printed at the end of
the session: the figures ``tests/faults/README.md`` quotes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from _fixtures_sim import tiny_config
from blaze_workbook import cutover
from blaze_workbook.blaze.simulator import serve
from blaze_workbook.mapping import TABLES
from blaze_workbook.setup_sql import create_staging
from cutover._world import AS_OF, build

from ._kill import Check, CutoverWorld, Reference, build_reference, digests

HERE = Path(__file__).resolve().parent
#: days of history the reference backfill covers (the tiny preset: a few hundred rows)
REFERENCE_DAYS = 14
#: columns of the tally, in the order printed
FIGURES = ("runs", "faults", "records", "losses", "duplicates", "extra", "changed")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.faults)


class Tally:
    """Per scenario: runs, faults injected, records verified and the differences found."""

    def __init__(self) -> None:
        self.rows: dict[str, Counter[str]] = {}

    def add(self, scenario: str, *, runs: int = 0, faults: int = 0, check: Check | None = None) -> None:
        row = self.rows.setdefault(scenario, Counter())
        row.update(runs=runs, faults=faults)
        if check is not None:
            row.update(records=check.records, losses=check.losses, duplicates=check.duplicates, extra=check.extra,
                       changed=check.changed)

    def lines(self) -> list[str]:
        width = max(len(s) for s in self.rows)
        head = f"{'scenario':<{width}}  " + "  ".join(f"{f:>10}" for f in FIGURES)
        return [head] + [f"{s:<{width}}  " + "  ".join(f"{row[f]:>10,}" for f in FIGURES) for s, row in self.rows.items()]


TALLY = pytest.StashKey[Tally]()


@pytest.fixture(scope="session")
def tally(request: pytest.FixtureRequest) -> Tally:
    """The session's fault tally (printed in the terminal summary)."""
    return request.config.stash.setdefault(TALLY, Tally())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    found = config.stash.get(TALLY, None)
    if found is not None and found.rows:
        terminalreporter.write_sep("-", "fault suite tally")
        for line in found.lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def fault_sim() -> Iterator[object]:
    """A tiny simulator whose data never changes (rate limit off, no faults): seed 5."""
    with serve(tiny_config(seed=5, rate_limit_calls=0)) as sim:
        yield sim


def _staging(pg) -> object:
    db = pg.new_database("empty")
    with db.connect() as conn:
        for t in TABLES:
            conn.execute(create_staging("public", t))
        conn.commit()
    return db


@pytest.fixture()
def new_staging_db(pg) -> Iterator[Callable[[], object]]:
    """A factory of fresh databases holding the staging tables 01_setup creates (dropped afterwards)."""
    made = []

    def make() -> object:
        made.append(_staging(pg))
        return made[-1]

    yield make
    for db in made:
        pg.drop_database(db.name)


@pytest.fixture(scope="session")
def reference(fault_sim, pg, tmp_path_factory) -> Iterator[Reference]:
    """An uninterrupted backfill of the last :data:`REFERENCE_DAYS` days, pushed to its own database."""
    now = datetime.fromtimestamp(fault_sim.dataset.now_ms / 1000, UTC)
    since = (now - timedelta(days=REFERENCE_DAYS)).astimezone(ZoneInfo("America/Los_Angeles")).date()
    db = _staging(pg)
    path = tmp_path_factory.mktemp("reference") / "warehouse.duckdb"
    yield build_reference(fault_sim.url, since, now + timedelta(days=1), path, db.conninfo)
    pg.drop_database(db.name)


@pytest.fixture()
def cutover_world(pg, tmp_path) -> Iterator[Callable[..., CutoverWorld]]:
    """A factory of fresh worlds (``tests/cutover/_world.py``: legacy rows, 01_setup, staging) with
    a plan in ``tmp_path / name`` (``as_of`` fixed, batches of 2 keys unless told otherwise)."""
    made = []

    def make(name: str, **plan: Any) -> CutoverWorld:
        db = pg.new_database("legacy")
        made.append(db)
        plan = {"as_of": AS_OF, "batch_size": 2, **plan}
        with psycopg.connect(db.conninfo) as conn:
            build(conn)
            planned = cutover.plan(conn, tmp_path / name, **plan)
            return CutoverWorld(db, tmp_path / name, planned.run_id, digests(conn))

    yield make
    for db in made:
        pg.drop_database(db.name)
