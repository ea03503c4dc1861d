"""``run_sync`` as the tests call it: with ``history_years=0``.

A fill stores members and products whole however short the history asked for (``plan.fill_start``):
weekly windows from the shop's opening, or from ``since`` or ``history_years`` back where earlier,
and one head window for everything older. The product reaches five years back by default, for an
API that refuses the head window. The simulator serves it, and its ``tiny`` shop opened a year
ago, so the default's four earlier years are some 420 empty calls per fill of the two entities;
the suite runs dozens of fills. With ``history_years=0`` the weekly windows start at the opening
and the head window brings what is older, so the tests still demand every member and product.
Tests of the history bound itself pass it (``history_years=…`` wins over this default).
"""

from __future__ import annotations

from typing import Any

from blaze_workbook.sync import SyncSummary
from blaze_workbook.sync import run_sync as _run_sync


def run_sync(*args: Any, history_years: int = 0, **kwargs: Any) -> SyncSummary:
    return _run_sync(*args, history_years=history_years, **kwargs)
