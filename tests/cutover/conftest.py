"""Fixtures of the cutover tests: the small world of ``_world.py`` on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from blaze_workbook import cutover

from ._world import AS_OF, build, checksums


@dataclass
class World:
    db: object
    conn: psycopg.Connection
    tmp: Path
    before: dict

    def plan(self, name: str = "run", **kwargs) -> cutover.Plan:
        kwargs.setdefault("as_of", AS_OF)
        kwargs.setdefault("batch_size", 2)  # several batches even on a few rows
        return cutover.plan(self.conn, self.tmp / name, **kwargs)

    def apply(self, name: str = "run", **kwargs) -> cutover.ApplyResult:
        kwargs.setdefault("gate_passed", True)
        return cutover.apply(self.conn, self.tmp / name, **kwargs)

    def checksums(self) -> dict:
        return checksums(self.conn)


@pytest.fixture()
def world(legacy_db, tmp_path) -> Iterator[World]:
    """01_setup applied, staging filled; ``before`` holds every original table's checksum."""
    with legacy_db.connect() as conn:
        build(conn)
        yield World(legacy_db, conn, tmp_path, checksums(conn))
