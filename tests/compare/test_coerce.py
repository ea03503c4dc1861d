"""Values as stored: text parsed into the rule's type, typed columns cast, displays."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from blaze_workbook.compare.coerce import as_stored, display, is_blank, unparsed


def typed(values, source, dtype):
    frame = pl.DataFrame({"x": pl.Series(values, dtype=source)})
    return frame.select(as_stored(pl.col("x"), frame.schema["x"], dtype)).to_series().to_list()


@pytest.mark.parametrize(
    ("raw", "dtype", "expected"),
    [
        ("12.50", "decimal", Decimal("12.5")),
        (" -3 ", "decimal", Decimal("-3")),
        ("", "decimal", None),
        ("2024-01-05", "date", date(2024, 1, 5)),
        ("2024-01-05 00:00:00", "date", date(2024, 1, 5)),
        ("2024-01-05 12:00:00-08", "instant", datetime(2024, 1, 5, 20, tzinfo=UTC)),
        ("2024-01-05 12:00:00.5+05:30", "instant", datetime(2024, 1, 5, 6, 30, 0, 500000, tzinfo=UTC)),
        ("2024-01-05T20:00:00Z", "instant", datetime(2024, 1, 5, 20, tzinfo=UTC)),
        ("2024-01-05T20:00:00.000000+0000", "instant", datetime(2024, 1, 5, 20, tzinfo=UTC)),
        ("2024-01-05 20:00:00", "instant", datetime(2024, 1, 5, 20, tzinfo=UTC)),  # no zone: UTC
        ("t", "bool", True),
        ("FALSE", "bool", False),
        ("", "bool", None),
        (" Ann ", "text", " Ann "),  # text is as stored
    ],
)
def test_from_text(raw, dtype, expected):
    assert typed([raw], pl.String, dtype) == [expected]


def test_from_typed_columns():
    assert typed([1.5, 0.1 + 0.2], pl.Float64, "decimal") == [Decimal("1.5"), Decimal("0.3")]
    assert typed([2], pl.Int64, "decimal") == [Decimal(2)]
    assert typed([datetime(2024, 1, 1, 12)], pl.Datetime("us"), "instant") == [datetime(2024, 1, 1, 12, tzinfo=UTC)]
    la = pl.Series([datetime(2024, 1, 1, 12)]).dt.replace_time_zone("America/Los_Angeles")
    frame = la.to_frame("x")
    assert frame.select(as_stored(pl.col("x"), frame.schema["x"], "instant")).item() == datetime(2024, 1, 1, 20, tzinfo=UTC)
    assert typed([None], pl.Null, "date") == [None]
    assert typed([3], pl.Int64, "text") == ["3"]


def test_unparsed_marks_only_non_empty_text_that_failed():
    frame = pl.DataFrame({"x": ["1.5", "", None, "n/a", " "]})
    t = as_stored(pl.col("x"), pl.String(), "decimal")
    assert frame.select(unparsed(pl.col("x"), t, pl.String(), "decimal")).to_series().to_list() == [False, False, False, True, False]


def test_blank_and_display():
    frame = pl.DataFrame({"s": ["", None, "a"], "n": [Decimal("12.50"), Decimal("3"), None]}, schema={"s": pl.String, "n": pl.Decimal(38, 10)})
    assert frame.select(is_blank(pl.col("s"), pl.String())).to_series().to_list() == [True, True, False]
    assert frame.select(display(pl.col("n"), "decimal")).to_series().to_list() == ["12.5", "3", None]
    stamp = pl.DataFrame({"t": [datetime(2024, 1, 1, 20, 0, 0, 250000, tzinfo=UTC)]})
    assert stamp.select(display(pl.col("t"), "instant")).item() == "2024-01-01T20:00:00.250Z"
