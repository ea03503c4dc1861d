"""Notebook parameters: what a notebook declares, and the values a run gives it.

A notebook declares its parameters in the code cell tagged ``parameters``, one typed literal
per line with a comment saying what it is (STYLE.md rule 11)::

    mode = "incremental"  # incremental, backfill or replay
    since = None  # date (ISO) the backfill starts from; None: the watermark
    entities = ["members", "transactions"]  # list of entities; default all
    force = False  # ignore the cadence rules
    threshold: float = 0.05  # gate on each key field's mismatch rate

The kind of each parameter comes from its annotation when there is one (``bool``, ``int``,
``float``, ``str``, ``date``, ``list``, ``dict``, optionally ``| None``; write ``"date | None"``
as a string, since ``date`` is not defined in the notebook), else from the type of its
default; a string default that is an ISO date, or a ``None`` default whose comment says
"date" (or "list"), makes a date (or a list). Dates reach the notebook as ISO strings.

Values are layered, later wins: ``params/default.yaml`` (its top-level shared keys, then the
notebook's section) < ``--params FILE.yaml`` < ``-p NAME=VALUE``. Only names the notebook
declares are accepted; names that look like secrets are refused whatever layer they come from,
because keys reach notebooks through the environment and never as parameters.
``run_dir`` is reserved: the runner sets it to the run's folder.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigurationError
from ..redact import MASK, redact
from .declare import NotebookParameter

#: the parameter the runner injects: the run folder, where notebooks write their JSON files
RUN_DIR = "run_dir"
#: sections of params/default.yaml, one per notebook
SECTIONS = ("setup", "sync", "compare", "cutover")

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_NULL = {"", "none", "null"}
#: name parts that mark a credential; a name ending in "key"/"keys" is one too (``key_fields`` is not)
_SECRET_PARTS = frozenset({
    "token", "tokens", "secret", "secrets", "password", "passwd", "pwd", "credential", "credentials",
    "auth", "authorization", "cookie", "apikey", "dsn",
})


def looks_secret(name: str) -> bool:
    """True for names like ``api_key``, ``partner_key``, ``token``, ``db_password``."""
    lowered = name.lower()
    parts = set(re.split(r"[^a-z0-9]+", lowered))
    return bool(parts & _SECRET_PARTS) or lowered.endswith(("key", "keys")) or lowered == "database_url"




def coerce(param: NotebookParameter, value: Any) -> Any:
    """``value`` (a ``-p`` string or a YAML value) as the parameter's kind, or a clear error."""
    if param.nullable and (value is None or (isinstance(value, str) and value.strip().lower() in _NULL)):
        return None
    try:
        return _COERCERS[param.kind](value)
    except (ValueError, TypeError, yaml.YAMLError) as exc:
        raise ConfigurationError(
            f"parameter {param.name!r} wants {_DESCRIBE[param.kind]}, got {redact(repr(value))}"
        ) from exc


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(value) if not isinstance(value, str) else int(value.strip())


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(value)
    return float(value)


def _to_str(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        raise TypeError(value)
    return str(value)


def _to_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value).strip()).isoformat()


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        loaded = yaml.safe_load(text)
        if not isinstance(loaded, list):
            raise ValueError(value)
        return [_plain(v) for v in loaded]
    return [part.strip() for part in text.split(",") if part.strip()]


def _to_dict(value: Any) -> dict[str, Any]:
    loaded = yaml.safe_load(value) if isinstance(value, str) else value
    if not isinstance(loaded, dict):
        raise ValueError(value)
    return {str(k): _plain(v) for k, v in loaded.items()}


def _to_any(value: Any) -> Any:
    return _plain(yaml.safe_load(value) if isinstance(value, str) else value)


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings; containers are copied so callers never share state."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


_COERCERS = {
    "bool": _to_bool, "int": _to_int, "float": _to_float, "str": _to_str, "date": _to_date,
    "list": _to_list, "dict": _to_dict, "any": _to_any,
}
_DESCRIBE = {
    "bool": "a bool (true/false/1/0/yes/no)", "int": "an integer", "float": "a number",
    "str": "a string", "date": "an ISO date (YYYY-MM-DD)", "list": "a comma-separated or YAML list",
    "dict": "a YAML mapping", "any": "a YAML value",
}


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``["NAME=VALUE", ...]`` from ``-p`` options into a dict (the last one of a name wins)."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(f"-p wants NAME=VALUE, got {redact(pair)!r}")
        out[name.strip()] = value
    return out


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping (an empty file is an empty mapping)."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read parameters file {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date-shaped value that is no date (2026-13-45)
        raise ConfigurationError(f"parameters file {path} is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"parameters file {path} must hold a mapping of NAME: VALUE")
    return loaded


def _layer_of(data: Mapping[str, Any], notebook: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a YAML layer into (shared top-level keys, the notebook's own section).

    A file with no section keys at all is flat: every key is the notebook's own.
    """
    sections = (*SECTIONS, notebook)
    sectioned = any(k in sections and isinstance(v, dict) for k, v in data.items())
    if not sectioned:
        return {}, dict(data)
    shared = {k: v for k, v in data.items() if k not in sections}
    own = data.get(notebook) or {}
    return shared, dict(own)


def resolve(
    notebook: str,
    declared: Mapping[str, NotebookParameter],
    *,
    defaults: Mapping[str, Any] | None = None,
    params_file: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
    secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """The values to inject, layered and typed: only names given by some layer.

    Unknown names are an error listing the valid ones, except the shared top-level keys of a
    sectioned file and anything in ``params/default.yaml``, which serve every notebook and
    apply where declared.
    """
    valid = sorted(n for n in declared if n != RUN_DIR)
    chosen: dict[str, Any] = {}
    strict_layers: list[dict[str, Any]] = []
    if defaults:
        shared, own = _layer_of(defaults, notebook)
        _refuse_secret_names([*shared, *own])
        chosen.update({k: v for k, v in {**shared, **own}.items() if k in declared and k != RUN_DIR})
    if params_file:
        shared, own = _layer_of(params_file, notebook)
        _refuse_secret_names([*shared, *own])
        chosen.update({k: v for k, v in shared.items() if k in declared and k != RUN_DIR})
        strict_layers.append(own)
    if cli:
        _refuse_secret_names(cli)
        strict_layers.append(dict(cli))
    for layer in strict_layers:
        if RUN_DIR in layer:
            raise ConfigurationError(f"{RUN_DIR!r} is set by the runner (the run's folder); do not pass it")
        unknown = sorted(set(layer) - set(valid))
        if unknown:
            raise ConfigurationError(
                f"unknown parameter(s) for {notebook}: {', '.join(unknown)}; "
                f"valid: {', '.join(valid) or '(none)'}"
            )
        chosen.update(layer)
    typed = {name: coerce(declared[name], value) for name, value in chosen.items()}
    _refuse_secret_values(typed, secrets)
    return typed


def effective(declared: Mapping[str, NotebookParameter], injected: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter's value in this run: the injected one, else the default."""
    return {name: injected.get(name, p.default) for name, p in declared.items()} | dict(injected)


def _refuse_secret_names(names: Iterable[str]) -> None:
    bad = sorted(n for n in names if looks_secret(str(n)))
    if bad:
        raise ConfigurationError(
            f"parameter name(s) {', '.join(bad)} look like secrets; secrets are never notebook parameters",
            hint="set BLAZE_PARTNER_KEY, BLAZE_DEVELOPER_KEY and DATABASE_URL in the environment or .env",
        )


def _refuse_secret_values(values: Mapping[str, Any], secrets: Iterable[str]) -> None:
    known = [s for s in secrets if s]
    for name, value in values.items():
        text = repr(value)
        if any(s in text for s in known):
            raise ConfigurationError(
                f"parameter {name!r} holds a configured secret value ({MASK}); secrets are never notebook parameters",
                hint="keys reach notebooks through the environment",
            )


