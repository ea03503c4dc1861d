"""Fail closed when a secret reaches a run's output.

Notebooks never get secrets as parameters, but a cell can still print one (a debug ``print``, a
traceback quoting a URL). Before a report is written, the executed notebook, the HTML and every
file the notebook wrote are scanned for the configured secret values in the spellings an output
can hold them (as is, JSON-escaped, HTML-escaped, URL-quoted); each hit is replaced by ``***``
and the run is marked failed.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..config import load_dotenv_once
from ..redact import MASK, secret_values


def configured_secrets() -> list[str]:
    """The secret values to look for, longest first: the keys, and ``DATABASE_URL``'s password."""
    load_dotenv_once()
    values = set(secret_values())
    url = os.environ.get("DATABASE_URL", "")
    if url:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            values |= {password, unquote(password)}
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def spellings(secret: str) -> list[str]:
    """The ways ``secret`` can appear in a notebook, an HTML page or a JSON file, longest first."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(html.escape(secret))[1:-1],
        quote(secret, safe=""),
    }
    return sorted(forms, key=len, reverse=True)


def scrub_text(text: str, secrets: Iterable[str]) -> tuple[str, int]:
    """``text`` with every spelling of every secret replaced by ``***``, and the number of hits."""
    hits = 0
    for secret in secrets:
        for form in spellings(secret):
            count = text.count(form)
            if count:
                hits += count
                text = text.replace(form, MASK)
    return text, hits


def scrub_bytes(data: bytes, secrets: Iterable[str]) -> tuple[bytes, int]:
    """Like :func:`scrub_text`, on raw bytes (a binary file is redacted in place too)."""
    hits = 0
    for secret in secrets:
        for form in spellings(secret):
            needle = form.encode("utf-8")
            count = data.count(needle)
            if count:
                hits += count
                data = data.replace(needle, MASK.encode())
    return data, hits


def scrub_folder(folder: Path, secrets: Iterable[str]) -> list[Path]:
    """Redact every file under ``folder`` in place; return the files that held a secret."""
    secrets = list(secrets)
    found: list[Path] = []
    if not secrets:
        return found
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        cleaned, hits = scrub_bytes(data, secrets)
        if hits:
            tmp = path.with_name(path.name + ".scrub.tmp")
            tmp.write_bytes(cleaned)
            os.replace(tmp, path)
            found.append(path)
    return found
