"""One pass over one window, and how to tell whether the listing held still while we paged it.

Offset paging over a set that changes is not a snapshot: with members ordered by ``modified``
descending, a member edited while we page jumps to the top, every record between its old and new
place shifts by one, and the record at the next page's edge is either read twice or never. The
merge by id (highest ``modified`` wins) makes reading twice harmless; never reading is the danger.
A pass is **clean** when every page reported the same ``total``, no id came twice and the pass
read ``total`` records: then nothing shifted under it. A pass that is not clean is repeated; a
pass that reads exactly what the previous one read (same ids at the same ``modified``) is
accepted too, so a server whose ``total`` is merely wrong cannot keep us looping.

The records themselves are decoded by the warehouse; here only ``id``, ``modified`` and, for
transactions, the refund link are read, with msgspec skipping everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from ..blaze.client import RawPage
from ..blaze.paging import Window


class Ref(msgspec.Struct):
    """What a pass needs of a record."""

    id: Any = None
    modified: Any = None
    created: Any = None
    transType: Any = None  # noqa: N815 (Blaze's spelling)
    parentTransactionId: Any = None  # noqa: N815


class _Values(msgspec.Struct):
    values: list[msgspec.Raw] = []


class _Refs(msgspec.Struct):
    values: list[Ref] = []


_REFS = msgspec.json.Decoder(_Refs)
_VALUES = msgspec.json.Decoder(_Values)
_REF = msgspec.json.Decoder(Ref)
_BAD = (msgspec.ValidationError, msgspec.DecodeError)


def refs(body: bytes) -> list[Ref]:
    """The records of a page, reduced to :class:`Ref` (an undecodable record gives an empty one).

    One decode of the whole page when every record is an object (the usual case: a decode per
    record cost as much again); record by record only when one is not."""
    try:
        return _REFS.decode(body).values
    except _BAD:
        pass
    try:
        raws = _VALUES.decode(body).values
    except _BAD:
        return []  # not a list response: the warehouse refuses it with the reason
    out = []
    for raw in raws:
        try:
            out.append(_REF.decode(raw))
        except _BAD:
            out.append(Ref())
    return out


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


@dataclass
class Pass:
    """What one pass over one window saw."""

    window: Window
    number: int = 1
    ids: list[str] = field(default_factory=list)
    records: int = 0
    pages: int = 0
    totals: set[int] = field(default_factory=set)
    #: id -> ``modified`` as read in this pass
    seen: dict[str, int] = field(default_factory=dict)
    #: parent sale id -> the latest ``created`` of a refund of it read in this pass
    refunds: dict[str, int] = field(default_factory=dict)

    def add(self, page: RawPage, found: list[Any] | None = None) -> None:
        """Count ``page`` into the pass; ``found`` are its :func:`refs` when already read (or its
        decoded records, which have the same attributes)."""
        self.pages += 1
        self.records += page.count
        if page.total is not None:
            self.totals.add(page.total)
        for ref in refs(page.body) if found is None else found:
            if not isinstance(ref.id, str) or not ref.id:
                continue
            self.ids.append(ref.id)
            modified = _int(ref.modified)
            if modified is not None:
                self.seen[ref.id] = max(modified, self.seen.get(ref.id, modified))
            # a decoded record stands in for its Ref; a member's or product's has no refund link
            parent = getattr(ref, "parentTransactionId", None)
            if getattr(ref, "transType", None) == "Refund" and isinstance(parent, str) and parent:
                when = _int(getattr(ref, "created", None)) or modified
                if when is not None:
                    self.refunds[parent] = max(when, self.refunds.get(parent, when))

    @property
    def clean(self) -> bool:
        """Same total on every page, no id twice, and as many records as the total said."""
        if len(self.totals) > 1 or len(set(self.ids)) != len(self.ids):
            return False
        total = next(iter(self.totals), None)
        return total is None or self.records == total

    @property
    def signature(self) -> frozenset[tuple[str, int | None]]:
        return frozenset((i, self.seen.get(i)) for i in self.ids)

    def settled(self, previous: Pass | None) -> bool:
        """Clean, or identical to the previous pass over the same window."""
        return self.clean or (previous is not None and previous.signature == self.signature)

    def describe(self) -> str:
        totals = "/".join(str(t) for t in sorted(self.totals)) or "?"
        dupes = len(self.ids) - len(set(self.ids))
        return f"window {self.window} pass {self.number}: {self.records} records, total {totals}, {dupes} repeated"


__all__ = ["Pass", "Ref", "refs"]
