"""Generation of transactions, their cart items, refunds and loyalty activity (vectorised).

Money is held in integer cents, quantities in thousandths, points in hundredths. Cart arithmetic
(one place, used by generation and by live events):

- item: ``gross = round(unitPrice * quantity)``; ``calcDiscount`` = the cash discount, or
  ``round(gross * percent)``; ``finalPrice = gross - calcDiscount``; ``calcTax`` = city 10 % +
  county ("Excise") 15 % + state 9.75 % of ``finalPrice`` for cannabis, state 9.5 % otherwise,
  each rounded to the cent.
- cart: ``subTotal = Σ gross``, ``totalDiscount = Σ calcDiscount``, ``totalCalcTax = Σ calcTax``
  exactly, ``totalBeforeTaxRounding = subTotal - totalDiscount + totalCalcTax``; with
  ``NEAREST_DOLLAR`` rounding ``totalAfterTaxRounding`` is that rounded to the dollar
  (``roundAmt`` the difference); a credit-card fee of 8 % of the rounded total may apply;
  ``total = totalAfterTaxRounding + creditCardFee``. ``cart.tax`` is the rate 0.08 (a quirk).
- refunds are ``transType`` Refund, status RefundWithInventory/RefundWithoutInventory, with
  ``parentTransactionId`` the sale; their amounts are **positive** and equal the refunded items'
  ``finalPrice + calcTax`` (no rounding, no fee). Refunds do not change loyalty points.
- ``pointsEarned`` = 5 % of ``subTotal - totalDiscount`` on completed sales (0 otherwise).
"""

from __future__ import annotations

import numpy as np

from ._gen_catalog import DAY, S_ITEM, S_LOYAL, S_REFUND, S_SALE, stream
from ._table import Table, new_ids, signed
from ._time import utc_offsets_ms

TX_STATUSES = ("Completed", "Canceled", "Void", "RefundWithInventory", "RefundWithoutInventory")
TX_TYPES = ("Sale", "Refund")
PAYMENTS = ("Cash", "Credit", "StoreCredit", "Split")
ROUND_TYPES = ("ONE_CENT", "NEAREST_DOLLAR")
REFUND_STATES = ("None", "Complete_Refund", "Partial_Refund")
DISCOUNT_TYPES = ("Cash", "Percentage")
ITEM_STATUSES = ("Active", "Refunded")
ACTIVITY_TYPES = ("Accrue", "Usage")
COMPLETED, CANCELED, VOID, REFUND_INV, REFUND_NOINV = range(5)


def price_items(price: np.ndarray, qty: np.ndarray, dtype: np.ndarray, draw: np.ndarray,
                cannabis: np.ndarray) -> dict[str, np.ndarray]:
    """Item money columns from unit price (cents), quantity (thousandths) and discount."""
    gross = (price * qty + 500) // 1000
    calc = np.where(dtype == 1, (gross * draw + 5000) // 10000, np.minimum(draw, gross // 2))
    final = gross - calc
    city = np.where(cannabis, (final * 1000 + 5000) // 10000, 0)
    county = np.where(cannabis, (final * 1500 + 5000) // 10000, 0)
    state = np.where(cannabis, (final * 975 + 5000) // 10000, (final * 950 + 5000) // 10000)
    return {"gross": gross, "calc_disc": calc, "final": final, "city": city, "county": county,
            "state": state, "tax": city + county + state}


def draw_items(rng: np.random.Generator, n: int, by_gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantity (thousandths), discount type and raw discount for ``n`` items."""
    grams = rng.choice(np.array([1000, 3500, 7000, 14000, 28000, 1750, 500, 2000]), n)
    odd = rng.random(n) < 0.25
    grams = np.where(odd, rng.integers(300, 5000, n), grams)
    units = rng.choice(np.array([1000, 2000, 3000]), n, p=[0.75, 0.18, 0.07])
    qty = np.where(by_gram, grams, units).astype(np.int64)
    kind = rng.random(n)
    dtype = (kind > 0.92).astype(np.int8)  # 8 % percentage discounts
    cash = rng.choice(np.array([100, 200, 500, 1000]), n)
    pct = rng.choice(np.array([1000, 1500, 2000, 2500]), n)
    draw = np.where(kind < 0.8, 0, np.where(dtype == 1, pct, cash)).astype(np.int64)
    return qty, dtype, draw


def cart_totals(starts: np.ndarray, money: dict[str, np.ndarray], pay: np.ndarray, rounding: np.ndarray,
                fee_on: np.ndarray, is_refund: np.ndarray) -> dict[str, np.ndarray]:
    """Cart money columns from the items' money columns (items grouped by cart at ``starts``)."""
    sub = np.add.reduceat(money["gross"], starts)
    disc = np.add.reduceat(money["calc_disc"], starts)
    tax = np.add.reduceat(money["tax"], starts)
    before = sub - disc + tax
    after = np.where((rounding == 1) & ~is_refund, ((before + 50) // 100) * 100, before)
    fee = np.where((pay == 1) & fee_on & ~is_refund, (after * 8 + 50) // 100, 0)
    total = after + fee
    received = np.where((pay == 0) & ~is_refund, -(-total // 2000) * 2000, total)
    return {"subtotal": sub, "discount": disc, "tax": tax, "before": before, "after": after,
            "fee": fee, "total": total, "received": received, "change": received - total}


def sale_times(rng: np.random.Generator, n: int, t0: int, now: int, tz: str) -> np.ndarray:
    """``n`` sorted sale times between ``t0`` and ``now``, 08:00-22:00 shop-local, busier evenings."""
    import datetime as dt

    first = dt.datetime.fromtimestamp(t0 / 1000, dt.UTC).date()
    n_days = int((now - t0) // DAY) + 2
    offsets = utc_offsets_ms(first, n_days, tz)
    w = np.linspace(0.6, 1.4, n_days) * np.where(np.arange(n_days) % 7 >= 5, 1.2, 1.0)
    day = rng.choice(n_days, n, p=w / w.sum())
    minute = 480 + (840 * rng.beta(1.7, 1.2, n)).astype(np.int64)
    base = (np.datetime64(first, "D").astype(np.int64) + day) * DAY
    t = base + minute * 60_000 + rng.integers(0, 60_000, n) - offsets[day]
    t = np.where(t > now - 5_000, t - ((t - now) // DAY + 1) * DAY, t)
    t = np.maximum(t, t0)
    return np.sort(t)


def opening_hours(t: np.ndarray, t0: int, now: int, tz: str) -> np.ndarray:
    """``t`` moved into 08:00-22:00 shop-local time of the same day (folded, deterministic)."""
    import datetime as dt

    first = dt.datetime.fromtimestamp(t0 / 1000, dt.UTC).date()
    base = np.datetime64(first, "D").astype(np.int64) * DAY
    offsets = utc_offsets_ms(first, int((now - t0) // DAY) + 40, tz)
    day = np.clip((t - base) // DAY, 0, len(offsets) - 1)
    local = t + offsets[day]
    minute = (local % DAY) // 60_000
    folded = (local // DAY) * DAY + (480 + (minute * 7919) % 840) * 60_000 + local % 60_000
    return np.where((minute < 480) | (minute >= 1320), folded, local) - offsets[day]


def pick_by_created(rng: np.random.Generator, created: np.ndarray, at: np.ndarray, skew: float) -> np.ndarray:
    """For each time in ``at`` a row created at least a minute before it, favouring older rows."""
    order = np.argsort(created, kind="stable")
    k = np.maximum(np.searchsorted(created[order], at - 60_000), 1)
    return order[(k * rng.random(len(at)) ** skew).astype(np.int64)]


def make_sales(seed: int, n_total: int, t0: int, now: int, tz: str, members: Table, products: Table,
               n_emp: int, n_term: int) -> tuple[Table, Table]:
    """All transactions (rows in ``processedTime``, id order) and their items (grouped by row)."""
    rng, irng, rrng = stream(seed, S_SALE), stream(seed, S_ITEM), stream(seed, S_REFUND)
    n_ref = max(1, int(round(n_total * 0.02)))
    n_s = n_total - n_ref
    t = sale_times(rng, n_s, t0, now, tz)
    member = pick_by_created(rng, members["created"], t, 1.5).astype(np.int32)
    status = rng.choice(np.array([COMPLETED, CANCELED, VOID], dtype=np.int8), n_s, p=[0.975, 0.018, 0.007])
    count = rng.choice(np.array([1, 2, 3, 4]), n_s, p=[0.1, 0.25, 0.3, 0.35])
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    n_i = int(count.sum())
    item_tx = np.repeat(np.arange(n_s), count)
    pos = np.arange(n_i) - starts[item_tx]
    product = pick_by_created(irng, products["created"], t[item_tx], 1.3).astype(np.int32)
    qty, dtype, draw = draw_items(irng, n_i, products["by_gram"][product])
    price = products["price"][product]
    money = price_items(price, qty, dtype, draw, products["cannabis"][product])
    pay = rng.choice(np.array([0, 1, 2, 3], dtype=np.int8), n_s, p=[0.55, 0.4, 0.03, 0.02])
    rounding = (rng.random(n_s) < 0.3).astype(np.int8)
    fee_on = rng.random(n_s) < 0.9
    # refunds of earlier completed sales
    done = np.nonzero((status == COMPLETED) & (t < now - 3_600_000))[0]
    parent = np.sort(rrng.choice(done, min(n_ref, len(done)), replace=False))
    n_ref = len(parent)
    rt = opening_hours(t[parent] + 3_600_000 + (rrng.exponential(3.0, n_ref) * DAY).astype(np.int64), t0, now, tz)
    late = (rt >= now - 1000) | (rt <= t[parent])
    rt[late] = t[parent[late]] + rrng.integers(5, 30, late.sum()) * 60_000
    whole = rrng.random(n_ref) < 0.8
    r_count = np.where(whole, count[parent], 1)
    r_pos = np.arange(int(r_count.sum())) - np.repeat(np.cumsum(r_count) - r_count, r_count)
    r_src = np.repeat(starts[parent], r_count) + r_pos  # the refunded sale items
    # combine sales and refunds, order by (processedTime, id)
    n_tx = n_s + n_ref
    hi, lo = new_ids(rng, n_tx)
    proc = np.concatenate([t, rt])
    perm = np.lexsort((lo.astype(np.int64), signed(hi), proc))
    inv = np.empty(n_tx, dtype=np.int64)
    inv[perm] = np.arange(n_tx)
    all_count = np.concatenate([count, r_count])
    is_ref = np.arange(n_tx) >= n_s
    st = np.concatenate([status, np.where(rrng.random(n_ref) < 0.7, REFUND_INV, REFUND_NOINV).astype(np.int8)])
    # items: sale items then refund items, then regrouped by the new transaction rows
    src = np.concatenate([np.arange(n_i), r_src]).astype(np.int64)
    i_tx_old = np.concatenate([item_tx, n_s + np.repeat(np.arange(n_ref), r_count)])
    i_pos = np.concatenate([pos, r_pos]).astype(np.int64)
    i_tx = inv[i_tx_old]
    iperm = np.lexsort((i_pos, i_tx))
    src, i_tx, i_pos = src[iperm], i_tx[iperm], i_pos[iperm]
    n_items = len(src)
    ihi, ilo = new_ids(irng, n_items)
    c_new = all_count[perm]
    i0 = np.concatenate([[0], np.cumsum(c_new)[:-1]]).astype(np.int64)
    proc_n = proc[perm]
    end = proc_n - rng.integers(100, 600, n_tx)
    start = end - rng.integers(5_000, 480_000, n_tx)
    created = start - rng.integers(0, 900_000, n_tx)
    st_n = st[perm]
    ref_n = is_ref[perm]
    item_money = {k: v[src] for k, v in money.items()}
    parent_row = np.full(n_tx, -1, dtype=np.int32)
    parent_row[inv[n_s:]] = inv[parent]
    pay_all = np.concatenate([pay, pay[parent]])[perm]
    cart = cart_totals(i0, item_money, pay_all, np.concatenate([rounding, np.zeros(n_ref, np.int8)])[perm],
                       np.concatenate([fee_on, np.zeros(n_ref, bool)])[perm], ref_n)
    sub_disc = cart["subtotal"] - cart["discount"]
    earned = np.where(st_n == COMPLETED, (sub_disc * 5 + 50) // 100, 0)
    modified = proc_n + rng.integers(200, 15_000, n_tx)
    refund_state = np.zeros(n_tx, dtype=np.int8)
    prow = parent_row[ref_n]
    np.maximum.at(modified, prow, proc_n[ref_n] + 2_000)
    refund_state[prow] = np.where(whole[perm[ref_n] - n_s], 1, 2)
    i_created = created[i_tx] + ((start - created)[i_tx] * (0.2 + 0.1 * i_pos)).astype(np.int64)
    tx = Table({
        "hi": hi[perm], "lo": lo[perm], "member": np.concatenate([member, member[parent]])[perm].astype(np.int32),
        "seller": rng.integers(0, n_emp, n_tx).astype(np.int16),
        "terminal": rng.integers(0, n_term, n_tx).astype(np.int16),
        "trans_no": 100_000 + np.arange(n_tx, dtype=np.int64), "status": st_n, "ttype": ref_n.astype(np.int8),
        "parent": parent_row, "refund_state": refund_state,
        "created": created, "modified": modified, "start": start, "end": end,
        "completed": np.where((st_n == CANCELED) | (st_n == VOID), -1, proc_n), "processed": proc_n,
        "pay": pay_all, "rounding": np.concatenate([rounding, np.zeros(n_ref, np.int8)])[perm],
        **cart, "point_spent": np.zeros(n_tx, dtype=np.int64), "earned": earned,
        "consumer": members["consumer"][np.concatenate([member, member[parent]])[perm]],
        "i0": i0, "ni": c_new.astype(np.int16),
    })
    items = Table({
        "hi": ihi, "lo": ilo, "tx": i_tx.astype(np.int32), "pos": i_pos.astype(np.int16),
        "product": product[src], "qty": qty[src], "price": price[src], "dtype": dtype[src], "draw": draw[src],
        **item_money, "status": ref_n[i_tx].astype(np.int8), "created": i_created,
        "cogs": (products["cost"][product[src]] * qty[src] + 500) // 1000,
    })
    return tx, items


def spend_points(seed: int, tx: Table, n_members: int) -> None:
    """Let some members spend points once, never more than half of what they had earned before."""
    rng = stream(seed, S_LOYAL)
    done = np.nonzero(tx["status"] == COMPLETED)[0]
    if not len(done):
        return
    mem = tx["member"][done]
    order = np.lexsort((done, mem))  # by member, then time (rows are in time order)
    rows, m = done[order], mem[order]
    earned = tx["earned"][rows]
    cum = np.cumsum(earned) - earned
    first = np.concatenate([[True], m[1:] != m[:-1]])
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(m)), 0))
    prior = cum - cum[group_start]
    key = rng.random(len(rows))
    pick_order = np.lexsort((key, m))
    last = np.concatenate([m[pick_order][1:] != m[pick_order][:-1], [True]])
    chosen = pick_order[last]
    wants = rng.random(len(chosen)) < 0.4
    spend = (prior[chosen] // 200) * 100
    ok = wants & (spend >= 100)
    col = tx["point_spent"]
    col[rows[chosen[ok]]] = spend[ok]


def member_rollups(tx: Table, members: Table) -> None:
    """lastVisitDate, loyalty and lifetime points, and modified >= last visit, from the sales."""
    n = len(members)
    done = np.nonzero(tx["status"] == COMPLETED)[0]
    mem = tx["member"][done]
    last = members["last_visit"]
    np.maximum.at(last, mem, tx["completed"][done])
    lifetime = np.bincount(mem, weights=tx["earned"][done], minlength=n).astype(np.int64)
    spent = np.bincount(mem, weights=tx["point_spent"][done], minlength=n).astype(np.int64)
    members["lifetime"][:] = lifetime
    members["loyalty"][:] = lifetime - spent
    seen = last >= 0
    mod = members["modified"]
    mod[seen] = np.maximum(mod[seen], last[seen] + 47)


def make_loyalty(seed: int, tx: Table) -> Table:
    """Accrue logs for points earned and Usage logs for points spent, as Blaze keeps them."""
    rng = stream(seed, S_LOYAL + 100)
    acc = np.nonzero(tx["earned"] > 0)[0]
    use = np.nonzero(tx["point_spent"] > 0)[0]
    rows = np.concatenate([acc, use])
    kind = np.concatenate([np.zeros(len(acc), np.int8), np.ones(len(use), np.int8)])
    amount = np.concatenate([tx["earned"][acc], tx["point_spent"][use]])
    hi, lo = new_ids(rng, len(rows))
    return Table({"hi": hi, "lo": lo, "member": tx["member"][rows], "tx": rows.astype(np.int32),
                  "kind": kind, "amount": amount, "date": tx["processed"][rows] + 25 + kind.astype(np.int64)})
