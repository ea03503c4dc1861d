"""The shop-local calendar day of UTC instants, fast: the zone's offsets looked up, not computed.

``instant.dt.convert_time_zone(tz).dt.date()`` consults the time-zone database for every row
(about a third of the derived fields' time on millions of transactions). A zone's UTC offset
only changes at a few instants a year, so :func:`local_day` finds those transitions once, for
the span of the data (polars' own zone database, an hourly grid, then bisection to the
microsecond), and gives each row ``date(utc + offset in force)``: by definition the same day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

_HOUR = timedelta(hours=1)
_SECONDS = 3600


def _offset_us(instants: pl.Series, tz: str) -> pl.Series:
    """UTC offset (microseconds) of each aware UTC instant in ``tz``."""
    local = instants.dt.convert_time_zone(tz).dt.replace_time_zone(None)
    return (local - instants.dt.replace_time_zone(None)).dt.total_microseconds()


def transitions(lo: datetime, hi: datetime, tz: str) -> tuple[list[int], list[int]]:
    """``(starts, offsets)`` covering ``[lo, hi]`` (aware UTC): from ``starts[i]`` (epoch µs) the
    offset is ``offsets[i]`` µs. ``starts[0]`` is at or before ``lo``.

    An hourly grid finds the hours in which the offset changes; each such hour's seconds then
    give the transition itself (the zone database counts in whole seconds).
    """
    grid = pl.datetime_range(lo.replace(minute=0, second=0, microsecond=0), hi + _HOUR, _HOUR, time_unit="us", time_zone="UTC", eager=True)
    offsets = _offset_us(grid, tz).to_numpy()
    stamps = grid.dt.epoch("us").to_numpy()
    changed = np.flatnonzero(offsets[1:] != offsets[:-1]) + 1
    starts, values = [int(stamps[0])], [int(offsets[0])]
    if len(changed):
        seconds = (stamps[changed - 1][:, None] + np.arange(1, _SECONDS + 1, dtype=np.int64)[None, :] * 1_000_000).ravel()
        within = _offset_us(pl.Series(seconds).cast(pl.Datetime("us", "UTC")), tz).to_numpy().reshape(len(changed), _SECONDS)
        for row, i in enumerate(changed):
            first = int(np.argmax(within[row] == offsets[i]))  # the hour's last second has it: argmax finds one
            starts.append(int(stamps[i - 1]) + (first + 1) * 1_000_000)
            values.append(int(offsets[i]))
    return starts, values


def local_day(stamp: pl.Expr, frame: pl.LazyFrame, tz: str) -> pl.Expr:
    """The calendar day in ``tz`` of ``stamp`` (aware UTC instants of ``frame``); NULL stays NULL.

    Reads ``stamp``'s minimum and maximum from ``frame`` once (the span the offsets cover).
    """
    lo, hi = frame.select(stamp.min().alias("lo"), stamp.max().alias("hi")).collect().row(0)
    if lo is None:
        return stamp.dt.convert_time_zone(tz).dt.date()
    starts, offsets = transitions(lo, hi, tz)
    if len(starts) == 1:
        shift = pl.duration(microseconds=offsets[0])
    else:
        found = pl.lit(pl.Series(starts, dtype=pl.Int64)).search_sorted(stamp.dt.epoch("us"), side="right")
        index = (found.cast(pl.Int64) - 1).clip(lower_bound=0)  # a NULL instant looks up 0: its day is NULL all the same
        shift = pl.duration(microseconds=pl.lit(pl.Series(offsets, dtype=pl.Int64)).gather(index))
    return (stamp.dt.replace_time_zone(None) + shift).dt.date()


__all__ = ["local_day", "transitions"]
