"""Dataset sizes of the simulator, as data.

A preset fixes how many records of each kind the simulator generates and over how many years of
history. ``tiny`` is for unit tests, ``demo`` for ``make demo``, ``seed`` matches the user's
legacy database, ``real`` matches the counts of the real shop in ``shared/blaze/API.md`` §8.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from ...errors import ConfigurationError

#: the shop's time zone (every sample transaction carries it)
SHOP_TZ = "America/Los_Angeles"

#: the simulator's fixed "now", 2026-11-15T20:00:00Z, so that data is reproducible
DEFAULT_NOW_MS: int = int(_dt.datetime(2026, 11, 15, 20, 0, 0, tzinfo=_dt.UTC).timestamp() * 1000)


@dataclass(frozen=True)
class Preset:
    """How much data to generate; ``transactions`` counts sales, refunds, cancels and voids."""

    name: str
    members: int
    products: int
    transactions: int
    years: float
    employees: int
    terminals: int
    vendors: int
    brands: int
    categories: int


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("tiny", 300, 120, 3_000, 1.0, employees=6, terminals=3, vendors=8, brands=12, categories=10),
        Preset("demo", 3_000, 800, 40_000, 2.0, employees=14, terminals=4, vendors=25, brands=50, categories=14),
        Preset("seed", 10_500, 7_900, 197_500, 4.5, employees=38, terminals=6, vendors=70, brands=140, categories=18),
        Preset("real", 131_005, 7_868, 190_000, 4.5, employees=45, terminals=6, vendors=70, brands=140, categories=18),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name fails with the list of valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        valid = ", ".join(PRESETS)
        raise ConfigurationError(
            f"unknown simulator scale {name!r}; valid scales: {valid}",
            hint=f"pick one of: {valid}",
        ) from None


__all__ = ["DEFAULT_NOW_MS", "PRESETS", "SHOP_TZ", "Preset", "get_preset"]
