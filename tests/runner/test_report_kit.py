"""report_kit: tables as GT chains, inline plots, PII masks, run outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from great_tables import GT
from hypothesis import given, settings
from hypothesis import strategies as st

from blaze_workbook import report_kit as rk

BULLET = rk.BULLET


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        (rk.mask_phone, "(555) 123-4567", BULLET * 8 + "67"),
        (rk.mask_phone, "+1 555.123.4567", BULLET * 9 + "67"),
        (rk.mask_phone, BULLET * 8 + "67", BULLET * 8 + "67"),
        (rk.mask_phone, "67", BULLET * 2),
        (rk.mask_phone, "", ""),
        (rk.mask_phone, None, None),
        (rk.mask_email, "Jane.Doe@Example.com", f"J{BULLET * 3}@{BULLET * 3}.com"),
        (rk.mask_email, "a@localhost", f"a{BULLET * 3}@{BULLET * 3}"),
        (rk.mask_email, "not-an-email", f"n{BULLET * 3}"),
        (rk.mask_email, None, None),
        (rk.mask_name, "Jane Q. Doe", "J. Q. D."),
        (rk.mask_name, "mary-jane  o'neil", "M. J. O. N."),
        (rk.mask_name, "émile zola", "É. Z."),
        (rk.mask_name, None, None),
    ],
)
def test_masks(mask, value, expected):
    assert mask(value) == expected


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789 ()-+.x", min_size=0, max_size=20))
def test_phone_mask_is_idempotent_and_hides_all_but_two_digits(value: str):
    masked = rk.mask_phone(value)
    assert rk.mask_phone(masked) == masked
    if len(_digits(value)) >= 3:
        assert _digits(value) not in _digits(masked)
        assert len(_digits(masked)) == 2


_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=2, max_size=12)
_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10)


@settings(max_examples=60, deadline=None)
@given(_local, _label, _label)
def test_email_mask_is_idempotent_and_hides_local_part_and_domain(local: str, domain: str, tld: str):
    value = f"{local}@{domain}.{tld}"
    masked = rk.mask_email(value)
    assert rk.mask_email(masked) == masked
    assert value not in masked and f"@{domain}." not in masked and local not in masked.split("@")[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzÀÉ", min_size=2, max_size=10), min_size=1, max_size=4))
def test_name_mask_is_idempotent_and_hides_every_name_part(parts: list[str]):
    value = " ".join(parts)
    masked = rk.mask_name(value)
    assert rk.mask_name(masked) == masked
    assert all(part not in masked for part in parts)


def test_frame_masks_match_scalar_masks_and_leave_input_alone():
    df = pl.DataFrame({"phone": ["555-123-4567", None], "email": ["x.y@z.org", ""], "name": ["Ann Lee", "Bo"],
                       "other": [1, 2]})
    out = rk.mask_pii(df, phone=["phone"], email=["email"], name=["name"])
    assert out["phone"].to_list() == [rk.mask_phone("555-123-4567"), None]
    assert out["email"].to_list() == [rk.mask_email("x.y@z.org"), ""]
    assert out["name"].to_list() == ["A. L.", "B."]
    assert out["other"].to_list() == [1, 2]
    assert df["phone"][0] == "555-123-4567"


def test_summary_table_chain_formats_and_gates():
    df = pl.DataFrame({"field": ["phone", "email"], "rate": [0.01, 0.2], "compared": [12000, 20],
                       "amount": [1234.5, 2.0]})
    table = rk.summary_table(df, "Mismatches", "by field", rowname_col="field", percent_cols=["rate"],
                             money_cols=["amount"], source_note="compare run").pipe(rk.style_gate, threshold=0.05)
    assert isinstance(table, GT)
    html = table.as_raw_html()
    for text in ("Mismatches", "by field", "1.00%", "20.00%", "12,000", "$1,234.50", "compare run"):
        assert text in html, text
    assert rk.FAIL_FILL in html and rk.PASS_FILL in html
    assert "http://" not in html and "https://" not in html  # no web fonts


def test_style_gate_does_not_mutate_its_input():
    base = rk.summary_table(pl.DataFrame({"rate": [0.5]}), "t", table_id="gate")
    before = base.as_raw_html()
    rk.style_gate(base, threshold=0.05)
    assert base.as_raw_html() == before


def test_inline_plot_embeds_a_png():
    fig = rk.figure(2, 1)
    fig.add_subplot().plot([0, 1], [1, 0])
    html = rk.inline_plot(fig, alt='a "plot"').data
    assert html.startswith('<img alt="a &quot;plot&quot;"') and "data:image/png;base64,iVBORw0KGgo" in html


def test_write_key_figures_merges(tmp_path: Path):
    rk.write_key_figures(tmp_path, {"a": 1})
    rk.write_key_figures(tmp_path, {"b": 2})
    assert json.loads((tmp_path / "key_figures.json").read_text()) == {"a": 1, "b": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["key_figures.json"]
