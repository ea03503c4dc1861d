"""The simulator's whole state as compact columns, built deterministically from (scale, seed, now)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _gen_catalog as C
from ._gen_members import make_members
from ._gen_sales import make_loyalty, make_sales, member_rollups, spend_points
from ._table import SortedIndex, Table, signed
from .presets import SHOP_TZ, Preset


@dataclass
class World:
    """Every table, the orders pages are served in, and the simulated clock."""

    preset: Preset
    seed: int
    now_ms: int
    tz: str
    t0: int
    shop: C.Shop
    employees: Table
    terminals: Table
    inventories: Table
    vendors: Table
    brands: Table
    categories: Table
    groups: Table
    products: Table
    members: Table
    tx: Table
    items: Table
    loyalty: Table
    idx: dict[str, SortedIndex] = field(default_factory=dict)
    next_trans_no: int = 0

    def table(self, entity: str) -> Table:
        return {
            "members": self.members, "transactions": self.tx, "products": self.products,
            "products_modified": self.products, "vendors": self.vendors, "terminals": self.terminals,
            "categories": self.categories, "brands": self.brands, "employees": self.employees,
            "loyalty_activity": self.loyalty,
        }[entity]

    def key(self, entity: str, row: int) -> tuple[int, int, int]:
        """The sort key of ``row`` in the order of ``entity``'s pages."""
        t = self.table(entity)
        hi, lo = signed(int(t["hi"][row])), int(t["lo"][row])
        if entity == "members":
            return -int(t["modified"][row]), hi, lo
        if entity == "transactions":
            return int(t["processed"][row]), hi, lo
        if entity == "products_modified":
            return int(t["modified"][row]), hi, lo
        if entity == "loyalty_activity":
            return int(t["date"][row]), hi, lo
        return hi, lo, 0


def _by_id(t: Table) -> SortedIndex:
    return SortedIndex(signed(t["hi"]), t["lo"].astype(np.int64), np.zeros(len(t), dtype=np.int64))


def _by(t: Table, k1: np.ndarray) -> SortedIndex:
    return SortedIndex(k1, signed(t["hi"]), t["lo"].astype(np.int64))


def build(preset: Preset, seed: int, now_ms: int) -> World:
    p, now = preset, int(now_ms)
    t0 = now - int(p.years * C.YEAR)
    shop = C.make_shop(seed, t0)
    employees = C.make_employees(seed, p, t0)
    inventories = C.make_inventories(seed, t0)
    terminals = C.make_terminals(seed, p, t0, len(employees), len(inventories))
    vendors = C.make_vendors(seed, p, t0, now)
    brands = C.make_brands(seed, p, t0, now, len(vendors))
    categories = C.make_categories(seed, p, t0)
    groups = C.make_member_groups(seed, t0)
    products = C.make_products(seed, p, t0, now, categories, len(brands), len(vendors))
    members = make_members(seed, p.members, t0, now, len(groups))
    tx, items = make_sales(seed, p.transactions, t0, now, SHOP_TZ, members, products, len(employees), len(terminals))
    spend_points(seed, tx, len(members))
    member_rollups(tx, members)
    groups["count"][:] = np.bincount(members["group"], minlength=len(groups))
    loyalty = make_loyalty(seed, tx)
    w = World(p, seed, now, SHOP_TZ, t0, shop, employees, terminals, inventories, vendors, brands, categories,
              groups, products, members, tx, items, loyalty)
    w.idx = {
        "members": _by(members, -members["modified"]),
        "transactions": _by(tx, tx["processed"]),
        "products": _by_id(products),
        "products_modified": _by(products, products["modified"]),
        "vendors": _by_id(vendors), "terminals": _by_id(terminals), "categories": _by_id(categories),
        "brands": _by_id(brands), "employees": _by_id(employees),
        "loyalty_activity": _by(loyalty, loyalty["date"]),
    }
    w.next_trans_no = int(tx["trans_no"][-1]) + 1 if len(tx) else 100_000
    return w
