"""Shared pieces of the security tests: distinctive secrets, and a scanner for everything a home holds.

The scanner reads every byte under a workbook home, as stored and as it decodes: files as they
are, zstd frames decompressed, and each DuckDB file opened read-only with every table's rows
rendered as text and every stored raw body decompressed (DuckDB compresses its own columns, so
a plain byte search of the file alone could miss a value). It looks for each secret in every
spelling an output can hold it (:func:`blaze_workbook.runner.secrets_scan.spellings`).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import zstandard

from blaze_workbook.runner.secrets_scan import spellings

#: distinctive values, set only in the environment; none may appear anywhere afterwards
PARTNER_KEY = "pk-FAULTS-7Qz9-partner-ZX41"
DEVELOPER_KEY = "dk-FAULTS-3Vw8-developer-KM27"
PG_PASSWORD = "pgFAULTS-5Rt6-password-HB93"
#: keys the simulator does not accept (the 401 run)
WRONG_PARTNER_KEY = "pk-FAULTS-WRONG-partner-QP58"
WRONG_DEVELOPER_KEY = "dk-FAULTS-WRONG-developer-LN04"
SECRETS: tuple[str, ...] = (PARTNER_KEY, DEVELOPER_KEY, PG_PASSWORD, WRONG_PARTNER_KEY, WRONG_DEVELOPER_KEY)

INJECTION = "'; DROP TABLE customers; --"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass
class Scan:
    """What a scan read and found."""

    files: int = 0
    #: bytes of the files as stored
    bytes: int = 0
    #: bytes read after decoding (decompressed frames, DuckDB rows and raw bodies)
    decoded_bytes: int = 0
    duckdb_rows: int = 0
    raw_bodies: int = 0
    #: "file[: part]" -> secrets found there
    hits: dict[str, list[str]] = field(default_factory=dict)

    @property
    def occurrences(self) -> int:
        return sum(len(v) for v in self.hits.values())


def needles(secrets: Iterable[str]) -> dict[bytes, str]:
    """Every byte spelling of every secret -> the secret."""
    return {form.encode(): s for s in secrets for form in spellings(s)}


def _look(scan: Scan, where: str, data: bytes, wanted: dict[bytes, str]) -> None:
    found = sorted({secret for needle, secret in wanted.items() if needle in data})
    if found:
        scan.hits[where] = found


def _duckdb_parts(path: Path) -> Iterable[tuple[str, bytes, int]]:
    """(part name, text, rows) of every table of a DuckDB file, raw bodies decompressed."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        for table in tables:
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()  # names from the catalog itself
            yield table, "\n".join(map(repr, rows)).encode(), len(rows)
        if "raw_bodies" in tables:
            decompressor = zstandard.ZstdDecompressor()
            # bodies in parts (body NULL: sync/_bodies.py), or inline as earlier versions kept them
            parts: dict[int, list[bytes]] = {}
            if "raw_parts" in tables:
                for page_id, data in con.execute("SELECT page_id, data FROM raw_parts ORDER BY page_id, part").fetchall():
                    parts.setdefault(page_id, []).append(bytes(data))
            page_id = "page_id" if "raw_parts" in tables else "NULL"
            for codec, body, first_page in con.execute(f"SELECT codec, body, {page_id} FROM raw_bodies").fetchall():
                body = bytes(body) if body is not None else b"".join(parts[first_page])
                data = decompressor.decompress(body, max_output_size=1 << 30) if codec == "zstd" else body
                yield "raw_bodies (decompressed)", data, 1
    finally:
        con.close()


def scan_home(home: Path, secrets: Iterable[str]) -> Scan:
    """Look for ``secrets`` in every file under ``home``; see the module docstring."""
    wanted = needles(secrets)
    scan = Scan()
    for path in sorted(p for p in home.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        name = str(path.relative_to(home))
        scan.files += 1
        scan.bytes += len(data)
        _look(scan, name, data, wanted)
        if data.startswith(ZSTD_MAGIC):
            plain = zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 30)
            scan.decoded_bytes += len(plain)
            _look(scan, f"{name}: decompressed", plain, wanted)
        if path.suffix == ".duckdb":
            for part, text, rows in _duckdb_parts(path):
                scan.decoded_bytes += len(text)
                if part.startswith("raw_bodies ("):
                    scan.raw_bodies += 1
                else:
                    scan.duckdb_rows += rows
                _look(scan, f"{name}: {part}", text, wanted)
    return scan


def text_forms(values: Iterable[str], *, min_len: int = 8) -> set[str]:
    """The spellings a personal value can take in an HTML report or a notebook (long values only)."""
    return {form for v in values if v and len(v) >= min_len for form in (v, html.escape(v))}


#: inline images (base64 PNGs in reports and notebooks): no text hides in them, and they are most of the bytes
_IMAGES = re.compile(r'data:image/[a-z]+;base64,[A-Za-z0-9+/=]+|"image/png": "[A-Za-z0-9+/=\\n]+"')


def occurrences(text: str, forms: Iterable[str]) -> Counter[str]:
    """How often each form occurs in ``text``, inline images left out (only forms that do occur)."""
    text = _IMAGES.sub("", text)
    return Counter({f: n for f in set(forms) if (n := text.count(f))})
