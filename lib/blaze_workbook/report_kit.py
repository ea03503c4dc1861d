"""What notebooks call to show results: great-tables tables, inline plots, PII masks, JSON outputs.

Tables are built as one chain and styled by ``GT -> GT`` helpers, so a notebook cell reads::

    report_kit.summary_table(df, "Field mismatches").pipe(report_kit.style_gate, column="rate", threshold=0.05)

Reports must open offline, so plots are embedded as base64 PNG (:func:`inline_plot`) and no
helper adds web fonts. PII masks exist twice with one rule each: as polars expressions for
frames (:func:`mask_pii`) and as scalar functions (:func:`mask_phone`, :func:`mask_email`,
:func:`mask_name`) that evaluate the same expression, so the two can never disagree. Every mask
is idempotent (masking a masked value changes nothing) and never shows a full value.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from great_tables import GT, loc, style

if TYPE_CHECKING:
    from IPython.display import HTML
    from matplotlib.figure import Figure

#: the character masks are drawn with
BULLET = "•"
PASS_FILL, FAIL_FILL = "#dafbe1", "#ffebe9"
PASS_TEXT, FAIL_TEXT = "#1a7f37", "#cf222e"
#: above this many columns a summary table is set in a smaller font, with less padding
WIDE_COLUMNS = 10


# --- tables ---------------------------------------------------------------------------------

def summary_table(
    df: pl.DataFrame,
    title: str,
    subtitle: str | None = None,
    *,
    rowname_col: str | None = None,
    decimals: int = 2,
    percent_cols: Sequence[str] = (),
    money_cols: Sequence[str] = (),
    source_note: str | None = None,
    table_id: str | None = None,
) -> GT:
    """A titled table with integers grouped, floats rounded, rates as percents, money as dollars.

    Time stamps are shown to the second (microseconds and ``+00:00`` only widen sample tables
    past the page) and dates and time stamps never wrap; a table of more than
    :data:`WIDE_COLUMNS` columns is set smaller and tighter, so a sample of records still fits
    a laptop-wide page. ``table_id`` fixes the HTML id (random otherwise), for snapshot tests
    and stable anchors.
    """
    ints = [c for c, t in df.schema.items() if t.is_integer() and c != rowname_col]
    floats = [c for c, t in df.schema.items()
              if (t.is_float() or t.is_decimal()) and c not in (*percent_cols, *money_cols)]
    times = [c for c, t in df.schema.items() if isinstance(t, (pl.Date, pl.Datetime))]
    df = df.with_columns(_seconds(pl.col(c), t) for c, t in df.schema.items() if isinstance(t, pl.Datetime))
    table = GT(df, rowname_col=rowname_col, id=table_id).tab_header(title=title, subtitle=subtitle)
    table = table.tab_style(style.css("white-space: nowrap"), loc.body(columns=times)) if times else table
    table = table.fmt_integer(columns=ints) if ints else table
    table = table.fmt_number(columns=floats, decimals=decimals) if floats else table
    table = table.fmt_percent(columns=list(percent_cols), decimals=decimals) if percent_cols else table
    table = table.fmt_currency(columns=list(money_cols), currency="USD") if money_cols else table
    table = table.tab_source_note(source_note) if source_note else table
    table = table.opt_row_striping().tab_options(table_font_size="14px", heading_align="left")
    if len(df.columns) > WIDE_COLUMNS:
        table = table.tab_options(table_font_size="12px", data_row_padding_horizontal="3px",
                                  column_labels_padding_horizontal="3px")
    return table


def _seconds(expr: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    """A time stamp as ``2026-11-15 18:52:23``, with its zone's abbreviation (``UTC``) when it has one."""
    return expr.dt.strftime("%Y-%m-%d %H:%M:%S %Z" if dtype.time_zone else "%Y-%m-%d %H:%M:%S")


def style_gate(gt: GT, *, column: str = "rate", threshold: float = 0.05, inclusive: bool = True) -> GT:
    """Colour ``column`` green below ``threshold`` and red at or above it (``inclusive``)."""
    value = pl.col(column)
    failing = value >= threshold if inclusive else value > threshold
    return (
        gt.tab_style(style=[style.fill(color=FAIL_FILL), style.text(color=FAIL_TEXT, weight="bold")],
                     locations=loc.body(columns=column, rows=failing))
        .tab_style(style=[style.fill(color=PASS_FILL), style.text(color=PASS_TEXT)],
                   locations=loc.body(columns=column, rows=~failing))
    )


def highlight_rows(gt: GT, rows: pl.Expr, *, color: str = "#fff8c5") -> GT:
    """Fill the rows where ``rows`` (a polars expression) holds."""
    return gt.tab_style(style=style.fill(color=color), locations=loc.body(rows=rows))


# --- plots ----------------------------------------------------------------------------------

def figure(width: float = 7.0, height: float = 3.5) -> Figure:
    """A matplotlib figure not managed by pyplot, so it is shown only where the notebook says."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def inline_plot(fig: Figure, *, dpi: int = 110, alt: str = "plot") -> HTML:
    """``fig`` as an ``<img>`` with its PNG inlined (base64), for self-contained reports."""
    from html import escape

    from IPython.display import HTML

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return HTML(f'<img alt="{escape(alt)}" style="max-width:100%" src="data:image/png;base64,{encoded}">')


# --- PII masks (expressions) ----------------------------------------------------------------

def phone_mask(expr: pl.Expr) -> pl.Expr:
    """Keep the last 2 digits, bullets for the rest (``••••••••67``); 2 digits or fewer: all bullets."""
    digits = expr.str.replace_all(r"[^0-9]", "")
    positions = digits.str.len_chars() + expr.str.count_matches(BULLET, literal=True)
    keep = (positions >= 3) & (digits.str.len_chars() >= 2)
    masked = pl.when(keep).then(digits.str.slice(-2)).otherwise(pl.lit("")).str.pad_start(positions, BULLET)
    return pl.when(expr.is_null() | (expr.str.strip_chars() == "")).then(expr).otherwise(masked)


def email_mask(expr: pl.Expr) -> pl.Expr:
    """First character, then ``•••@•••`` and the top-level domain (``j•••@•••.com``)."""
    text = expr.str.strip_chars()
    tld = text.str.extract(r"@[^@]*\.([^.@]+)$", 1)
    domain = pl.when(tld.is_null()).then(pl.lit(BULLET * 3)).otherwise(pl.lit(BULLET * 3 + ".") + tld)
    masked = pl.when(text.str.contains("@", literal=True)).then(
        text.str.slice(0, 1) + pl.lit(BULLET * 3 + "@") + domain
    ).otherwise(text.str.slice(0, 1) + pl.lit(BULLET * 3))
    return pl.when(expr.is_null() | (text == "")).then(expr).otherwise(masked)


def name_mask(expr: pl.Expr) -> pl.Expr:
    """Initials: ``Jane Q. Doe-Smith`` -> ``J. Q. D.``."""
    initials = (
        expr.str.extract_all(r"[^\s.\-']+")
        .list.eval(pl.element().str.slice(0, 1).str.to_uppercase() + pl.lit("."))
        .list.join(" ")
    )
    return pl.when(expr.is_null() | (expr.str.strip_chars() == "")).then(expr).otherwise(initials)


def mask_pii(
    df: pl.DataFrame,
    *,
    phone: Sequence[str] = (),
    email: Sequence[str] = (),
    name: Sequence[str] = (),
) -> pl.DataFrame:
    """A copy of ``df`` with the named columns masked (the input is not modified)."""
    masks = ([phone_mask(pl.col(c)).alias(c) for c in phone]
             + [email_mask(pl.col(c)).alias(c) for c in email]
             + [name_mask(pl.col(c)).alias(c) for c in name])
    return df.with_columns(masks) if masks else df.clone()


# --- PII masks (scalars) --------------------------------------------------------------------

def _one(mask: Any, value: str | None) -> str | None:
    return pl.select(mask(pl.lit(value, dtype=pl.String))).item()


def mask_phone(value: str | None) -> str | None:
    """Scalar :func:`phone_mask`: ``(555) 123-4567`` -> ``••••••••67``."""
    return _one(phone_mask, value)


def mask_email(value: str | None) -> str | None:
    """Scalar :func:`email_mask`: ``jane.doe@example.com`` -> ``j•••@•••.com``."""
    return _one(email_mask, value)


def mask_name(value: str | None) -> str | None:
    """Scalar :func:`name_mask`: ``Jane Doe`` -> ``J. D.``."""
    return _one(name_mask, value)


# --- run outputs ----------------------------------------------------------------------------

def write_json(run_dir: str | Path, filename: str, data: Any) -> None:
    """Write ``data`` as ``run_dir/filename`` (atomically); notebooks get ``run_dir`` injected.

    Returns nothing, so a notebook cell ending with this call shows no output.
    """
    target = Path(run_dir) / filename
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, target)


def write_key_figures(run_dir: str | Path, figures: Mapping[str, Any]) -> None:
    """Merge ``figures`` into ``run_dir/key_figures.json``, shown in ``run.json`` and the index."""
    path = Path(run_dir) / "key_figures.json"
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    merged = {**(current if isinstance(current, dict) else {}), **figures}
    write_json(run_dir, path.name, merged)
