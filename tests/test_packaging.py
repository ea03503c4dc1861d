"""The skeleton's promises: environment.yml in step with pyproject.toml, notebooks without outputs."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: pip name -> conda-forge name, where they differ
CONDA_NAMES = {"duckdb": "python-duckdb"}
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$")


def _parse(requirement: str) -> tuple[str, str]:
    match = _REQ.match(requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(3).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    return dict(_parse(r) for r in reqs)


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                if not pip_dep.startswith("-"):
                    name, bound = _parse(pip_dep)
                    out[name] = bound
        else:
            name, bound = _parse(dep)
            if name not in ("python", "pip"):
                out[name] = bound
    return out


def test_environment_yml_matches_pyproject():
    expected = {CONDA_NAMES.get(name, name): bound for name, bound in _pyproject_requirements().items()}
    assert _environment_requirements() == expected


def test_every_dependency_has_a_lower_bound():
    for name, bound in _pyproject_requirements().items():
        assert bound.startswith(">="), f"{name} needs a lower bound"


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").rglob("*.ipynb"))


def test_notebooks_committed_without_outputs():
    for path in _notebooks():
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            assert not cell.get("outputs"), f"{path} has outputs"
            assert not cell.get("execution_count"), f"{path} has execution counts"


def test_notebooks_are_thin():
    """A tagged parameters cell; no def, class or loops in code cells (STYLE.md rule 11)."""
    for path in _notebooks():
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), path
        for cell in code:
            tree = ast.parse("".join(cell["source"]))
            for node in ast.walk(tree):
                assert not isinstance(
                    node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.Lambda)
                ), f"{path}: logic belongs in lib/, found {type(node).__name__}"


def test_layout_of_the_design_card():
    for folder in ("notebooks/01_setup", "notebooks/02_sync", "notebooks/03_compare", "notebooks/04_cutover",
                   "lib/blaze_workbook", "params", "tests", "bench"):
        assert (ROOT / folder).is_dir(), folder
    for name in ("environment.yml", "README.md", "pyproject.toml", "Makefile", ".ci/run"):
        assert (ROOT / name).is_file(), name
    assert "make test" in (ROOT / ".ci/run").read_text()
