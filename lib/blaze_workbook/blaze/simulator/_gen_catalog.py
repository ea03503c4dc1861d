"""Generation of the shop, its staff, devices and catalogue (everything but members and sales).

Every table draws from its own PCG64 stream keyed by ``(seed, stream number)``, so adding a table
never changes another table's data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _words as W
from ._table import Table, id_str, new_ids, text_column
from .presets import Preset

DAY = 86_400_000
YEAR = int(365.25 * DAY)

# stream numbers: never renumber, only add
S_SHOP, S_EMP, S_TERM, S_INV, S_VEND, S_BRAND, S_CAT, S_GROUP, S_PROD = range(1, 10)
S_MEMBER, S_SALE, S_ITEM, S_REFUND, S_LOYAL, S_LIVE = range(10, 16)


def stream(seed: int, number: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, number])))


@dataclass
class Shop:
    company_id: str
    shop_id: str
    name: str
    created: int
    license: str


def make_shop(seed: int, start_ms: int) -> Shop:
    rng = stream(seed, S_SHOP)
    hi, lo = new_ids(rng, 2)
    names = ("Green Harbor Collective", "Sunset Leaf Dispensary", "Canyon Roots Wellness", "Pacific Bloom")
    return Shop(
        company_id=id_str(int(hi[0]), int(lo[0])),
        shop_id=id_str(int(hi[1]), int(lo[1])),
        name=names[seed % len(names)],
        created=start_ms - 400 * DAY,
        license=f"C10-{int(rng.integers(1_000_000, 9_999_999)):07d}-LIC",
    )


def _times(rng: np.random.Generator, n: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    created = rng.integers(lo, hi, size=n, dtype=np.int64)
    modified = created + (rng.random(n) ** 2 * (hi - created)).astype(np.int64)
    return created, modified


def _pick(rng: np.random.Generator, words: tuple[str, ...] | list[str], n: int) -> np.ndarray:
    return text_column(np.asarray(words, dtype=object)[rng.integers(0, len(words), n)])


def make_employees(seed: int, p: Preset, t0: int) -> Table:
    rng = stream(seed, S_EMP)
    n = p.employees
    hi, lo = new_ids(rng, n)
    first, last = _pick(rng, W.FIRST_NAMES, n), _pick(rng, W.LAST_NAMES, n)
    created, modified = _times(rng, n, t0 - 300 * DAY, t0 + 30 * DAY)
    return Table({
        "hi": hi, "lo": lo, "first": first, "last": last,
        "email": text_column(f"{f.lower()}.{s.lower()}@staff.example.com" for f, s in zip(first, last)),
        "phone": text_column(f"{int(x)}" for x in rng.integers(2_130_000_000, 9_499_999_999, n)),
        "role": rng.integers(0, len(W.EMPLOYEE_ROLES), n).astype(np.int8),
        "disabled": rng.random(n) < 0.1, "driver": rng.random(n) < 0.15,
        "pin": text_column(f"{int(x):04d}" for x in rng.integers(0, 10_000, n)),
        "created": created, "modified": modified,
    })


def make_terminals(seed: int, p: Preset, t0: int, n_emp: int, n_inv: int) -> Table:
    rng = stream(seed, S_TERM)
    n = p.terminals
    hi, lo = new_ids(rng, n)
    created, modified = _times(rng, n, t0 - 200 * DAY, t0)
    dev = rng.integers(0, 1 << 62, size=(n, 2))
    return Table({
        "hi": hi, "lo": lo,
        "name": text_column(W.TERMINAL_NAMES[i % len(W.TERMINAL_NAMES)] for i in range(n)),
        "device": text_column(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
                              for h in (f"{a:016X}{b:016X}" for a, b in dev.tolist())),
        "employee": rng.integers(0, n_emp, n).astype(np.int32),
        "inventory": np.full(n, 1 % max(n_inv, 1), dtype=np.int32),
        "type": np.where(np.arange(n) == n - 1, 2, 1).astype(np.int8),
        "n_devices": rng.integers(30, 71, n).astype(np.int16),
        "created": created, "modified": modified,
    })


def make_inventories(seed: int, t0: int) -> Table:
    rng = stream(seed, S_INV)
    n = len(W.INVENTORY_NAMES)
    hi, lo = new_ids(rng, n)
    created, modified = _times(rng, n, t0 - 400 * DAY, t0)
    return Table({"hi": hi, "lo": lo, "created": created, "modified": modified})


def make_vendors(seed: int, p: Preset, t0: int, now: int) -> Table:
    rng = stream(seed, S_VEND)
    n = p.vendors
    hi, lo = new_ids(rng, n)
    words = rng.integers(0, len(W.BRAND_WORDS), size=(n, 2))
    suffix = ("Distribution", "Wholesale LLC", "Supply Co", "Brands Inc", "Farms", "Labs")
    names = [f"{W.BRAND_WORDS[a]} {W.BRAND_WORDS[b]} {suffix[(a + b) % len(suffix)]}" for a, b in words.tolist()]
    created, modified = _times(rng, n, t0 - 300 * DAY, now - DAY)
    city = rng.integers(0, len(W.CITIES), n)
    return Table({
        "hi": hi, "lo": lo, "name": text_column(names), "created": created, "modified": modified,
        "active": rng.random(n) < 0.9,
        "email": text_column("" if r < 0.3 else f"orders{i}@vendor{i}.example.com"
                             for i, r in enumerate(rng.random(n))),
        "phone": text_column(f"({int(x) // 10_000_000}) {int(x) // 10_000 % 1000}-{int(x) % 10_000:04d}"
                             for x in rng.integers(2_130_000_000, 9_499_999_999, n)),
        "license": text_column(f"C11-{int(x):07d}-LIC" for x in rng.integers(0, 9_999_999, n)),
        "vtype": rng.choice(np.array([0, 1, 2], dtype=np.int8), n, p=[0.1, 0.8, 0.1]),
        "street": text_column(f"{int(x)} {W.STREETS[int(x) % len(W.STREETS)]}" for x in rng.integers(100, 9999, n)),
        "city": city.astype(np.int16),
    })


def make_brands(seed: int, p: Preset, t0: int, now: int, n_vendors: int) -> Table:
    rng = stream(seed, S_BRAND)
    n = p.brands
    hi, lo = new_ids(rng, n)
    words = W.BRAND_WORDS
    names = [words[i % len(words)] if i < len(words) else f"{words[i % len(words)]} {words[(i * 7 + 3) % len(words)]}"
             for i in range(n)]
    created, modified = _times(rng, n, t0 - 300 * DAY, now - DAY)
    return Table({
        "hi": hi, "lo": lo, "name": text_column(names), "vendor": rng.integers(0, n_vendors, n).astype(np.int32),
        "created": created, "modified": modified, "active": rng.random(n) < 0.92,
        "website": text_column("" if r < 0.4 else f"https://www.{nm.lower().replace(' ', '')}.example.com"
                               for nm, r in zip(names, rng.random(n))),
    })


def make_categories(seed: int, p: Preset, t0: int) -> Table:
    rng = stream(seed, S_CAT)
    n = min(p.categories, len(W.CATEGORIES))
    hi, lo = new_ids(rng, n)
    created, modified = _times(rng, n, t0 - 900 * DAY, t0)
    deleted = np.zeros(n, dtype=bool)
    deleted[-1] = True  # one retired category: hidden unless includeDeleted=true
    return Table({
        "hi": hi, "lo": lo, "cat": np.arange(n, dtype=np.int16), "created": created, "modified": modified,
        "deleted": deleted, "active": ~deleted, "priority": rng.integers(0, 20, n).astype(np.int16),
    })


def make_member_groups(seed: int, t0: int) -> Table:
    rng = stream(seed, S_GROUP)
    n = len(W.MEMBER_GROUPS)
    hi, lo = new_ids(rng, n)
    created, modified = _times(rng, n, t0 - 900 * DAY, t0)
    return Table({"hi": hi, "lo": lo, "created": created, "modified": modified,
                  "count": np.zeros(n, dtype=np.int64)})


def make_products(seed: int, p: Preset, t0: int, now: int, cats: Table, n_brands: int, n_vendors: int) -> Table:
    """Products (rows in generation order; ``/products`` serves them through an id index)."""
    rng = stream(seed, S_PROD)
    n = p.products
    hi, lo = new_ids(rng, n)
    live_cats = np.nonzero(~cats["deleted"])[0]
    weights = np.linspace(3.0, 0.5, len(live_cats))
    cat = live_cats[rng.choice(len(live_cats), n, p=weights / weights.sum())].astype(np.int16)
    spec = [W.CATEGORIES[int(cats["cat"][c])] for c in cat.tolist()]
    by_gram = np.array([s[1] == "grams" for s in spec])
    cannabis = np.array([s[2] for s in spec])
    brand = rng.integers(0, n_brands, n).astype(np.int32)
    brand[rng.random(n) < 0.03] = -1
    strain = rng.integers(0, len(W.STRAINS), n)
    form = rng.integers(0, 2, n)
    names = []
    for i, (s, st, f, b) in enumerate(zip(spec, strain.tolist(), form.tolist(), brand.tolist())):
        brand_word = W.BRAND_WORDS[b % len(W.BRAND_WORDS)] if b >= 0 else "House"
        name = f"{brand_word} {W.FORMS[s[0]][f]} {W.STRAINS[st]}".replace("  ", " ")
        names.append(f" {name}" if i % 97 == 5 else name)  # a few names with a stray leading space
    price = np.where(by_gram, rng.integers(600, 1800, n), rng.integers(500, 8000, n)).astype(np.int64)
    price = (price // 5) * 5 + np.where(rng.random(n) < 0.5, 0, 3)
    created = np.where(rng.random(n) < 0.55, rng.integers(t0 - 2 * YEAR, t0, n), rng.integers(t0, now - 20 * DAY, n))
    modified = created + (rng.random(n) ** 3 * (now - created)).astype(np.int64)
    thc = np.where(cannabis, rng.integers(0, 3200, n), 0).astype(np.int32)
    nulls = rng.random((5, n)) < np.array([[0.05], [0.1], [0.3], [0.4], [0.5]])
    potency = [np.where(nulls[0], -1, thc)]
    for k, top in enumerate((300, 2800, 150, 200), start=1):
        potency.append(np.where(nulls[k], -1, np.where(cannabis, rng.integers(0, top, n), 0)).astype(np.int32))
    flower = np.asarray(["Indica", "Sativa", "Hybrid", "CBD", "", None], dtype=object)
    fl_code = np.where(cannabis, rng.choice(6, n, p=[0.28, 0.25, 0.35, 0.04, 0.05, 0.03]),
                       rng.choice([4, 5], n))
    wpu = np.asarray(["EACH", "CUSTOM_GRAMS", "EIGHTH", "HALF_GRAM", "FULL_GRAM"], dtype=object)
    wpu_code = np.where(by_gram, 4, rng.choice(4, n, p=[0.55, 0.25, 0.12, 0.08]))
    unit_value = np.select([wpu_code == 2, wpu_code == 3, wpu_code == 1], [350, 50, 100], 100).astype(np.int32)
    deleted = rng.random(n) < 0.01
    active = (rng.random(n) < 0.85) & ~deleted
    return Table({
        "hi": hi, "lo": lo, "name": text_column(names),
        "sku": text_column(f"M{int(x):03X}PRO{int(y)}"
                           for x, y in zip(rng.integers(0, 4096, n), rng.integers(1, 9, n))),
        "brand": brand, "category": cat, "vendor": rng.integers(0, n_vendors, n).astype(np.int32),
        "price": price, "cost": (price * rng.uniform(0.35, 0.6, n)).astype(np.int64),
        "active": active, "instock": active & (rng.random(n) < 0.8), "deleted": deleted,
        "thc": potency[0], "cbd": potency[1], "thca": potency[2], "cbda": potency[3], "cbg": potency[4],
        "by_gram": by_gram, "cannabis": cannabis,
        "description": text_column(np.asarray(W.DESCRIPTIONS, dtype=object)[rng.integers(0, len(W.DESCRIPTIONS), n)]),
        "wpu": text_column(wpu[wpu_code]), "unit_value": unit_value, "flower": text_column(flower[fl_code]),
        "n_assets": rng.choice(np.array([0, 1, 2, 3], dtype=np.int8), n, p=[0.1, 0.35, 0.3, 0.25]),
        "n_breaks": rng.integers(1, 5, n).astype(np.int8),
        "cat_name_set": rng.random(n) < 0.2, "vendor_name_set": rng.random(n) < 0.15,
        "created": created.astype(np.int64), "modified": modified.astype(np.int64),
    })
