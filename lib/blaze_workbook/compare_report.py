"""The 03_compare report's pieces: inputs, the gate line, tables, examples, plots, run-to-run changes.

The notebook stays thin (STYLE.md rule 11): each cell calls one function from here or from
:mod:`.compare`. Tables are ``GT -> GT`` chains (rule 10) built on :func:`report_kit.summary_table`;
plots are inline PNGs (:func:`report_kit.inline_plot`), so the report opens offline. Examples of
personal fields are masked by :func:`compare.mask_pii` unless the run says otherwise, and the
report then says so in red at the top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
from great_tables import GT, loc, style

from . import compare as C
from . import report_kit
from .config import workbook_home
from .errors import WorkbookError
from .setup_sql import MetricsRules

if TYPE_CHECKING:
    from IPython.display import HTML

#: personal fields masked in the examples: the compare's list plus the staff member's name
MASKED_FIELDS: tuple[str, ...] = (*C.PII_FIELDS, "transactions.staff_name")
#: discrepancy kinds in the order examples are picked (most telling first)
EXAMPLE_ORDER: tuple[str, ...] = ("real", "missing_in_blaze", "missing_in_existing", "format_only")
#: the VIP tiers from lowest to highest (matrix order)
TIERS: tuple[str, ...] = ("New", "Casual", "Regular", "VIP")
_PASS, _FAIL = report_kit.PASS_TEXT, report_kit.FAIL_TEXT


# --------------------------------------------------------------------------- inputs


def shop_timezone(fallback: str = "America/Los_Angeles", warehouse: Path | str | None = None) -> str:
    """The shop's zone from the sync's warehouse (its ``/store`` look-up) when there is one, else ``fallback``.

    A warehouse that is missing, locked or unreadable gives the fallback: the compare can still
    run from Postgres alone.
    """
    from .sync.warehouse import Warehouse, default_path

    path = Path(warehouse) if warehouse is not None else default_path()
    if not path.is_file():
        return MetricsRules(timezone=fallback).timezone
    try:
        with Warehouse.open(path, timezone_fallback=fallback) as wh:
            return wh.timezone
    except WorkbookError:
        return MetricsRules(timezone=fallback).timezone


def resolve_as_of(as_of: str | date | None, timezone: str) -> date:
    """``as_of`` as a date; ``None`` or ``""``: today in the shop's time zone."""
    if as_of is None or as_of == "":
        return datetime.now(ZoneInfo(timezone)).date()
    if isinstance(as_of, datetime):
        return as_of.date()
    return as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))


@dataclass(frozen=True)
class Sides:
    """Both sides of the compare and where they came from."""

    existing: dict[str, pl.DataFrame | pl.LazyFrame]
    blaze: dict[str, pl.DataFrame]
    source: str

    def frame(self) -> pl.DataFrame:
        """Rows per table on each side, for the "inputs" line of the report."""
        names = list(dict.fromkeys([*self.existing, *self.blaze]))
        return pl.DataFrame({
            "table": names,
            "existing": [_height(self.existing.get(n)) for n in names],
            "blaze_staging": [_height(self.blaze.get(n)) for n in names],
        }, schema={"table": pl.String, "existing": pl.Int64, "blaze_staging": pl.Int64})


def _height(frame: pl.DataFrame | pl.LazyFrame | None) -> int | None:
    if frame is None:
        return None
    return frame.height if isinstance(frame, pl.DataFrame) else frame.select(pl.len()).collect().item()


def load_sides(conn: psycopg.Connection, source: str = "postgres") -> Sides:
    """The existing tables (Postgres, or a folder of ``<table>.csv|parquet`` exports) and the Blaze staging tables."""
    if source == "postgres":
        return Sides(C.existing_from_postgres(conn), C.staging_from_postgres(conn), "Postgres (existing tables)")
    return Sides(dict(C.from_folder(source)), C.staging_from_postgres(conn), f"exports in {Path(source).name}/")


# --------------------------------------------------------------------------- the verdict


def gate_banner(gate: C.Gate) -> HTML:
    """The gate's verdict as one big coloured line: PASSED, or FAILED with the failing fields and why."""
    from IPython.display import HTML

    if gate.passed:
        head = f"Gate PASSED: every key field's mismatch rate is below {gate.threshold:.2%}"
        color, fill, detail = _PASS, report_kit.PASS_FILL, ""
    else:
        head = f"Gate FAILED: {len(gate.failing_fields)} key field(s) at or above {gate.threshold:.2%}"
        color, fill = _FAIL, report_kit.FAIL_FILL
        items = "".join(f"<li><b>{escape(f)}</b>: {escape(gate.reasons.get(f, 'failing'))}</li>" for f in gate.failing_fields)
        detail = f'<ul style="font-size:15px;margin:6px 0 0 0">{items}</ul>'
    return HTML(
        f'<div style="background:{fill};color:{color};border-left:8px solid {color};padding:12px 16px;margin:8px 0">'
        f'<div style="font-size:26px;font-weight:700">{escape(head)}</div>{detail}</div>'
    )


def masking_note(mask_pii: bool) -> HTML:
    """A red warning when examples are shown unmasked; a quiet note otherwise."""
    from IPython.display import HTML

    if mask_pii:
        return HTML('<p style="color:#57606a">Personal values (names, phones, emails, addresses) in the examples are masked.</p>')
    return HTML(
        f'<p style="color:{_FAIL};font-size:20px;font-weight:700">mask_pii = false: this report shows personal data '
        "(names, phones, emails, addresses) unmasked. Do not share it.</p>"
    )


# --------------------------------------------------------------------------- tables


def counts_frame(result: C.CompareResult) -> pl.DataFrame:
    """Per table: rows on each side, matched, only on one side, duplicate and orphan rows per side."""
    return result.tables_frame()


def counts_table(result: C.CompareResult) -> GT:
    """Counts on each side per table; rows only on one side highlighted when there are any."""
    return (
        report_kit.summary_table(counts_frame(result), "Rows on each side", "matched by key; duplicates and orphans per side",
                                 rowname_col="table")
        .sub_missing(missing_text="—")
        .pipe(highlight_nonzero, columns=["only_existing", "only_blaze"])
    )


def highlight_nonzero(gt: GT, *, columns: Iterable[str], color: str = "#fff8c5") -> GT:
    """Fill the cells of ``columns`` that hold a number above zero."""
    out = gt
    for column in columns:
        out = out.tab_style(style=style.fill(color=color), locations=loc.body(columns=column, rows=pl.col(column) > 0))
    return out


def fields_frame(result: C.CompareResult) -> pl.DataFrame:
    """Per table and field: the kinds, the rate, whether it is a key field and its gate status."""
    frame = result.fields_frame()
    failing = list(result.gate.failing_fields)
    name = pl.concat_str(["table", "field"], separator=".")
    status = (
        pl.when(~pl.col("key_field")).then(pl.lit("reported"))
        .when(name.is_in(failing)).then(pl.lit("FAIL"))
        .otherwise(pl.lit("pass"))
    )  # fmt: skip
    return frame.select(
        "table", "field", "compared", "mismatched", "rate", "real", "missing_in_blaze", "missing_in_existing",
        "format_only", "key_field", status.alias("gate"),
    )


def fields_table(result: C.CompareResult, threshold: float | None = None) -> GT:
    """The per-field summary, rates coloured against the gate's threshold."""
    limit = result.gate.threshold if threshold is None else threshold
    return (
        report_kit.summary_table(
            fields_frame(result), "Fields compared",
            f"mismatched = real + missing_in_blaze + missing_in_existing; the gate reads key fields only (threshold {limit:.2%})",
            percent_cols=["rate"],
        )
        .pipe(report_kit.style_gate, column="rate", threshold=limit)
        .pipe(style_status)
    )


def style_status(gt: GT, *, column: str = "gate") -> GT:
    """Colour the gate status column: ``FAIL`` red, ``pass`` green, ``reported`` grey."""
    value = pl.col(column)
    return (
        gt.tab_style(style=[style.fill(color=report_kit.FAIL_FILL), style.text(color=_FAIL, weight="bold")],
                     locations=loc.body(columns=column, rows=value == "FAIL"))
        .tab_style(style=[style.fill(color=report_kit.PASS_FILL), style.text(color=_PASS, weight="bold")],
                   locations=loc.body(columns=column, rows=value == "pass"))
        .tab_style(style=style.text(color="#57606a"), locations=loc.body(columns=column, rows=value == "reported"))
    )


def examples(result: C.CompareResult, *, per_field: int = 3, mask_pii: bool = True) -> pl.DataFrame:
    """Up to ``per_field`` discrepancies per field, real ones first; personal values masked unless told."""
    if per_field < 0:  # polars would fail with an unsigned-conversion error that names no parameter
        from .errors import ConfigurationError

        raise ConfigurationError(f"examples_per_field must be 0 or more; got {per_field}")
    rank = pl.col("kind").cast(pl.String).replace_strict(list(EXAMPLE_ORDER), list(range(len(EXAMPLE_ORDER))), default=len(EXAMPLE_ORDER))
    frame = result.discrepancies
    frame = C.mask_pii(frame, MASKED_FIELDS) if mask_pii else frame
    return (
        frame.with_columns(rank.alias("_rank"))
        .sort("table", "field", "_rank", "key")
        .group_by("table", "field", maintain_order=True)
        .head(per_field)
        .select("table", "field", pl.col("kind").cast(pl.String), "key", "existing", "blaze")
    )


def examples_table(result: C.CompareResult, *, per_field: int = 3, mask_pii: bool = True) -> GT:
    """The examples as a table, grouped by table and field."""
    frame = examples(result, per_field=per_field, mask_pii=mask_pii).with_columns(
        pl.concat_str(["table", "field"], separator=".").alias("where")
    ).drop("table", "field")
    note = "personal values masked (shape kept: X letters, 9 digits, last two characters shown)" if mask_pii else "UNMASKED"
    return (
        GT(frame, rowname_col="key", groupname_col="where")
        .tab_header(title="Examples per field", subtitle=f"up to {per_field} per field, real differences first; {note}")
        .sub_missing(missing_text="∅")
        .tab_options(table_font_size="13px", heading_align="left", row_group_font_weight="bold")
    )


# --------------------------------------------------------------------------- plots


def metric_pairs(sides: Sides, *, as_of: date, rules: MetricsRules) -> pl.DataFrame:
    """Per matched customer: lifetime value, days since the last visit and VIP tier, existing against Blaze-derived."""
    existing = sides.existing["customers"].lazy().select(
        pl.col("member_id").cast(pl.String),
        pl.col("lifetime_value").cast(pl.Float64, strict=False).alias("ltv_existing"),
        pl.col("days_since_last_visit").cast(pl.Int64, strict=False).alias("days_existing"),
        pl.col("vip_status").cast(pl.String).alias("vip_existing"),
    ).unique("member_id", keep="first", maintain_order=True).collect()
    derived = C.derived_metrics(sides.blaze["customers"], sides.blaze["transactions"], as_of=as_of, rules=rules).select(
        "member_id",
        pl.col("lifetime_value").cast(pl.Float64).alias("ltv_blaze"),
        pl.col("days_since_last_visit").alias("days_blaze"),
        pl.col("vip_status").alias("vip_blaze"),
    ).unique("member_id", keep="first", maintain_order=True)
    return existing.join(derived, on="member_id", how="inner")


def ltv_plot(pairs: pl.DataFrame) -> HTML:
    """Lifetime value: existing against Blaze-derived (scatter), and the difference (histogram)."""
    fig = report_kit.figure(9, 3.6)
    scatter, hist = fig.subplots(1, 2)
    both = pairs.drop_nulls(["ltv_existing", "ltv_blaze"])
    x, y = both["ltv_existing"].to_numpy(), both["ltv_blaze"].to_numpy()
    scatter.scatter(x, y, s=8, alpha=0.5, color="#0969da")
    top = float(max(x.max(), y.max())) if both.height else 1.0
    scatter.plot([0, top], [0, top], color="#57606a", linewidth=1, linestyle="--", label="no change")
    scatter.set(xlabel="existing lifetime value ($)", ylabel="Blaze-derived lifetime value ($)", title="Lifetime value per customer")
    scatter.legend(loc="upper left")
    diff = y - x
    hist.hist(diff, bins=40, color="#8250df")
    hist.set(xlabel="Blaze − existing ($)", ylabel="customers", title=f"Drift ({int((abs(diff) > 0.005).sum())} of {both.height} differ)")
    for axis in (scatter.xaxis, scatter.yaxis, hist.xaxis):
        _dollars(axis)
    return report_kit.inline_plot(fig, alt="lifetime value drift")


def _dollars(axis: Any) -> None:
    """At most five ticks, with thousands separators: ``12500`` next to ``15000`` ran together."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    axis.set_major_locator(MaxNLocator(5))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def days_plot(pairs: pl.DataFrame) -> HTML:
    """Days since the last visit: as the existing table holds it, and recomputed from Blaze for ``as_of``."""
    fig = report_kit.figure(9, 3.4)
    ax = fig.subplots()
    before, after = pairs["days_existing"].drop_nulls().to_numpy(), pairs["days_blaze"].drop_nulls().to_numpy()
    top = max([int(v.max()) for v in (before, after) if len(v)] or [1])
    bins = list(range(0, top + 31, 30)) if top < 3000 else 60
    ax.hist(before, bins=bins, alpha=0.6, label=f"existing ({len(before)})", color="#bf8700")
    # an outline over filled bars: two translucent fills would mix into a third colour
    ax.hist(after, bins=bins, histtype="step", linewidth=2, label=f"Blaze, recomputed ({len(after)})", color="#0969da")
    ax.set(xlabel="days since last visit (30-day bins)", ylabel="customers", title="Days since the last visit, before and after")
    ax.legend()
    return report_kit.inline_plot(fig, alt="days since last visit")


def vip_matrix(pairs: pl.DataFrame) -> pl.DataFrame:
    """Customers per (existing tier, Blaze-derived tier): rows old tier, columns new tier."""
    tiers = [*TIERS, *sorted({*pairs["vip_existing"].drop_nulls(), *pairs["vip_blaze"].drop_nulls()} - set(TIERS)), "(none)"]
    moved = pairs.select(
        pl.col("vip_existing").fill_null("(none)").replace("", "(none)").alias("old"),
        pl.col("vip_blaze").fill_null("(none)").alias("new"),
    )
    grid = pl.DataFrame({"old": tiers}).join(pl.DataFrame({"new": tiers}), how="cross")
    counts = grid.join(moved.group_by("old", "new").len("customers"), on=["old", "new"], how="left").with_columns(pl.col("customers").fill_null(0))
    wide = counts.pivot(on="new", index="old", values="customers", sort_columns=False).select("old", *tiers)
    keep = [t for t in tiers if t != "(none)" or wide.filter(pl.col("old") == t).select(tiers).sum_horizontal().item() + wide[t].sum() > 0]
    return wide.filter(pl.col("old").is_in(keep)).select("old", *keep)


def vip_plot(matrix: pl.DataFrame) -> HTML:
    """The tier-move matrix as a heatmap with counts; the diagonal is "no move"."""
    rows, cols = matrix["old"].to_list(), [c for c in matrix.columns if c != "old"]
    values = matrix.select(cols).to_numpy()
    fig = report_kit.figure(5.5, 4.2)
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel="new tier (Blaze-derived)", ylabel="old tier (existing)", title="VIP tier moves, old → new")
    peak = values.max() if values.size else 0
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, f"{values[i, j]:,}", ha="center", va="center", color="white" if values[i, j] > peak / 2 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return report_kit.inline_plot(fig, alt="VIP tier moves")


# --------------------------------------------------------------------------- since the last run


def reports_dir(run_dir: str | Path | None) -> Path:
    """The folder holding run folders: the run folder's parent, else ``<home>/reports``."""
    return Path(run_dir).resolve().parent if run_dir else workbook_home() / "reports"


def previous_summary(run_dir: str | Path | None) -> tuple[Path | None, dict[str, Any] | None]:
    """The newest other compare run's folder and summary, or ``(None, None)`` on a first run."""
    found = C.find_previous(reports_dir(run_dir), before=run_dir)
    return (None, None) if found is None else (found.parent, C.read_summary(found))


def changes_note(previous: dict[str, Any] | None, current: dict[str, Any], folder: Path | None = None) -> str:
    """One paragraph (markdown): first run, or the gate then and now and how many measures moved."""
    if previous is None:
        return "**First run**: no previous compare run in this workbook home to compare with."
    g = C.gate_changes(previous, current)
    verdict = {True: "PASSED", False: "FAILED", None: "unknown"}
    changed = C.diff_summaries(previous, current).height
    parts = [
        f"**Changes since the previous compare run** (`{folder.name if folder else '?'}`, as_of {g['previous_as_of']}): "
        f"gate {verdict[g['passed_before']]} → {verdict[g['passed_now']]}; {changed} measure(s) changed.",
    ]
    if g["newly_failing"]:
        parts.append(f"Newly failing: {', '.join(g['newly_failing'])}.")
    if g["resolved"]:
        parts.append(f"Resolved: {', '.join(g['resolved'])}.")
    return " ".join(parts)


def changes_table(previous: dict[str, Any], current: dict[str, Any], *, rows: int = 40) -> GT:
    """The measures that moved since the previous run (largest moves first); a "no change" line when none did."""
    diff = C.diff_summaries(previous, current)
    changed = diff.height
    if changed == 0:
        diff = pl.DataFrame({"table": ["—"], "field": [""], "measure": ["no measure changed"]}).with_columns(
            previous=pl.lit(None, pl.Float64), current=pl.lit(None, pl.Float64), change=pl.lit(None, pl.Float64))
    shown = diff.sort(pl.col("change").abs(), descending=True, nulls_last=True).head(rows)
    return (
        report_kit.summary_table(shown, "Changes since the previous compare run",
                                 f"{changed} measure(s) changed (largest first, up to {rows}); field blank: a table count",
                                 decimals=4)
        .sub_missing(missing_text="—")
    )


# --------------------------------------------------------------------------- outputs


def key_figures(result: C.CompareResult) -> dict[str, Any]:
    """``key_figures.json``: gate, failing fields, customers matched, the worst key field's rate."""
    keys = result.fields_frame().filter(pl.col("key_field")).sort("rate", descending=True)
    worst = keys.row(0, named=True) if keys.height else None
    customers = result.tables.get("customers")
    return {
        "as_of": result.as_of.isoformat(),
        "gate_passed": result.gate.passed,
        "failing_fields": len(result.gate.failing_fields),
        "customers_matched": customers.matched if customers else 0,
        "worst_key_field_rate": round(worst["rate"], 6) if worst else 0.0,
        "worst_key_field": f"{worst['table']}.{worst['field']}" if worst else None,
    }


def inputs_line(sides: Sides, as_of: date, timezone: str, mask_pii: bool) -> str:
    """One markdown line: where each side came from, the day and zone, masking."""
    return (f"Existing side: **{sides.source}**; Blaze side: **Postgres staging tables**. `as_of` **{as_of.isoformat()}** "
            f"(shop time zone {timezone}); examples {'masked' if mask_pii else '**unmasked**'}.")


__all__ = [
    "EXAMPLE_ORDER",
    "MASKED_FIELDS",
    "Sides",
    "changes_note",
    "changes_table",
    "counts_frame",
    "counts_table",
    "days_plot",
    "examples",
    "examples_table",
    "fields_frame",
    "fields_table",
    "gate_banner",
    "highlight_nonzero",
    "inputs_line",
    "key_figures",
    "load_sides",
    "ltv_plot",
    "masking_note",
    "metric_pairs",
    "previous_summary",
    "reports_dir",
    "resolve_as_of",
    "shop_timezone",
    "style_status",
    "vip_matrix",
    "vip_plot",
]
