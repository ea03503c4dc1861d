"""Live mode: a deterministic sequence of events that change the dataset as a running shop would.

Each event first advances the simulated clock by 30-300 s, then applies one of: ``member_edit``
(phone, e-mail or first name; ``modified`` moves), ``member_new``, ``transaction_new`` (a completed
sale; the member's lastVisitDate, points and ``modified`` move), ``refund`` (a Refund of an earlier
completed sale; the sale's ``modified`` moves) or ``price_change`` (a product's ``unitPrice``;
``modified`` moves). The events draw from their own PCG64 stream, so ``step(1)`` twice equals
``step(2)``. ``touch`` serves the fault injector with the caller's generator and never moves the
clock: it bumps ``modified`` of a random record to now, or inserts a new member, sale or product.
``amend`` is the admin's hand on one record (no randomness, no clock move): delete a member or
product in Blaze (``deleted=true``, ``modified`` bumped) or set its ``modified`` to any instant,
e.g. in the past, as a late write that shows up after a sync passed its time.
"""

from __future__ import annotations

import numpy as np

from . import _words as W
from ._gen_catalog import S_LIVE, stream
from ._gen_members import PHONE_STYLE_P, email_for, format_phone
from ._gen_sales import COMPLETED, REFUND_INV, cart_totals, draw_items, price_items
from ._generate import World
from ._table import id_str, new_ids

KINDS = ("member_edit", "member_new", "transaction_new", "refund", "price_change")
KIND_P = (0.3, 0.1, 0.4, 0.1, 0.1)


class Live:
    """Applies live events and touches to a :class:`World`, keeping every index in order."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = stream(world.seed, S_LIVE)

    # -- index upkeep ------------------------------------------------------------------------
    def _set_modified(self, entity: str, row: int, ms: int) -> None:
        w = self.w
        t = w.table(entity)
        if entity == "members":
            old = -int(t["modified"][row])
            t.set("modified", row, ms)
            w.idx["members"].move(row, old, w.key("members", row))
        elif entity in ("products", "products_modified"):
            old = int(t["modified"][row])
            t.set("modified", row, ms)
            w.idx["products_modified"].move(row, old, w.key("products_modified", row))
        elif "modified" in t:
            t.set("modified", row, ms)

    def _index_new(self, entities: tuple[str, ...], row: int) -> None:
        for e in entities:
            self.w.idx[e].insert(row, self.w.key(e, row))

    def _id(self, entity: str, row: int) -> str:
        t = self.w.table(entity)
        return id_str(int(t["hi"][row]), int(t["lo"][row]))

    # -- events ------------------------------------------------------------------------------
    def step(self) -> dict:
        w, rng = self.w, self.rng
        w.now_ms += int(rng.integers(30, 301)) * 1000
        kind = KINDS[int(rng.choice(len(KINDS), p=KIND_P))]
        if kind == "member_edit":
            row = self._live_member(rng)
            self._edit_member(rng, row)
            return {"kind": kind, "entity": "members", "id": self._id("members", row)}
        if kind == "member_new":
            row = self._new_member(rng)
            return {"kind": kind, "entity": "members", "id": self._id("members", row)}
        if kind == "refund":
            row = self._refund(rng)
            if row is not None:
                return {"kind": kind, "entity": "transactions", "id": self._id("transactions", row)}
            kind = "transaction_new"
        if kind == "transaction_new":
            row = self._new_sale(rng, self._live_member(rng))
            return {"kind": kind, "entity": "transactions", "id": self._id("transactions", row)}
        p = w.products
        row = int(rng.integers(len(p)))
        old = int(p["price"][row])
        price = max(100, old * int(rng.choice([85, 90, 95, 105, 110, 120])) // 100 // 5 * 5)
        p.set("price", row, price if price != old else old + 5)
        self._set_modified("products", row, w.now_ms)
        return {"kind": "price_change", "entity": "products", "id": self._id("products", row)}

    def touch(self, entity: str, rng: np.random.Generator, *, insert: bool = False) -> str:
        w = self.w
        if entity == "products_modified":
            entity = "products"
        if insert and entity == "members":
            return self._id("members", self._new_member(rng))
        if insert and entity == "transactions":
            return self._id("transactions", self._new_sale(rng, self._live_member(rng)))
        if insert and entity == "products":
            return self._id("products", self._new_product(rng))
        t = w.table(entity)
        row = int(rng.integers(len(t)))
        # never backwards: with the clock held still, an earlier event may have set now + a few ms
        if entity == "transactions":
            w.tx.set("modified", row, max(w.now_ms, int(w.tx["modified"][row])))
        else:
            self._set_modified(entity, row, max(w.now_ms, int(t["modified"][row])))
        return self._id(entity, row)

    def amend(self, entity: str, row: int, *, deleted: bool | None = None, modified_ms: int | None = None) -> int:
        """Flag ``row`` deleted (or not) and move its ``modified`` (default: now); returns it."""
        if entity not in ("members", "products"):
            raise ValueError(f"amend changes members and products, not {entity!r}")
        if deleted is not None:
            self.w.table(entity).set("deleted", row, bool(deleted))
        ms = self.w.now_ms if modified_ms is None else int(modified_ms)
        self._set_modified(entity, row, ms)
        return ms

    # -- members -----------------------------------------------------------------------------
    def _live_member(self, rng: np.random.Generator) -> int:
        m = self.w.members
        for _ in range(100):
            row = int(rng.integers(len(m)))
            if not m["deleted"][row]:
                return row
        return row

    def _edit_member(self, rng: np.random.Generator, row: int) -> None:
        m = self.w.members
        what = int(rng.integers(3))
        if what == 0:
            digits = int(rng.choice(W.AREA_CODES)) * 10_000_000 + int(rng.integers(2_000_000, 9_999_999))
            m.set("phone", row, format_phone(digits, int(rng.choice(len(PHONE_STYLE_P), p=PHONE_STYLE_P))))
        elif what == 1:
            domain = W.EMAIL_DOMAINS[int(rng.integers(len(W.EMAIL_DOMAINS)))]
            m.set("email", row, email_for(m["first"][row], m["last"][row], int(rng.integers(1, 99)), 1, domain))
        else:
            k = int(rng.integers(len(W.FIRST_NAMES)))
            if W.FIRST_NAMES[k] == m["first"][row]:
                k = (k + 1) % len(W.FIRST_NAMES)
            m.set("first", row, W.FIRST_NAMES[k])
        self._set_modified("members", row, self.w.now_ms)

    def _new_member(self, rng: np.random.Generator) -> int:
        w = self.w
        m, now = w.members, w.now_ms
        hi, lo = new_ids(rng, 1)
        first = W.FIRST_NAMES[int(rng.integers(len(W.FIRST_NAMES)))]
        last = W.LAST_NAMES[int(rng.integers(len(W.LAST_NAMES)))]
        digits = int(rng.choice(W.AREA_CODES)) * 10_000_000 + int(rng.integers(2_000_000, 9_999_999))
        city = int(rng.integers(len(W.CITIES)))
        row = m.append(
            hi=hi[0], lo=lo[0], first=first, last=last,
            phone=format_phone(digits, int(rng.choice(len(PHONE_STYLE_P), p=PHONE_STYLE_P))),
            email=email_for(first, last, int(rng.integers(1, 99)), 1, W.EMAIL_DOMAINS[city % len(W.EMAIL_DOMAINS)]),
            street=f"{int(rng.integers(100, 19_999))} {W.STREETS[int(rng.integers(len(W.STREETS)))]}", city=city,
            zip=f"{W.CITIES[city][1]}{int(rng.integers(0, 99)):02d}", status=0, medical=False,
            text_opt=bool(rng.random() < 0.3), email_opt=bool(rng.random() < 0.5), group=0, consumer=0,
            sex=int(rng.integers(0, 2)), marketing="Walk-in", dob=int(rng.integers(-25 * 365, 2 * 365)) * 86_400_000,
            license=f"N{int(rng.integers(0, 9_999_999)):07d}", lic_exp=now + 1_000 * 86_400_000,
            created=now, start=now + 21, modified=now + 21, deleted=False, last_visit=-1, loyalty=0, lifetime=0,
        )
        w.groups["count"][0] += 1
        self._index_new(("members",), row)
        return row

    # -- products ----------------------------------------------------------------------------
    def _new_product(self, rng: np.random.Generator) -> int:
        """A new product: a variant of an existing one, with its own id, created now."""
        p, now = self.w.products, self.w.now_ms
        like = int(rng.integers(len(p)))
        hi, lo = new_ids(rng, 1)
        values = {name: p[name][like] for name in p.names}
        values.update(hi=hi[0], lo=lo[0], created=now, modified=now, active=True, instock=True, deleted=False,
                      name=f"{p['name'][like]} (New)", sku=f"{p['sku'][like]}N")
        row = p.append(**values)
        self._index_new(("products", "products_modified"), row)
        return row

    # -- transactions ------------------------------------------------------------------------
    def _append_tx(self, rng: np.random.Generator, member: int, product: np.ndarray, qty: np.ndarray,
                   dtype: np.ndarray, draw: np.ndarray, parent: int, status: int) -> int:
        w = self.w
        tx, items, p = w.tx, w.items, w.products
        now, refund = w.now_ms, parent >= 0
        price = p["price"][product] if not refund else items["price"][product]
        prod_rows = items["product"][product] if refund else product
        money = price_items(price, qty, dtype, draw, p["cannabis"][prod_rows])
        pay = int(tx["pay"][parent]) if refund else int(rng.choice(3, p=[0.55, 0.42, 0.03]))
        rounding = 0 if refund else int(rng.random() < 0.3)
        cart = cart_totals(np.array([0]), money, np.array([pay]), np.array([rounding]), np.array([True]),
                           np.array([refund]))
        end = now - int(rng.integers(100, 600))
        start = end - int(rng.integers(5_000, 480_000))
        created = start - int(rng.integers(0, 900_000))
        earned = 0 if refund else (int(cart["subtotal"][0] - cart["discount"][0]) * 5 + 50) // 100
        hi, lo = new_ids(rng, 1 + len(qty))
        i0 = len(items)
        for k in range(len(qty)):
            items.append(hi=hi[1 + k], lo=lo[1 + k], tx=len(tx), pos=k, product=prod_rows[k], qty=qty[k],
                         price=price[k], dtype=dtype[k], draw=draw[k], **{c: v[k] for c, v in money.items()},
                         status=int(refund), created=created + (start - created) // 3 + k,
                         cogs=(int(p["cost"][prod_rows[k]]) * int(qty[k]) + 500) // 1000)
        row = tx.append(
            hi=hi[0], lo=lo[0], member=member, seller=int(rng.integers(len(w.employees))),
            terminal=int(rng.integers(len(w.terminals))), trans_no=w.next_trans_no, status=status,
            ttype=int(refund), parent=parent, refund_state=0, created=created, modified=now + 1_200, start=start,
            end=end, completed=now, processed=now, pay=pay, rounding=rounding, **{c: v[0] for c, v in cart.items()},
            point_spent=0, earned=earned, consumer=int(w.members["consumer"][member]), i0=i0, ni=len(qty))
        w.next_trans_no += 1
        self._index_new(("transactions",), row)
        if not refund:
            m = w.members
            m.set("lifetime", member, int(m["lifetime"][member]) + earned)
            m.set("loyalty", member, int(m["loyalty"][member]) + earned)
            m.set("last_visit", member, now)
            self._set_modified("members", member, now + 47)
        if earned:
            a = w.loyalty
            ahi, alo = new_ids(rng, 1)
            arow = a.append(hi=ahi[0], lo=alo[0], member=member, tx=row, kind=0, amount=earned, date=now + 25)
            self._index_new(("loyalty_activity",), arow)
        return row

    def _new_sale(self, rng: np.random.Generator, member: int) -> int:
        p = self.w.products
        sellable = np.nonzero(p["active"] & p["instock"])[0]
        if not len(sellable):
            sellable = np.arange(len(p))
        n = int(rng.choice([1, 2, 3, 4], p=[0.1, 0.25, 0.3, 0.35]))
        product = rng.choice(sellable, n).astype(np.int64)
        qty, dtype, draw = draw_items(rng, n, p["by_gram"][product])
        return self._append_tx(rng, member, product, qty, dtype, draw, -1, COMPLETED)

    def _refund(self, rng: np.random.Generator) -> int | None:
        tx, items = self.w.tx, self.w.items
        open_sales = np.nonzero((tx["status"] == COMPLETED) & (tx["refund_state"] == 0) & (tx["ttype"] == 0))[0]
        if not len(open_sales):
            return None
        parent = int(open_sales[int(rng.integers(max(0, len(open_sales) - 2000), len(open_sales)))])
        i0, ni = int(tx["i0"][parent]), int(tx["ni"][parent])
        src = np.arange(i0, i0 + ni)
        row = self._append_tx(rng, int(tx["member"][parent]), src, items["qty"][src], items["dtype"][src],
                              items["draw"][src], parent, REFUND_INV + int(rng.random() < 0.3))
        tx.set("refund_state", parent, 1)
        tx.set("modified", parent, self.w.now_ms + 2_000)
        return row
