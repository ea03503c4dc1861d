"""compare_report: the 03_compare report's tables, examples, plots and run-to-run changes.

A hand-made compare (four customers, three transactions) whose every number is known: GT
helpers return GT objects whose HTML holds those numbers, plots are inline PNGs, examples are
masked unless told otherwise.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from great_tables import GT

from blaze_workbook import compare, compare_report as R, report_kit
from blaze_workbook.setup_sql import MetricsRules

D = pl.Decimal(18, 2)
AS_OF = date(2024, 6, 1)
#: personal values that must never reach a masked report
RAW = ("alice.secret@example.org", "alice.other@example.net", "Alice Secretname", "Alice Othername", "5551230003")


def _sides() -> R.Sides:
    blaze_c = pl.DataFrame({
        "member_id": ["m1", "m2", "m3", "m4"],
        "name": ["Alice Secretname", "Bob Jones", "Carol King", "Dan Brown"],
        "phone": ["5551230001", "5551230002", "5551230003", "5551230004"],
        "email": ["alice.secret@example.org", "bob@example.com", "carol@example.com", "dan@example.com"],
    })
    existing_c = pl.DataFrame({
        "id": [1, 2, 3, 4],
        "member_id": ["m1", "m2", "m3", "m5"],
        "name": ["Alice Othername", "bob  jones", "Carol King", "Eve"],
        "phone": ["(555) 123-0001", "5551230002", None, "5551230009"],
        "email": ["alice.other@example.net", "BOB@example.com", "carol@example.com", "eve@example.com"],
        "lifetime_value": [10.0, 20.0, 0.0, 5.0],
        "days_since_last_visit": [40, 200, None, 3],
        "vip_status": ["Casual", "New", "New", "VIP"],
    }).with_columns(pl.col("lifetime_value").cast(D))
    tx = pl.DataFrame({
        "transaction_id": ["t1", "t2", "t3"],
        "customer_id": ["m1", "m1", "m2"],
        "date": [datetime(2024, 5, 1, 20, tzinfo=UTC), datetime(2024, 5, 3, 20, tzinfo=UTC), datetime(2024, 4, 1, 20, tzinfo=UTC)],
        "total_amount": [Decimal("12.50"), Decimal("7.50"), Decimal("30.00")],
        "blaze_status": ["Completed"] * 3,
        "trans_type": ["Sale"] * 3,
    }).with_columns(pl.col("total_amount").cast(D))
    etx = tx.select("transaction_id", "customer_id", "date", "total_amount").with_columns(id=pl.int_range(pl.len()))
    return R.Sides({"customers": existing_c, "transactions": etx}, {"customers": blaze_c, "transactions": tx}, "test frames")


@pytest.fixture(scope="module")
def sides() -> R.Sides:
    return _sides()


@pytest.fixture(scope="module")
def failed(sides: R.Sides) -> compare.CompareResult:
    """Default key fields: customer identity fields are 1 in 3 wrong, items and products absent -> FAILED."""
    return compare.compare(sides.existing, sides.blaze, as_of=AS_OF)


@pytest.fixture(scope="module")
def passed(sides: R.Sides) -> compare.CompareResult:
    return compare.compare(sides.existing, sides.blaze, as_of=AS_OF, key_fields=["transactions.total_amount", "transactions.date"])


def _html(gt: GT) -> str:
    assert isinstance(gt, GT)
    return gt.as_raw_html()


# --- the verdict ------------------------------------------------------------------------------


def test_gate_banner_failed_names_the_fields_and_why(failed):
    page = R.gate_banner(failed.gate).data
    assert "Gate FAILED" in page and report_kit.FAIL_TEXT in page
    for name in ("customers.phone", "customers.email", "customers.name", "products.sku"):
        assert name in page
    assert "not compared" in page and "33.3333%" in page


def test_gate_banner_passed(passed):
    page = R.gate_banner(passed.gate).data
    assert "Gate PASSED" in page and report_kit.PASS_TEXT in page and "5.00%" in page


@pytest.mark.parametrize(("mask", "text"), [(True, "are masked"), (False, "mask_pii = false")])
def test_masking_note(mask, text):
    page = R.masking_note(mask).data
    assert text in page
    assert (report_kit.FAIL_TEXT in page) is (not mask)


# --- tables -----------------------------------------------------------------------------------


def test_counts_table_holds_each_sides_counts(failed):
    frame = R.counts_frame(failed)
    row = frame.filter(pl.col("table") == "customers").row(0, named=True)
    assert (row["rows_existing"], row["rows_blaze"], row["matched"], row["only_existing"], row["only_blaze"]) == (4, 4, 3, 1, 1)
    page = _html(R.counts_table(failed))
    assert "Rows on each side" in page and "only_blaze" in page and "orphans_existing" in page
    assert "#fff8c5" in page  # only-one-side counts above zero are highlighted


def test_fields_table_rates_and_gate_status(failed):
    frame = R.fields_frame(failed)
    status = dict(zip(frame["table"] + "." + frame["field"], frame["gate"], strict=True))
    assert status["customers.phone"] == "FAIL"
    assert status["transactions.total_amount"] == "pass"
    assert status["customers.lifetime_value"] == "reported"
    email = frame.filter(pl.col("field") == "email").row(0, named=True)
    assert (email["compared"], email["mismatched"], email["real"], email["format_only"]) == (3, 1, 1, 1)
    gt = R.fields_table(failed, 0.05)
    page = _html(gt)
    assert "Fields compared" in page and "33.33%" in page and "0.00%" in page
    assert report_kit.FAIL_FILL in page and report_kit.PASS_FILL in page
    assert "reported" in page and "FAIL" in page


def test_gt_helpers_return_new_tables(failed):
    base = report_kit.summary_table(R.fields_frame(failed), "t", table_id="fields")
    before = base.as_raw_html()
    styled = base.pipe(R.style_status).pipe(R.highlight_nonzero, columns=["real"])
    assert isinstance(styled, GT) and styled is not base
    assert base.as_raw_html() == before  # the input is not modified


# --- examples ---------------------------------------------------------------------------------


def test_examples_are_masked_by_default(failed):
    frame = R.examples(failed)
    text = json.dumps(frame.to_dicts())
    for raw in RAW:
        assert raw not in text, raw
    page = _html(R.examples_table(failed))
    for raw in RAW:
        assert raw not in page, raw
    assert "Examples per field" in page and "masked" in page


def test_examples_unmasked_when_asked(failed):
    page = _html(R.examples_table(failed, mask_pii=False))
    assert "alice.secret@example.org" in page and "UNMASKED" in page


def test_examples_put_real_differences_first_and_keep_the_limit(failed):
    frame = R.examples(failed, per_field=1)
    assert frame.group_by("table", "field").len()["len"].max() == 1
    kinds = dict(zip(frame["field"], frame["kind"], strict=True))
    assert kinds["email"] == "real" and kinds["name"] == "real"
    assert kinds["phone"] == "missing_in_existing"  # ranked above format_only


# --- plots ------------------------------------------------------------------------------------


def test_metric_pairs(sides):
    pairs = R.metric_pairs(sides, as_of=AS_OF, rules=MetricsRules()).sort("member_id")
    assert pairs["member_id"].to_list() == ["m1", "m2", "m3"]
    assert pairs["ltv_blaze"].to_list() == [20.0, 30.0, 0.0]
    assert pairs["days_blaze"].to_list() == [29, 61, None]
    assert pairs["vip_existing"].to_list() == ["Casual", "New", "New"]
    assert pairs["vip_blaze"].to_list() == ["Casual", "New", "New"]  # 2 visits, 1 visit, none


def test_vip_matrix_counts_moves(sides):
    pairs = R.metric_pairs(sides, as_of=AS_OF, rules=MetricsRules())
    matrix = R.vip_matrix(pairs)
    assert matrix.columns == ["old", "New", "Casual", "Regular", "VIP"]
    assert matrix.filter(pl.col("old") == "New")["New"].item() == 2
    assert matrix.filter(pl.col("old") == "Casual")["Casual"].item() == 1
    assert matrix.select(pl.exclude("old")).sum_horizontal().sum() == 3
    moved = pl.DataFrame({"vip_existing": ["Casual", None], "vip_blaze": ["VIP", "New"]})
    wide = R.vip_matrix(moved)
    assert wide.filter(pl.col("old") == "Casual")["VIP"].item() == 1
    assert wide.filter(pl.col("old") == "(none)")["New"].item() == 1


@pytest.mark.parametrize("plot", ["ltv_plot", "days_plot", "vip_plot"])
def test_plots_are_inline_pngs(sides, plot):
    pairs = R.metric_pairs(sides, as_of=AS_OF, rules=MetricsRules())
    arg = R.vip_matrix(pairs) if plot == "vip_plot" else pairs
    page = getattr(R, plot)(arg).data
    assert page.startswith("<img") and 'src="data:image/png;base64,iVBOR' in page


# --- since the last run -----------------------------------------------------------------------


def test_first_run_and_changes(failed, tmp_path):
    current = failed.summary()
    run = tmp_path / "reports" / "20240602T000000Z-compare"
    run.mkdir(parents=True)
    assert R.previous_summary(run) == (None, None)
    assert "First run" in R.changes_note(None, current)

    older = tmp_path / "reports" / "20240601T000000Z-compare"
    previous = copy.deepcopy(current)
    previous["tables"]["customers"]["fields"]["email"]["real"] = 0
    previous["gate"]["failing_fields"] = [f for f in previous["gate"]["failing_fields"] if f != "customers.email"]
    compare.write_summary(previous, older)
    folder, found = R.previous_summary(run)
    assert folder == older and found == previous
    note = R.changes_note(found, current, folder)
    assert "Changes since the previous compare run" in note and older.name in note
    assert "Newly failing: customers.email" in note and "1 measure(s) changed" in note
    page = _html(R.changes_table(found, current))
    assert "Changes since the previous compare run" in page and "1 measure(s) changed" in page and "email" in page
    same = _html(R.changes_table(current, current))
    assert "no measure changed" in same and "0 measure(s) changed" in same


# --- inputs and outputs -----------------------------------------------------------------------


def test_as_of_defaults_to_today_in_the_shop_zone():
    zone = "Pacific/Kiritimati"  # UTC+14: its today is often not the machine's
    assert R.resolve_as_of(None, zone) == datetime.now(ZoneInfo(zone)).date()
    assert R.resolve_as_of("2024-06-01", zone) == AS_OF
    assert R.resolve_as_of(AS_OF, zone) == AS_OF


def test_shop_timezone_falls_back_without_a_warehouse(tmp_path):
    assert R.shop_timezone("America/Denver", tmp_path / "none.duckdb") == "America/Denver"


def test_key_figures(failed, passed):
    figures = R.key_figures(failed)
    assert figures["gate_passed"] is False and figures["failing_fields"] == len(failed.gate.failing_fields) == 6
    assert figures["customers_matched"] == 3
    assert figures["worst_key_field_rate"] == pytest.approx(1 / 3, abs=1e-6)
    good = R.key_figures(passed)
    assert good["gate_passed"] is True and good["failing_fields"] == 0 and good["worst_key_field_rate"] == 0.0


def test_load_sides_from_a_folder_of_exports(sides, failed, tmp_path, monkeypatch):
    """``source`` a folder: the existing side from ``<table>.parquet``; Blaze still from staging."""
    for name, frame in sides.existing.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
    monkeypatch.setattr(R.C, "staging_from_postgres", lambda conn: sides.blaze)
    loaded = R.load_sides(None, str(tmp_path))  # type: ignore[arg-type]
    assert loaded.source == f"exports in {tmp_path.name}/"
    assert loaded.frame().to_dicts() == [
        {"table": "customers", "existing": 4, "blaze_staging": 4},
        {"table": "transactions", "existing": 3, "blaze_staging": 3},
    ]
    again = compare.compare(loaded.existing, loaded.blaze, as_of=AS_OF)
    assert again.summary() == failed.summary()
    assert R.metric_pairs(loaded, as_of=AS_OF, rules=MetricsRules()).height == 3
