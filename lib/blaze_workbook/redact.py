"""One redaction helper: every log line, ``repr``, error message and report passes through it.

The configured secret values (from the environment) are replaced wherever they appear, and
header values of known secret headers are masked in URLs and header dumps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

#: environment variables whose values are secrets
SECRET_ENV_VARS: tuple[str, ...] = ("BLAZE_PARTNER_KEY", "BLAZE_DEVELOPER_KEY")
#: header and query names whose values are secrets
SECRET_NAMES: frozenset[str] = frozenset({"partner_key", "x-api-key", "authorization", "password", "cookie"})
MASK = "***"

_extra: set[str] = set()
_NAME_VALUE = re.compile(
    r"(?i)\b(partner_key|x-api-key|authorization|password)(['\"]?\s*[:=]\s*['\"]?)([^\s'\"&,}]+)"
)
_URL_PASSWORD = re.compile(r"(?i)(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]+:)([^@\s]+)(@)")


def register_secret(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (for values not read from the environment)."""
    if value and len(value) >= 4:
        _extra.add(value)


def secret_values() -> list[str]:
    """The secret values currently known: configured ones and registered ones, longest first."""
    values = {os.environ.get(name, "") for name in SECRET_ENV_VARS} | _extra
    values.add(_url_password(os.environ.get("DATABASE_URL", "")))
    return sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True)


def _url_password(url: str) -> str:
    """The password inside a ``postgresql://user:password@host/db`` URL, or ''."""
    from urllib.parse import unquote, urlsplit

    try:
        return unquote(urlsplit(url).password or "") if url else ""
    except ValueError:
        return ""


def redact(text: object, secrets: Iterable[str] | None = None) -> str:
    """Return ``str(text)`` with secret values, secret headers and URL passwords masked."""
    out = str(text)
    for value in secrets if secrets is not None else secret_values():
        if value:
            out = out.replace(value, MASK)
    out = _NAME_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", out)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of ``headers`` with the values of secret headers masked."""
    return {k: (MASK if k.lower() in SECRET_NAMES else redact(v)) for k, v in headers}
