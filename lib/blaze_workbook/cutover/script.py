"""A SQL script made of labelled parts: rendered for a reviewer, read back to be run as reviewed.

Each part starts with a marker line ``-- @part KIND NAME`` followed by comments and statements.
What the workbook runs is the file in the run folder, split at those markers (so a hook can
act between steps and a failure names its part); ``psql --single-transaction -f FILE`` runs the
same file as one block. A file whose parts were edited after planning is refused by its hash
(see :mod:`.plan`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ..errors import InvestigateError
from ..postgres import translated

MARKER = "-- @part "


@dataclass(frozen=True)
class Part:
    """A labelled run of statements."""

    kind: str
    name: str = ""
    statements: tuple[sql.Composable, ...] = ()
    comments: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}".strip()


@dataclass(frozen=True)
class ParsedPart:
    """A part read back from a file."""

    kind: str
    name: str
    body: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}".strip()

    @property
    def empty(self) -> bool:
        return not any(line.strip() and not line.lstrip().startswith("--") for line in self.body.splitlines())


def render(conn: psycopg.Connection, header: Iterable[str], parts: Iterable[Part]) -> str:
    """The script as text: a commented header, then each part with its marker and statements."""
    lines = [f"-- {h}".rstrip() for h in header]
    for part in parts:
        lines += ["", MARKER + part.label]
        lines += [f"-- {c}".rstrip() for c in part.comments]
        for i, statement in enumerate(part.statements):
            text = statement.as_string(conn)
            if i and "\n" in text:  # a multi-line statement stands apart
                lines.append("")
            lines.append(text + ";")
    return "\n".join(lines) + "\n"


def parse(text: str) -> list[ParsedPart]:
    """The parts of a rendered script (the header is not a part)."""
    out: list[ParsedPart] = []
    current: tuple[str, str] | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith(MARKER):
            if current is not None:
                out.append(ParsedPart(current[0], current[1], "\n".join(body)))
            kind, _, name = line[len(MARKER):].strip().partition(" ")
            current, body = (kind, name.strip()), []
        elif current is not None:
            body.append(line)
    if current is not None:
        out.append(ParsedPart(current[0], current[1], "\n".join(body)))
    return out


def step_of(part: ParsedPart) -> str | None:
    """The step id of a ``step`` part."""
    return part.name.split(" ", 1)[0] if part.kind == "step" else None


def run_parts(conn: psycopg.Connection, parts: list[ParsedPart], what: str, fail_after: str | None = None) -> None:
    """Run the parts in order in the caller's transaction; ``fail_after`` (a step id) is a test hook."""
    for i, part in enumerate(parts):
        if part.empty:
            continue
        with translated(f"{what}, part {part.label}"):
            conn.execute(part.body)
        step = step_of(part)
        following = step_of(parts[i + 1]) if i + 1 < len(parts) else None
        if fail_after is not None and step == fail_after and following != step:
            raise InvestigateError(f"failure injected after step {step} (test hook fail_after_step)", hint="nothing was changed")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = ["MARKER", "ParsedPart", "Part", "digest", "parse", "render", "run_parts", "step_of"]
