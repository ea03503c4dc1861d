"""notebooks/03_compare/compare.ipynb through the runner, on a tiny generated legacy database.

The database is made by :func:`generate_legacy` (scale ``tiny``), 01_setup is applied, and the
staging tables are filled with what a full sync stores (:func:`staging_frames`, written with
``COPY``), so the compare must find exactly the manifest's numbers: the issue's acceptance
test. Two runs in one home: the second reports the changes since the first. A kernel start costs
a few seconds, so the runs are made once and shared.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from psycopg import sql

from blaze_workbook import phase1
from blaze_workbook.blaze.simulator.dataset import Dataset
from blaze_workbook.legacy_gen import Manifest, generate_legacy, staging_frames
from blaze_workbook.mapping import TABLES
from blaze_workbook.runner import RunResult, run_notebook
from blaze_workbook.setup_sql import MetricsRules

TABLE_NAMES = ("customers", "transactions", "transaction_items", "products")


@dataclass(frozen=True)
class CompareRuns:
    first: RunResult
    second: RunResult
    manifest: Manifest
    #: raw personal values of the legacy customers (emails, phones, names)
    emails: list[str]


def _fill_staging(conn, frames: dict[str, pl.DataFrame]) -> None:
    """The staging tables as a full sync leaves them, one COPY per table."""
    for t in TABLES:
        frame = frames[t.legacy]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(t.staging), sql.SQL(", ").join(map(sql.Identifier, frame.columns)))
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for row in frame.iter_rows():
                copy.write_row(row)


@pytest.fixture(scope="module")
def compare_runs(pg, tmp_path_factory: pytest.TempPathFactory) -> CompareRuns:
    db = pg.new_database("empty")
    tmp = tmp_path_factory.mktemp("compare")
    ds = Dataset.generate("tiny", 0)
    manifest = generate_legacy(db.conninfo, scale="tiny", seed=0, out_dir=tmp / "legacy", dataset=ds)
    with db.connect() as conn:
        phase1.apply(conn, rules=MetricsRules(timezone=ds.tz))
        _fill_staging(conn, staging_frames(ds.truth(), ds.tz))
        conn.commit()
        emails = [r[0] for r in conn.execute("SELECT email FROM customers WHERE email LIKE '%@%'").fetchall()]
    home = tmp / "home"
    params = {"as_of": manifest.as_of.isoformat(), "timezone": ds.tz}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", db.conninfo)
        first = run_notebook("compare", params=params, home=home)
        second = run_notebook("compare", params=params, home=home)
    yield CompareRuns(first, second, manifest, emails)
    pg.drop_database(db.name)


def _summary(run: RunResult) -> dict:
    return json.loads((run.run_dir / "compare_summary.json").read_text())


def test_runs_are_clean_and_leave_their_files(compare_runs: CompareRuns):
    for run in (compare_runs.first, compare_runs.second):
        assert run.ok, run.error
        for name in ("compare_summary.json", "discrepancies.parquet", "key_figures.json", "report.html", "compare.ipynb", "run.json"):
            assert (run.run_dir / name).is_file(), name
        assert run.record["secrets_redacted"] == []


def test_summary_is_exactly_the_injected_truth(compare_runs: CompareRuns):
    got, expected = _summary(compare_runs.first), compare_runs.manifest.expected_summary()
    assert got["as_of"] == expected["as_of"] == compare_runs.manifest.as_of.isoformat()
    for table in TABLE_NAMES:
        want = expected["tables"][table]
        have = {k: v for k, v in got["tables"][table].items() if k in want}
        assert have == want, table
    assert got["gate"]["threshold"] == 0.05
    key = {f"{t}.{f}": got["tables"][t]["fields"][f]["rate"] for t in TABLE_NAMES for f in got["tables"][t]["fields"]}
    failing = sorted(k for k in ("customers.phone", "customers.email", "customers.name", "transactions.total_amount",
                                 "transactions.date", "transaction_items.total_price", "products.sku", "products.name") if key[k] >= 0.05)
    assert sorted(got["gate"]["failing_fields"]) == failing
    assert got["gate"]["passed"] is (not failing)


def test_key_figures(compare_runs: CompareRuns):
    figures = json.loads((compare_runs.first.run_dir / "key_figures.json").read_text())
    summary = _summary(compare_runs.first)
    assert figures["gate_passed"] is summary["gate"]["passed"]
    assert figures["failing_fields"] == len(summary["gate"]["failing_fields"])
    assert figures["customers_matched"] == summary["tables"]["customers"]["matched"] > 0
    assert 0 <= figures["worst_key_field_rate"] <= 1
    assert compare_runs.first.record["key_figures"] == figures


def test_report_shows_the_verdict_tables_and_plots(compare_runs: CompareRuns):
    page = (compare_runs.first.run_dir / "report.html").read_text()
    verdict = "PASSED" if _summary(compare_runs.first)["gate"]["passed"] else "FAILED"
    assert f"Gate {verdict}" in page
    for text in ("Rows on each side", "Fields compared", "Examples per field", "only_blaze", "missing_in_blaze",
                 "First run", "are masked"):
        assert text in page, text
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 3  # lifetime value, days, tier moves
    assert "mask_pii = false" not in page


def test_report_shows_no_raw_email(compare_runs: CompareRuns):
    emails = [e for e in compare_runs.emails if len(e) >= 6]
    assert len(emails) > 100  # the check has teeth
    page = (compare_runs.first.run_dir / "report.html").read_text()
    notebook = (compare_runs.first.run_dir / "compare.ipynb").read_text()
    spellings = {form for e in emails for form in (e, html.escape(e), e.lower())}
    pattern = re.compile("|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)))
    assert pattern.findall(page) == [] and pattern.findall(notebook) == []
    parquet = pl.read_parquet(compare_runs.first.run_dir / "discrepancies.parquet")
    shown = set(parquet.filter(pl.col("field") == "email")["existing"].drop_nulls())
    assert not shown & set(emails)


def test_second_run_shows_the_changes_since_the_first(compare_runs: CompareRuns):
    page = (compare_runs.second.run_dir / "report.html").read_text()
    assert "Changes since the previous compare run" in page
    assert compare_runs.first.run_dir.name in page
    assert "First run" not in page
    assert _summary(compare_runs.second)["tables"] == _summary(compare_runs.first)["tables"]
