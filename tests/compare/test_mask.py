"""Masking keeps a value's shape and last two characters, only for personal fields."""

from __future__ import annotations

import polars as pl
import pytest

from blaze_workbook.compare.mask import mask_pii, mask_text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+1 (555) 010-2030", "+9 (999) 999-9930"),
        ("Ann.Lee@Example.com", "Xxx.Xxx@Xxxxxxx.xom"),
        ("Zoë", "Xoë"),
        ("ab", "ab"),
        ("a", "a"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_text(raw, masked):
    assert pl.select(mask_text(pl.lit(raw, dtype=pl.String))).item() == masked


def test_mask_pii_only_touches_personal_fields():
    frame = pl.DataFrame(
        {
            "table": ["customers", "customers", "transactions"],
            "key": ["m1", "m1", "t1"],
            "field": ["phone", "city", "total_amount"],
            "existing": ["555-010-2030", "Oakland", "12.50"],
            "blaze": ["5550102030", "oakland", "12.5"],
            "existing_norm": ["5550102030", "Oakland", "12.5"],
            "blaze_norm": ["5550102030", "oakland", "12.5"],
            "kind": ["format_only", "real", "equal"],
        }
    )
    out = mask_pii(frame)
    assert out["existing"].to_list() == ["999-999-9930", "Oakland", "12.50"]
    assert out["blaze_norm"].to_list() == ["9999999930", "oakland", "12.5"]
    assert out.select("table", "key", "field", "kind").equals(frame.select("table", "key", "field", "kind"))
    assert mask_pii(frame.lazy(), fields=[]).collect().equals(frame)
