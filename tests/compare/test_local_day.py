"""``local_day`` (offsets looked up per transition) gives exactly polars' per-row conversion."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from blaze_workbook.compare.local_day import local_day, transitions

LO, HI = datetime(2015, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"])
def test_same_day_as_converting_each_row_even_a_microsecond_around_each_transition(tz: str):
    starts, offsets = transitions(LO, HI, tz)
    assert len(starts) == len(offsets) and starts == sorted(starts)
    near = np.concatenate([np.array(starts[1:], dtype=np.int64) + d for d in (-1, 0, 1)]) if len(starts) > 1 else np.array([], dtype=np.int64)
    spread = np.random.default_rng(0).integers(int(LO.timestamp() * 1e6), int(HI.timestamp() * 1e6), 5_000)
    stamps = pl.Series("t", np.concatenate([spread, near])).cast(pl.Datetime("us", "UTC")).append(pl.Series("t", [None], dtype=pl.Datetime("us", "UTC")))
    frame = stamps.to_frame().lazy()
    got = frame.select(local_day(pl.col("t"), frame, tz)).collect().to_series()
    want = frame.select(pl.col("t").dt.convert_time_zone(tz).dt.date()).collect().to_series()
    assert got.equals(want)
    assert got.null_count() == 1


def test_los_angeles_changes_offset_twice_a_year():
    starts, offsets = transitions(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC), "America/Los_Angeles")
    assert [datetime.fromtimestamp(s / 1e6, UTC) for s in starts[1:]] == [datetime(2024, 3, 10, 10, tzinfo=UTC), datetime(2024, 11, 3, 9, tzinfo=UTC)]
    assert [o // 3_600_000_000 for o in offsets] == [-8, -7, -8]


def test_no_instants_at_all():
    frame = pl.DataFrame({"t": []}, schema={"t": pl.Datetime("us", "UTC")}).lazy()
    assert frame.select(local_day(pl.col("t"), frame, "America/Los_Angeles")).collect().height == 0
