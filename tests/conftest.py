"""Shared fixtures. Each concern keeps its fixtures in its own module, imported here."""

from __future__ import annotations

import importlib

import pytest

for _module in ("_fixtures_sim", "_fixtures_pg", "_fixtures_demo"):
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError as exc:  # a fixture module not written yet
        if exc.name != _module:
            raise
        continue
    globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A fresh workbook home for one test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(path))
    return path
