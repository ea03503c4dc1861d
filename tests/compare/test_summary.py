"""compare_summary.json: written, read back, re-gated, and diffed between two runs."""

from __future__ import annotations

import json
import os
from copy import deepcopy
from pathlib import Path

import pytest

from blaze_workbook.compare import summary as S
from blaze_workbook.errors import InputDataError

SUMMARY = {
    "as_of": "2026-11-29",
    "gate": {"threshold": 0.05, "passed": True, "failing_fields": []},
    "tables": {
        "customers": {
            "rows_existing": 10047, "rows_blaze": 10512, "matched": 10001, "only_existing": 46, "only_blaze": 511,
            "fields": {"phone": {"compared": 10001, "mismatched": 412, "rate": 412 / 10001, "real": 380,
                                 "missing_in_blaze": 12, "missing_in_existing": 20, "format_only": 733}},
        }
    },
}  # fmt: skip


def test_write_and_read_round_trip(tmp_path: Path):
    path = S.write(SUMMARY, tmp_path / "run")
    assert path.name == "compare_summary.json"
    assert json.loads(path.read_text()) == SUMMARY
    assert S.read(path) == S.read(path.parent) == SUMMARY
    assert S.as_of(SUMMARY).isoformat() == "2026-11-29"


def test_read_refuses_what_is_not_a_summary(tmp_path: Path):
    (tmp_path / "x.json").write_text('{"as_of": 1}')
    with pytest.raises(InputDataError):
        S.read(tmp_path / "x.json")
    with pytest.raises(InputDataError):
        S.read(tmp_path / "missing.json")


def test_regate_with_other_parameters():
    assert S.regate(SUMMARY, threshold=0.05, key_fields=["customers.phone"]).passed
    assert not S.regate(SUMMARY, threshold=0.04, key_fields=["customers.phone"]).passed


def test_diff_lists_what_changed():
    after = deepcopy(SUMMARY)
    after["as_of"] = "2026-11-30"
    after["tables"]["customers"]["matched"] = 10002
    after["tables"]["customers"]["fields"]["phone"]["real"] = 300
    after["tables"]["customers"]["fields"]["email"] = {"compared": 1, "mismatched": 0, "rate": 0.0, "real": 0, "missing_in_blaze": 0, "missing_in_existing": 0, "format_only": 0}
    frame = S.diff(SUMMARY, after)
    rows = {(r["table"], r["field"], r["measure"]): (r["previous"], r["current"], r["change"]) for r in frame.to_dicts()}
    assert rows[("customers", "", "matched")] == (10001, 10002, 1)
    assert rows[("customers", "phone", "real")] == (380, 300, -80)
    assert rows[("customers", "email", "compared")] == (None, 1, None)  # new field
    assert ("customers", "phone", "compared") not in rows  # unchanged
    assert S.diff(SUMMARY, SUMMARY).height == 0
    assert S.diff(SUMMARY, SUMMARY, all_rows=True).height == 5 + 7


def test_gate_changes():
    after = deepcopy(SUMMARY)
    after["gate"] = {"threshold": 0.05, "passed": False, "failing_fields": ["customers.phone"]}
    got = S.gate_changes(SUMMARY, after)
    assert got["newly_failing"] == ["customers.phone"] and got["resolved"] == []
    assert (got["passed_before"], got["passed_now"]) == (True, False)
    assert S.gate_changes(after, SUMMARY)["resolved"] == ["customers.phone"]


def test_find_previous(tmp_path: Path):
    assert S.find_previous(tmp_path) is None
    old = S.write(SUMMARY, tmp_path / "run-1")
    new = S.write(SUMMARY, tmp_path / "run-2")
    os.utime(old, (1_000, 1_000))
    os.utime(new, (2_000, 2_000))
    assert S.find_previous(tmp_path) == new
    assert S.find_previous(tmp_path, before=tmp_path / "run-2") == old
    assert S.find_previous(tmp_path, before=new) == old
