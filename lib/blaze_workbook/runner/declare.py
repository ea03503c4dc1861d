"""What a notebook declares: the parameters in its code cell tagged ``parameters``.

The cell is read with :mod:`ast` (never executed). Each assignment is one parameter; its kind
comes from the annotation, else from the default's type, else from the trailing comment
(see :mod:`blaze_workbook.runner.params` for the rules users see).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat

from ..errors import ConfigurationError

Kind = Literal["bool", "int", "float", "str", "date", "list", "dict", "any"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ANNOTATION_KINDS: dict[str, Kind] = {
    "bool": "bool", "int": "int", "float": "float", "str": "str", "date": "date",
    "list": "list", "dict": "dict", "Any": "any",
}


@dataclass(frozen=True)
class NotebookParameter:
    """One declared parameter: its kind, its default as written, and its comment."""

    name: str
    kind: Kind
    default: Any
    nullable: bool
    help: str


def parameters_cell(nb: nbformat.NotebookNode) -> str:
    """The source of the code cell tagged ``parameters`` (a notebook without one is refused)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return "".join(cell.source)
    raise ConfigurationError("the notebook has no code cell tagged 'parameters'")


def declared_parameters(source: str) -> dict[str, NotebookParameter]:
    """Parse a parameters cell (with :mod:`ast`) into its declared parameters, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ConfigurationError(f"the parameters cell does not parse: {exc}") from exc
    lines = source.splitlines()
    out: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value, annotation = node.targets[0].id, node.value, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value, annotation = node.target.id, node.value, node.annotation
        else:
            continue
        line = lines[(node.end_lineno or node.lineno) - 1][node.end_col_offset or 0:]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        try:
            default = ast.literal_eval(value)
        except ValueError:
            default = ast.unparse(value)  # an expression: kept as text, typed by annotation
        kind, nullable = _kind_of(annotation, default, comment)
        out[name] = NotebookParameter(name, kind, default, nullable, comment)
    return out


def _kind_of(annotation: ast.expr | None, default: Any, comment: str) -> tuple[Kind, bool]:
    if annotation is not None:
        parts = _union_parts(annotation)
        nullable = "None" in parts
        named = [p for p in parts if p != "None"]
        if len(named) == 1 and named[0] in _ANNOTATION_KINDS:
            return _ANNOTATION_KINDS[named[0]], nullable
    if isinstance(default, bool):
        return "bool", False
    if isinstance(default, int):
        return "int", False
    if isinstance(default, float):
        return "float", False
    if isinstance(default, str):
        return ("date" if _ISO_DATE.match(default) else "str"), False
    if isinstance(default, (list, tuple)):
        return "list", False
    if isinstance(default, dict):
        return "dict", False
    if default is None:
        lowered = comment.lower()
        if "date" in lowered:
            return "date", True
        if "list" in lowered:
            return "list", True
    return "any", True


def _union_parts(annotation: ast.expr) -> list[str]:
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _union_parts(annotation.left) + _union_parts(annotation.right)
    if isinstance(annotation, ast.Subscript):  # list[str], Optional[int], dict[str, int]
        base = ast.unparse(annotation.value).rsplit(".", 1)[-1]
        if base == "Optional":
            return ["None", *_union_parts(annotation.slice)]
        return [base]
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return ["None"]
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):  # "date | None"
        try:
            return _union_parts(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            return [annotation.value]
    return [ast.unparse(annotation).rsplit(".", 1)[-1]]

def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook (v4), wrapping I/O and format errors as configuration errors."""
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read notebook {path}: {exc}") from exc
