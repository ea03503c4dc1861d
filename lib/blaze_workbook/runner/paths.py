"""Where the notebooks, the default parameters and a home's reports are."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigurationError

#: the repository this package sits in (lib/blaze_workbook/runner/ -> the root)
REPO_ROOT = Path(__file__).resolve().parents[3]
REPORTS = "reports"
INDEX = "index.html"
RUN_JSON = "run.json"
REPORT_HTML = "report.html"
KEY_FIGURES = "key_figures.json"


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the repository, else of the working directory (an installed package)."""
    here = REPO_ROOT / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


def default_params_file() -> Path:
    """``params/default.yaml`` beside the notebooks."""
    here = REPO_ROOT / "params" / "default.yaml"
    return here if here.is_file() else Path.cwd() / "params" / "default.yaml"


def available_notebooks(notebooks_dir: Path) -> dict[str, Path]:
    """Notebook name -> its folder, from folders named ``0N_<name>``."""
    if not notebooks_dir.is_dir():
        return {}
    return {
        folder.name.split("_", 1)[1]: folder
        for folder in sorted(notebooks_dir.glob("0*_*"))
        if folder.is_dir() and "_" in folder.name
    }


def find_notebook(name: str, notebooks_dir: Path) -> Path:
    """``notebooks/0N_<name>/<name>.ipynb`` (or the folder's only notebook)."""
    folders = available_notebooks(notebooks_dir)
    if name not in folders:
        valid = ", ".join(folders) or f"(none found in {notebooks_dir})"
        raise ConfigurationError(f"unknown notebook {name!r}; valid: {valid}")
    candidates = sorted(folders[name].glob("*.ipynb"))
    preferred = [p for p in candidates if p.stem == name]
    if preferred:
        return preferred[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ConfigurationError(f"no notebook in {folders[name]} yet")
    raise ConfigurationError(f"several notebooks in {folders[name]}; name one {name}.ipynb")


def reports_dir(home: Path) -> Path:
    """``<home>/reports``, created on demand."""
    path = home / REPORTS
    path.mkdir(parents=True, exist_ok=True)
    return path
