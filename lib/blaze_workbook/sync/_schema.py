"""Decode plans derived from :mod:`blaze_workbook.mapping`: which JSON paths each entity needs.

Nothing here restates a Blaze field: the paths come from ``Column.source`` and
``Column.lookup``. What *is* written here is what the mapping does not say: where a child
table's records sit inside the parent (``cart.items``), the enum values the swagger declares
(API.md §7, for drift counting) and which Blaze entity feeds which look-up table.

Records are decoded by msgspec into Structs generated from the needed paths only, so a 55 KB
transaction costs a scan, not 188 Python objects. Every leaf is typed ``Any`` and decoded with
``float_hook=Decimal``: a JSON number like ``69.12`` arrives as ``Decimal('69.12')`` taken
from its text, never through a float, and a value of a drifting type (an int where a string is
expected) arrives as what it is, to be judged by :mod:`._coerce`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

import msgspec

from ..errors import ConfigurationError
from ..mapping import CUSTOMERS, PRODUCTS, TRANSACTION_ITEMS, TRANSACTIONS, Column, Table
from .passes import Ref

#: a parsed JSON path: object keys and list indexes
Path = tuple[str | int, ...]
#: the parent's id, for a child record (``$parent.id``)
PARENT = "$parent"

#: lookup entity (the sync's name for the endpoint) -> look-up table name used by the mapping
LOOKUP_ENTITIES: dict[str, str] = {
    "employees": "employees",
    "terminals": "terminals",
    "vendors": "vendors",
    "categories": "categories",
    "brands": "brands",
    "store": "shop",
}
#: look-up tables whose display name is ``firstName + ' ' + lastName``
PERSON_LOOKUPS = frozenset({"employees"})

#: enum values of the swagger (API.md §7) per (legacy table, staging column); anything else is
#: carried as sent and counted as drift ``unknown_enum``
_WEIGHT = "EACH HALF_GRAM FULL_GRAM TWO_GRAMS EIGHTH FOURTH HALF_OUNCE OUNCE CUSTOM_GRAMS POUND FLUID_OZ"
ENUMS: dict[tuple[str, str], frozenset[str]] = {
    (k[0], k[1]): frozenset(v.split())
    for k, v in {
        ("customers", "customer_type"): "Active Pending Inactive",
        ("transactions", "blaze_status"): "Queued Hold InProgress Completed Pending Canceled "
        "RefundWithInventory RefundWithoutInventory Void VoidSales Draft",
        ("transactions", "trans_type"): "Sale Refund Adjustment Transfer Exchange ReturnToVendor ShippingManifest Void",
        ("transactions", "payment_type"): "Cash Credit Check Hypur Split StoreCredit Linx CashlessATM Mtrac None "
        "Clover BlazePay ACH GiftCard Spence Stronghold",
        ("transaction_items", "discount_type"): "Cash Percentage FinalPrice",
        ("transaction_items", "weight_per_unit"): _WEIGHT,
        ("transaction_items", "item_status"): "Active Refunded Exchange Void",
        ("products", "weight_per_unit"): _WEIGHT,
    }.items()
}

#: (table, column) that cannot be negative: a negative value is stored as sent and counted
NON_NEGATIVE: frozenset[tuple[str, str]] = frozenset({
    ("transaction_items", "quantity"), ("customers", "loyalty_points"), ("products", "retail_price"),
})

_SEGMENT = re.compile(r"([A-Za-z_$][A-Za-z0-9_$]*)((?:\[\d+\])*)")


def parse_path(source: str) -> Path:
    """``"assets[0].publicURL"`` -> ``("assets", 0, "publicURL")``."""
    out: list[str | int] = []
    for part in source.split("."):
        match = _SEGMENT.fullmatch(part)
        if not match:
            raise ConfigurationError(f"mapping source {source!r} is not a JSON path this decoder understands")
        out.append(match.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return tuple(out)


@dataclass(frozen=True)
class ColumnPlan:
    """How one staging column is read from a record.

    ``paths`` are alternatives tried in order, except for ``kind == "name"`` where they are the
    parts joined by a space. For a ``lookup`` column, ``paths`` give the record's own value
    (empty when the mapping has only the look-up) and ``ref`` the path of the id resolved in
    the look-up table ``lookup_table``.
    """

    column: Column
    paths: tuple[Path, ...]
    ref: Path | None = None
    lookup_table: str | None = None

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def kind(self) -> str:
        return self.column.kind


def column_plan(col: Column) -> ColumnPlan:
    """Read ``Column.lookup`` in both of the mapping's spellings.

    ``"shop.name"`` (value field ``name``): ``source`` is the id in the record, the column is
    the look-up's name. ``"brands.brandId"``: ``source`` is the record's own value, and
    ``brandId`` the id to look up when that value is missing.
    """
    paths = tuple(parse_path(s) for s in col.source)
    if col.kind != "lookup":
        return ColumnPlan(col, paths)
    if not col.lookup or "." not in col.lookup:
        raise ConfigurationError(f"lookup column {col.name!r} needs lookup='<table>.<field>'")
    table, fld = col.lookup.split(".", 1)
    if fld == "name":
        if len(paths) != 1:
            raise ConfigurationError(f"lookup column {col.name!r} needs exactly one id source")
        return ColumnPlan(col, (), ref=paths[0], lookup_table=table)
    return ColumnPlan(col, paths, ref=parse_path(fld), lookup_table=table)


@dataclass(frozen=True)
class TablePlan:
    """One staging table's decode plan: its columns and where its records sit."""

    table: Table
    columns: tuple[ColumnPlan, ...]
    #: path from the parent record to the list of this table's records; ``None`` for top level
    within: Path | None = None

    @property
    def ref_columns(self) -> tuple[ColumnPlan, ...]:
        return tuple(p for p in self.columns if p.ref is not None)

    @property
    def local_dates(self) -> tuple[ColumnPlan, ...]:
        return tuple(p for p in self.columns if p.kind == "local_date")


def _plan(table: Table, within: Path | None = None) -> TablePlan:
    return TablePlan(table, tuple(column_plan(c) for c in table.columns), within)


#: main entity -> its table plans, parent first; the record's ``modified`` orders merges
ENTITY_PLANS: dict[str, tuple[TablePlan, ...]] = {
    "members": (_plan(CUSTOMERS),),
    "transactions": (_plan(TRANSACTIONS), _plan(TRANSACTION_ITEMS, within=("cart", "items"))),
    "products": (_plan(PRODUCTS),),
}
MODIFIED: Path = ("modified",)
ENTITIES: tuple[str, ...] = (*ENTITY_PLANS, *LOOKUP_ENTITIES)


def aux_ref(name: str) -> str:
    """Bookkeeping column holding a look-up column's id (resolved when read)."""
    return f"_ref_{name}"


def aux_ms(name: str) -> str:
    """Bookkeeping column holding a local date's epoch milliseconds (re-dated when read)."""
    return f"_ms_{name}"


def check_entity(entity: str) -> None:
    if entity not in ENTITIES:
        raise ConfigurationError(f"unknown entity {entity!r}; valid: {', '.join(ENTITIES)}")


# --- msgspec Structs generated from the paths ------------------------------------------------

Tree = dict[str, Any]
_LEAF: Literal["leaf"] = "leaf"


def _insert(tree: Tree, path: Path) -> None:
    node: Any = tree
    for i, seg in enumerate(path):
        last = i == len(path) - 1
        nxt = path[i + 1] if not last else None
        if isinstance(seg, int):
            continue  # the list's element shape is the dict stored under the list's key
        if last:
            node.setdefault(seg, _LEAF)
            if node[seg] != _LEAF:
                raise ConfigurationError(f"path {path} reads {seg!r} both as a value and as an object")
            return
        kind = "list" if isinstance(nxt, int) else "object"
        child = node.setdefault(seg, {"__kind__": kind})
        if child == _LEAF or child["__kind__"] != kind:
            raise ConfigurationError(f"path {path} reads {seg!r} in two shapes")
        node = child


def _struct(name: str, tree: Tree, strict: dict[Path, list[str]] | None = None, at: Path = ()) -> type[msgspec.Struct]:
    """The Struct of ``tree``'s paths. ``strict``: node path -> every key allowed there, in the
    order records carry them; such a node accepts no other key and skips the keys it does not
    need as raw JSON, so decoding a record also proves it has no undeclared field."""
    allowed = strict.get(at) if strict is not None else None
    needed = sorted(k for k in tree if k != "__kind__")
    fields: list[tuple[str, Any, Any]] = []
    rename: dict[str, str] = {}
    for i, key in enumerate(needed if allowed is None else dict.fromkeys([*allowed, *needed])):
        sub = tree.get(key)
        if sub is None:  # allowed here, not needed by the mapping
            fields.append((f"_k{i}", msgspec.Raw, None))
            rename[f"_k{i}"] = key
            continue
        if not key.isidentifier():
            raise ConfigurationError(f"JSON key {key!r} is not usable as a field name")
        if sub == _LEAF:
            fields.append((key, Any, None))
            continue
        inner = _struct(f"{name}_{key}", sub, strict, (*at, key))
        typ = list[inner] | None if sub["__kind__"] == "list" else inner | None  # type: ignore[valid-type]
        fields.append((key, typ, None))
    return msgspec.defstruct(
        name, fields, kw_only=True, omit_defaults=True, forbid_unknown_fields=allowed is not None, rename=rename or None
    )


def _tree_for(plans: tuple[TablePlan, ...], extra: tuple[Path, ...] = ()) -> Tree:
    tree: Tree = {"__kind__": "object"}
    for p in (*extra, MODIFIED):
        _insert(tree, p)
    for plan in plans:
        prefix: Path = (*plan.within, 0) if plan.within else ()
        if plan.within:
            for path in ((*prefix, "id"),):
                _insert(tree, path)
        for col in plan.columns:
            for path in (*col.paths, *((col.ref,) if col.ref else ())):
                if path and path[0] == PARENT:
                    continue
                _insert(tree, (*prefix, *path))
    return tree


class Envelope(msgspec.Struct):
    """``SearchResult<T>``: the page's records kept as raw JSON, sliced not parsed."""

    values: list[msgspec.Raw]
    skip: Any = None
    limit: Any = None
    total: Any = None


@dataclass(frozen=True)
class Decoders:
    """The msgspec decoders of one entity."""

    record: msgspec.json.Decoder[Any]
    keys: msgspec.json.Decoder[Any]
    child_keys: msgspec.json.Decoder[Any] | None


class _CartKeys(msgspec.Struct):
    items: list[dict[str, msgspec.Raw]] | None = None


_LOOKUP_PATHS: tuple[Path, ...] = (("id",), ("name",), ("firstName",), ("lastName",), ("timeZone",), ("created",))


@cache
def decoders(entity: str) -> Decoders:
    """Decoders for ``entity``'s records, built once from the mapping."""
    check_entity(entity)
    if entity in ENTITY_PLANS:
        tree = _record_tree(entity)
    else:
        tree = {"__kind__": "object"}
        for p in _LOOKUP_PATHS:
            _insert(tree, p)
    record = msgspec.json.Decoder(_struct(f"Blaze_{entity}", tree), float_hook=Decimal)
    keys = msgspec.json.Decoder(dict[str, msgspec.Raw])
    child = msgspec.json.Decoder(_CartKeys) if entity == "transactions" else None
    return Decoders(record, keys, child)


def strict_decoder(entity: str, allowed: dict[Path, list[str]]) -> tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]]:
    """Like ``decoders(entity).record``, but failing on any key outside ``allowed`` (node path ->
    allowed keys, in the order records carry them) at those nodes (see :func:`_struct`); and
    the same for a whole page (``values, skip, limit, total``) in one call."""
    check_entity(entity)
    record = _struct(f"Strict_{entity}", _record_tree(entity), allowed)
    page = msgspec.defstruct(
        f"StrictPage_{entity}", [("values", list[record]), ("skip", Any, None), ("limit", Any, None), ("total", Any, None)]  # type: ignore[valid-type]
    )
    return msgspec.json.Decoder(record, float_hook=Decimal), msgspec.json.Decoder(page, float_hook=Decimal)


#: what a pass over a window reads of every record (``passes.Ref``), decoded with the record
#: where the entity's records carry it, so the pass needs no parse of its own
REF_FIELDS: tuple[str, ...] = Ref.__struct_fields__


def _record_tree(entity: str) -> Tree:
    carried = known_fields().get(entity, frozenset())
    return _tree_for(ENTITY_PLANS[entity], tuple((f,) for f in REF_FIELDS if f in carried))


ENVELOPE = msgspec.json.Decoder(Envelope)
ANY = msgspec.json.Decoder(float_hook=Decimal)


@cache
def known_fields() -> dict[str, frozenset[str]]:
    """Per record type, the fields that do not count as drift (swagger + observed extras)."""
    data = json.loads(resources.files(__package__).joinpath("known_fields.json").read_text())
    return {k: frozenset(v["fields"]) | frozenset(v["observed"]) for k, v in data.items() if not k.startswith("_")}
