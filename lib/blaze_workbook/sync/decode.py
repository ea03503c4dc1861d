"""One Blaze page (raw bytes) -> typed polars frames with the staging columns of the mapping.

The usual page is decoded in one msgspec call into Structs holding only the fields the mapping
reads (:mod:`._schema`), which also proves that no record carries an undeclared field. A page
where that fails is cut into raw records (msgspec ``Raw``) and read record by record, so that
undeclared fields are counted and records of the wrong shape quarantined. Each column is then
judged as a whole (:mod:`._coerce`, :mod:`._columns`), and the rest is polars expressions:
names, UTC timestamps, shop-local dates, look-ups (:mod:`._resolve`). Numbers are
exact: money and quantities are ``Decimal`` parsed from the JSON text, never floats.

Every record ends up in exactly one place: a frame, or the quarantine frame with its reason and
raw JSON. Drift that can be carried is carried and counted (``DecodedPage.drift``), and so are
absurd values (negative quantities, instants after 2100, oversize text); a record whose own
``modified`` is absurd is quarantined, since it would win every later merge.

Frames carry, besides the staging columns, bookkeeping the warehouse needs:
``_modified_ms`` (the record's ``modified``; the parent's for transaction items) orders merges,
``_ref_<column>`` holds the id a look-up column is resolved by, and ``_ms_<column>`` the epoch
milliseconds behind a shop-local date, so both can be resolved again when the look-ups or the
shop's time zone become known (:func:`resolve`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import polars as pl

from ..errors import InputDataError
from ..mapping import Table
from . import _coerce
from ._columns import PLAUSIBLE_UNTIL_MS, Columns, columns, count_enums, count_implausible, finish, walk
from ._resolve import resolve, shop_timezone
from ._schema import ENTITY_PLANS, ENVELOPE, LOOKUP_ENTITIES, MODIFIED, PERSON_LOOKUPS, Path, TablePlan, check_entity, decoders, known_fields, strict_decoder
from ._types import LOOKUP_SCHEMA, MONEY, NUMERIC, QUARANTINE_SCHEMA, TIMESTAMP, check_timezone, dtype, frame_schema, person_name

_UNDECODABLE = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError)


@dataclass(frozen=True)
class DecodedPage:
    """What one page held: frames per staging (or look-up) table, quarantine, drift counts."""

    entity: str
    #: staging table name -> frame (look-up entities: look-up table name -> ``id, name, time_zone``)
    frames: dict[str, pl.DataFrame]
    #: ``entity, record_id, reason, payload`` of every record that could not be stored
    quarantine: pl.DataFrame
    #: ``"<kind>:<table>.<column>"`` -> how many values were carried despite drifting
    drift: dict[str, int] = field(default_factory=dict)
    #: records in the page's ``values``
    count: int = 0
    skip: int | None = None
    limit: int | None = None
    total: int | None = None
    #: per record, in page order, an object with the attributes of ``passes.Ref`` (the decoded
    #: records, when the page was read in one call); ``None``: read them from the body
    refs: list[Any] | None = field(default=None, repr=False)

    def staging(self, table: Table) -> pl.DataFrame:
        """``table``'s frame with exactly its staging columns."""
        return self.frames[table.staging].select(c.name for c in table.columns)


def plans(entity: str) -> tuple[TablePlan, ...]:
    """The staging tables ``entity`` feeds (transactions: transactions, then their items)."""
    check_entity(entity)
    return ENTITY_PLANS.get(entity, ())


def _as_int(value: Any) -> int | None:
    return value if type(value) is int else None


def _envelope(entity: str, body: bytes) -> tuple[list[msgspec.Raw], int | None, int | None, int | None]:
    """The page's raw records. ``/store`` answers a bare ``{shop: {...}}``, not a list."""
    try:
        if entity == "store":
            top = decoders("store").keys.decode(body)
            if "values" not in top:
                return [top["shop"] if "shop" in top else msgspec.Raw(body)], None, None, None
        env = ENVELOPE.decode(body)
    except _UNDECODABLE as exc:
        raise InputDataError(f"{entity} page is not a Blaze list response ({{values, skip, limit, total}}): {exc}") from exc
    return env.values, _as_int(env.skip), _as_int(env.limit), _as_int(env.total)


class _Quarantine:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str | None, str, str]] = []

    def add(self, entity: str, record_id: Any, reason: str, payload: bytes | str) -> None:
        text = payload if isinstance(payload, str) else bytes(payload).decode("utf-8", "replace")
        rid = record_id if isinstance(record_id, str) and record_id else None
        self.rows.append((entity, rid, reason, text))

    def add_bad(self, entity: str, cols: Columns, key: str, payloads: Sequence[bytes] | _LazyRaws) -> None:
        ids = cols.values(key)
        for i, reasons in sorted(cols.bad.items()):
            self.add(entity, ids[i], "; ".join(reasons), payloads[i])

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=QUARANTINE_SCHEMA, orient="row")


def _loose_id(raw: msgspec.Raw) -> str | None:
    """The record's ``id`` when the record is an object at all (for the quarantine row)."""
    try:
        value = msgspec.json.decode(raw, type=dict[str, Any]).get("id")
    except _UNDECODABLE:
        return None
    return value if isinstance(value, str) else None


#: entity -> its strict record and page decoders (:func:`_strict`), or None when it has none
_STRICT: dict[str, tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]] | None] = {}


def _strict(entity: str, sample: msgspec.Raw) -> msgspec.json.Decoder[Any] | None:
    """The entity's record decoder that also fails on fields neither the swagger declares nor
    real responses were seen to carry (at the top, and in cart items for transactions): a
    record it decodes adds no drift, so it is decoded and checked in one pass. Built once per
    entity, expecting keys in the order of ``sample``."""
    if entity in _STRICT:
        built = _STRICT[entity]
        return None if built is None else built[0]
    known = known_fields()
    dec = decoders(entity)
    if entity not in known or (dec.child_keys is not None and "transaction_items" not in known):
        _STRICT[entity] = None
        return None
    try:
        keys = dec.keys.decode(sample)
        allowed: dict[Path, list[str]] = {(): _in_order(known[entity], keys)}
        if dec.child_keys is not None:
            try:
                items = dec.child_keys.decode(keys["cart"]).items or () if "cart" in keys else ()
            except _UNDECODABLE:
                items = ()
            allowed[("cart", "items")] = _in_order(known["transaction_items"], items[0] if items else ())
    except _UNDECODABLE:
        return None  # an odd sample: try again with the next page's
    _STRICT[entity] = built = strict_decoder(entity, allowed)
    return built[0]


def _whole_page(entity: str, body: bytes) -> tuple[list[Any], int | None, int | None, int | None] | None:
    """The usual page in one call: every record an object without undeclared fields. ``None``
    when the entity's strict decoders are not built yet or any record is not like that: the
    page is then read record by record."""
    built = _STRICT.get(entity)
    if built is None:
        return None
    try:
        page = built[1].decode(body)
    except _UNDECODABLE:
        return None
    return page.values, _as_int(page.skip), _as_int(page.limit), _as_int(page.total)


class _LazyRaws:
    """A page's raw records, cut from the body only if one is asked for (a quarantine payload)."""

    def __init__(self, entity: str, body: bytes) -> None:
        self._entity = entity
        self._body = body
        self._raws: list[msgspec.Raw] | None = None

    def __getitem__(self, i: int) -> msgspec.Raw:
        if self._raws is None:
            self._raws = _envelope(self._entity, self._body)[0]
        return self._raws[i]


def _in_order(fields: frozenset[str], seen: Iterable[str]) -> list[str]:
    """``fields``, those ``seen`` first in their order (msgspec then finds each key where expected)."""
    first = [k for k in seen if k in fields]
    return first + sorted(fields.difference(first))


def _decode_records(
    entity: str, raws: list[msgspec.Raw], quarantine: _Quarantine, check_fields: bool
) -> tuple[list[Any], list[msgspec.Raw], list[msgspec.Raw]]:
    """Records as Structs, the raw JSON of each, and (``check_fields``) the raw JSON of those
    that may carry undeclared fields; a record of the wrong shape is quarantined with
    msgspec's reason."""
    dec = decoders(entity).record
    strict = _strict(entity, raws[0]) if check_fields and raws else None
    records: list[Any] = []
    kept: list[msgspec.Raw] = []
    drifting: list[msgspec.Raw] = []
    for raw in raws:
        if strict is not None:
            try:
                records.append(strict.decode(raw))
                kept.append(raw)
                continue
            except _UNDECODABLE:
                pass
        try:
            records.append(dec.decode(raw))
            kept.append(raw)
        except _UNDECODABLE as exc:
            quarantine.add(entity, _loose_id(raw), f"record cannot be decoded: {exc}", raw)
            continue
        if check_fields:
            drifting.append(raw)
    return records, kept, drifting


def _count_extra_fields(entity: str, raws: list[msgspec.Raw], drift: Counter[str]) -> None:
    """Count fields neither the swagger declares nor real responses were seen to carry."""
    dec = decoders(entity)
    known = known_fields()
    top = known.get(entity)
    child = known.get("transaction_items") if dec.child_keys is not None else None
    for raw in raws:
        keys = dec.keys.decode(raw)
        if top is not None:
            for k in keys.keys() - top:
                drift[f"extra_field:{entity}.{k}"] += 1
        if child is not None and "cart" in keys:
            try:
                items = dec.child_keys.decode(keys["cart"]).items or ()  # type: ignore[union-attr]
            except _UNDECODABLE:
                continue
            for item in items:
                for k in item.keys() - child:
                    drift[f"extra_field:transaction_items.{k}"] += 1


class _ItemsRaw(msgspec.Struct):
    class _Cart(msgspec.Struct):
        items: list[msgspec.Raw] | None = None

    cart: _Cart | None = None


def _raw_child(parent_raw: msgspec.Raw, position: int) -> bytes:
    """A child record's own JSON, for its quarantine row (the parent's if it cannot be cut)."""
    try:
        doc = msgspec.json.decode(parent_raw, type=_ItemsRaw)
        return bytes(doc.cart.items[position])  # type: ignore[union-attr,index]
    except (*_UNDECODABLE, AttributeError, IndexError, TypeError):
        return bytes(parent_raw)


def decode_page(
    entity: str,
    body: bytes,
    *,
    timezone: str,
    lookups: Mapping[str, pl.DataFrame] | None = None,
    check_fields: bool = True,
) -> DecodedPage:
    """Decode one page of ``entity`` (members, transactions, products or a look-up entity).

    ``timezone`` turns epoch milliseconds into shop-local dates (the shop's ``timeZone`` from
    ``/store``, else the ``shop_timezone_fallback`` parameter). ``lookups`` (look-up table name
    -> frame of ``id, name``) resolve look-up columns; without them those columns hold only
    what the record itself says. ``check_fields`` counts fields the swagger does not declare
    (nearly free on a page without any, which is read in one call; a page with one is read
    record by record). A body that is not a Blaze list response raises
    :class:`InputDataError`.
    """
    check_entity(entity)
    check_timezone(timezone)
    body = bytes(body)
    drift: Counter[str] = Counter()
    quarantine = _Quarantine()
    whole = _whole_page(entity, body) if check_fields and entity in ENTITY_PLANS else None
    kept: list[msgspec.Raw] | _LazyRaws
    if whole is not None:
        records, skip, limit, total = whole
        kept, drifting, refs, count = _LazyRaws(entity, body), [], records, len(records)
    else:
        raws, skip, limit, total = _envelope(entity, body)
        records, kept, drifting = _decode_records(entity, raws, quarantine, check_fields and entity not in LOOKUP_ENTITIES)
        refs, count = None, len(raws)
    if entity in LOOKUP_ENTITIES:
        frames = {LOOKUP_ENTITIES[entity]: _lookup_frame(entity, records, kept, quarantine, drift)}
        return DecodedPage(entity, frames, quarantine.frame(), dict(drift), count, skip, limit, total)
    _count_extra_fields(entity, drifting, drift)

    frames: dict[str, pl.DataFrame] = {}
    parent_plan, *child_plans = ENTITY_PLANS[entity]
    key = parent_plan.table.key
    cols = columns(parent_plan, records, None, drift)
    modified = _coerce.epoch_ms(walk(records, MODIFIED), f"{parent_plan.table.legacy}._modified_ms", drift)
    cols.put("_modified_ms", modified, pl.Int64())
    cols.require(key, "record has no id")
    for i, value in enumerate(modified.values):
        if value is None and i not in modified.bad:
            cols.bad.setdefault(i, []).append("record has no modified time")
        elif value is not None and value >= PLAUSIBLE_UNTIL_MS:
            cols.bad.setdefault(i, []).append(f"record has an implausible modified time ({value} ms, after 2100)")
    quarantine.add_bad(entity, cols, key, kept)
    frames[parent_plan.table.staging] = parent = finish(parent_plan, cols, timezone)
    count_enums(parent_plan, parent, drift)
    count_implausible(parent_plan, parent, drift)

    for plan in child_plans:  # transaction items: records inside each stored parent
        assert plan.within is not None
        lists = walk(records, plan.within)
        owner = [(i, j) for i, items in enumerate(lists) if items and i not in cols.bad for j in range(len(items))]
        children = [lists[i][j] for i, j in owner]
        child_cols = columns(plan, children, [records[i] for i, _ in owner], drift)
        child_cols.put("_modified_ms", _coerce.Result([modified.values[i] for i, _ in owner]), pl.Int64())
        child_cols.require(plan.table.key, "record has no id")
        payloads = [_raw_child(kept[i], j) if k in child_cols.bad else b"" for k, (i, j) in enumerate(owner)]
        quarantine.add_bad(plan.table.legacy, child_cols, plan.table.key, payloads)
        frames[plan.table.staging] = child = finish(plan, child_cols, timezone)
        count_enums(plan, child, drift)
        count_implausible(plan, child, drift)

    if lookups is not None:
        tables = {p.table.staging: p.table for p in ENTITY_PLANS[entity]}
        frames = {name: resolve(f, tables[name], lookups, timezone) for name, f in frames.items()}
    return DecodedPage(entity, frames, quarantine.frame(), dict(drift), count, skip, limit, total, refs)


def _lookup_frame(entity: str, records: list[Any], kept: list[msgspec.Raw] | _LazyRaws, quarantine: _Quarantine, drift: Counter[str]) -> pl.DataFrame:
    """``id, name, time_zone, opened_ms`` of look-up records; a person's name is first + ' ' + last.

    ``opened_ms`` is the shop's ``created`` (where members and products can begin, see
    ``plan.py``); an unreadable one is carried as NULL, never a reason to drop the shop.
    """
    name = LOOKUP_ENTITIES[entity]
    cols = Columns(len(records))
    for target, path in (("id", "id"), ("name", "name"), ("__first", "firstName"), ("__last", "lastName"), ("time_zone", "timeZone")):
        cols.put(target, _coerce.text(walk(records, (path,)), f"{name}.{path}", drift), pl.String())
    opened: list[Any] = [None] * len(records)
    if name == "shop":
        read = _coerce.epoch_ms(walk(records, ("created",)), "shop.created", drift)
        opened = [None if i in read.bad else v for i, v in enumerate(read.values)]
    cols.put("opened_ms", _coerce.Result(opened), pl.Int64())
    cols.require("id", "record has no id")
    quarantine.add_bad(entity, cols, "id", kept)
    if not records:
        return pl.DataFrame(schema=LOOKUP_SCHEMA)
    display = person_name(pl.col("__first"), pl.col("__last")) if name in PERSON_LOOKUPS else pl.col("name")
    return cols.frame().filter(cols.keep()).select(pl.col("id"), display.alias("name"), pl.col("time_zone"), pl.col("opened_ms"))


__all__ = [
    "MONEY",
    "NUMERIC",
    "QUARANTINE_SCHEMA",
    "TIMESTAMP",
    "DecodedPage",
    "decode_page",
    "dtype",
    "frame_schema",
    "plans",
    "resolve",
    "shop_timezone",
]
