"""Rendering of transactions (with cart, items, tax tables and payments) to the real JSON shape.

Items of the page's transactions are gathered through the ``i0``/``ni`` offsets (no scan of the
item table). List payloads carry ``member``, ``seller`` and ``terminal`` as null, ids only, and
each item's ``product`` as null with name, SKU, brand and category denormalised (API.md §3).
Everything a page needs from other tables is gathered once per page, vectorised.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import _words as W
from ._gen_members import CONSUMER_TYPES
from ._gen_sales import DISCOUNT_TYPES, ITEM_STATUSES, PAYMENTS, REFUND_STATES, ROUND_TYPES, TX_STATUSES, TX_TYPES
from ._generate import World
from ._days import iso_day
from ._parts import RATE_IDS, address, asset, tax_result, tax_table, terminal, uuid
from ._table import _SUFFIX, Table
from ._templates import new_card_fee, new_cart, new_ident, new_item, new_payment, new_tx

_ITEM_COLS = ("hi", "lo", "product", "created", "status", "dtype")
_ITEM_MONEY = ("price", "draw", "calc_disc", "final", "tax", "city", "county", "state", "cogs", "gross")
_TX_COLS = ("hi", "lo", "member", "seller", "terminal", "trans_no", "status", "ttype", "parent", "refund_state",
            "created", "modified", "start", "end", "completed", "processed", "pay", "rounding", "consumer", "ni")
_TX_MONEY = ("subtotal", "discount", "tax", "before", "after", "fee", "total", "received", "change",
             "point_spent", "earned")
_CATEGORY_NAMES = tuple(c[0] for c in W.CATEGORIES)


def ids_of(t: Table, rows: np.ndarray) -> list[str]:
    """Id strings of ``rows`` of table ``t`` (one gather per column)."""
    return [f"{h:016x}{l:08x}" for h, l in zip(t["hi"][rows].tolist(), t["lo"][rows].tolist())]


def terminal_of(w: World, r: int) -> dict:
    """The full Terminal object of terminal row ``r`` (as ``/store/terminals`` and payments carry it)."""
    t, co, sh = w.terminals, w.shop.company_id, w.shop.shop_id
    inv = ids_of(w.inventories, np.array([int(t["inventory"][r])]))[0]
    emp = ids_of(w.employees, np.array([int(t["employee"][r])]))[0]
    return terminal(ids_of(t, np.array([r]))[0], int(t["created"][r]), int(t["modified"][r]), co, sh,
                    t["name"][r], t["device"][r], inv, emp, ("NotAssigned", "WalkIn", "Delivery")[int(t["type"][r])],
                    int(t["n_devices"][r]))


def item_rows(w: World, rows: np.ndarray) -> np.ndarray:
    """Item rows of transactions ``rows``, grouped per transaction in order."""
    i0, ni = w.tx["i0"][rows], w.tx["ni"][rows].astype(np.int64)
    total = int(ni.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(ni) - ni
    return np.repeat(i0 - starts, ni) + np.arange(total)


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _items(w: World, rows: np.ndarray) -> list[dict]:
    it, p, co, sh = w.items, w.products, w.shop.company_id, w.shop.shop_id
    cols = [it.take(c, rows) for c in _ITEM_COLS]
    qty = (it["qty"][rows] / 1000).tolist()
    money = [(it[c][rows] / 100).tolist() for c in _ITEM_MONEY]
    prod = it["product"][rows]
    pids = ids_of(p, prod)
    names, skus, wpus = p["name"][prod].tolist(), p["sku"][prod].tolist(), p["wpu"][prod].tolist()
    cannabis, by_gram = p["cannabis"][prod].tolist(), p["by_gram"][prod].tolist()
    brand = p["brand"][prod]
    brands = np.append(w.brands["name"], "")[np.where(brand >= 0, brand, len(w.brands))].tolist()
    cats = [_CATEGORY_NAMES[c] for c in w.categories["cat"][p["category"][prod]].tolist()]
    inventory = ids_of(w.inventories, np.array([1]))[0]
    out = []
    for i, (hi, lo, _, created, status, dtype, q, price, draw, calc, final, tax, city, county, state, cogs,
            gross) in enumerate(zip(*cols, qty, *money)):
        rid = f"{hi:016x}{lo:08x}"
        base, pid = rid[:18], pids[i]
        done = created + 190_000
        d = new_item()
        d["id"] = rid
        d["created"] = created
        d["modified"] = done
        d["companyId"] = co
        d["orderItemId"] = base + _SUFFIX[1]
        d["quantity"] = q
        d["weightKey"] = "CUSTOM" if by_gram[i] else "UNIT"
        d["productName"] = names[i]
        d["categoryName"] = cats[i]
        d["brandName"] = brands[i]
        d["productSku"] = skus[i]
        d["weightPerUnit"] = wpus[i]
        d["origQuantity"] = q
        d["discountedQty"] = q if calc else 0.0
        d["productId"] = pid
        d["cost"] = gross
        d["unitPrice"] = price
        d["discount"] = draw
        d["discountType"] = DISCOUNT_TYPES[dtype]
        d["calcDiscount"] = calc
        d["finalPrice"] = final
        d["calcTax"] = tax
        d["taxTable"] = tax_table(rid, 2, done, co, sh, cannabis[i])
        d["taxResult"] = tax_result(base + _SUFFIX[8], done, tax, city, county, state, False)
        d["taxRateDetails"] = [{"taxRateId": RATE_IDS[k], "taxRateAmount": v, "preTax": False}
                               for k, v in enumerate((city, county, state)) if v or k == 2]
        d["status"] = ITEM_STATUSES[status]
        d["quantityLogs"] = [{"id": f"{base}{_SUFFIX[9 + k]}_{pid[:18]}{_SUFFIX[90 + k]}", "inventoryId": inventory,
                              "quantity": q if k == 0 else 0.0, "prepackageItemId": None,
                              "batchId": pid[:18] + _SUFFIX[90 + k], "packageLabel": None, "cannabisUsage": None}
                             for k in range(1 + hi % 3)]
        if calc:
            d["promotionReqs"] = [{"id": base + _SUFFIX[12], "created": created, "modified": created,
                                   "deleted": False, "updated": False, "companyId": co,
                                   "promotionId": pid[:18] + _SUFFIX[95], "rewardId": pid[:18] + _SUFFIX[96],
                                   "reqWay": "Manual", "assigned": True, "promotionName": "Neighborhood Discount",
                                   "finalizedDiscountId": None}]
        d["totalRefundAmount"] = round(final + tax, 2) if status else 0.0
        d["totalRefundQty"] = q if status else 0.0
        d["cogs"] = cogs
        d["discountNotes"] = "Neighborhood " if calc and dtype == 0 else ""
        d["byGram"] = by_gram[i]
        out.append(d)
    return out


def _payment(base: str, j: int, co: str, sh: str, tid: str, trans_no: str, option: str, ts: int, amount: float,
             received: float, fee: float, term: dict) -> dict:
    d = new_payment()
    d["id"] = base + _SUFFIX[30 + j]
    d["created"] = ts - 230
    d["modified"] = ts
    d["companyId"] = co
    d["shopId"] = sh
    d["transactionId"] = tid
    d["transNo"] = trans_no
    d["paymentOption"] = option
    d["amount"] = amount
    d["paymentReceived"] = received
    d["cardFee"] = fee
    d["cardFeesLog"] = _card_fee(base, j, co, ts, fee) if option == "Credit" else None
    d["surchargeTax"] = tax_result(None, ts, 0.0, 0.0, 0.0, 0.0, False, cult=False)
    d["split"] = j > 0
    d["terminal"] = term
    return d


def _card_fee(base: str, j: int, co: str, ts: int, fee: float) -> dict:
    d = new_card_fee()
    d["id"] = base + _SUFFIX[33 + j]
    d["created"] = ts - 830
    d["modified"] = ts - 830
    d["companyId"] = co
    d["feeAmount"] = fee
    return d


def _cart(rid: str, co: str, sh: str, created: int, end: int, consumer: str, pay: str, rounding: str,
          m: list[float], items: list[dict], refund: bool) -> dict:
    subtotal, discount, tax, before, after, fee, total, received, change, spent, _ = m
    base, ts = rid[:18], end + 63
    city = round(sum(it["taxResult"]["totalCityTax"] for it in items), 2)
    county = round(sum(it["taxResult"]["totalCountyTax"] for it in items), 2)
    state = round(tax - city - county, 2)
    back = total if refund else 0.0
    d = new_cart()
    d["id"] = base + _SUFFIX[1]
    d["created"] = created
    d["modified"] = ts
    d["companyId"] = co
    d["consumerType"] = consumer
    d["cashReceived"] = received
    d["changeDue"] = change
    d["paymentOption"] = pay
    d["subTotal"] = subtotal
    d["totalDiscount"] = discount
    d["subTotalDiscount"] = round(subtotal - discount, 2)
    d["total"] = total
    d["totalBeforeTaxRounding"] = before
    d["totalAfterTaxRounding"] = after
    d["taxTable"] = tax_table(rid, 2, ts, co, sh, True, surcharge=True)
    d["taxResult"] = tax_result(base + _SUFFIX[7], ts + 38, tax, city, county, state, True)
    d["taxRateDetails"] = [{"taxRateId": RATE_IDS[k], "taxRateAmount": v, "preTax": False, "taxRateName": name,
                            "taxType": kind, "exciseTax": False}
                           for k, (v, name, kind) in enumerate(((city, "City", "City"), (county, "Excise", "County"),
                                                                 (state, "State", "State")))]
    d["totalCalcTax"] = tax
    d["refundAmount"] = back
    d["roundAmt"] = round(after - before, 2)
    d["pointSpent"] = spent
    d["items"] = items
    d["paymentType"] = "Split" if pay == "Split" else "Full"
    d["creditCardFee"] = fee
    d["lastCreditCardFee"] = fee
    d["enableCreditCardFee"] = fee > 0
    d["refundOption"] = "Retail" if refund else "Void"
    d["requestRefundAmt"] = back
    d["finalRefundAmt"] = back
    d["taxRoundOffType"] = rounding
    d["nonCannabisTaxTable"] = tax_table(rid, 20, created + 40, co, sh, False)
    d["cardFeesLogs"] = [_card_fee(base, 5, co, end, fee)] if fee else []
    d["totalFees"] = fee
    d["refundLog"] = {"pointsUsed": 0, "pointsRefunded": 0, "totalAmount": back, "promotionReqLogs": [],
                      "rewardSystem": "BLAZE"}
    return d


def _identification(rid: str, co: str, ts: int, license: str, expires: int) -> dict:
    """The ID scanned at check-in (kept on the transaction for compliance)."""
    base = rid[:18]
    d = new_ident()
    d["id"] = base + _SUFFIX[14]
    d["created"] = ts
    d["modified"] = ts
    d["companyId"] = co
    d["licenseNumber"] = license
    d["expirationDate"] = expires
    d["localExpirationDate"] = iso_day(expires // 86_400_000)
    d["frontPhoto"] = asset(base + _SUFFIX[15], ts, co, "id-front.jpg", f"{uuid(rid, 3)}.jpg")
    d["assets"] = [asset(base + _SUFFIX[16], ts, co, "id-back.jpg", f"{uuid(rid, 4)}.jpg", full=False)]
    return d


def render_transactions(w: World, rows: np.ndarray) -> list[dict]:
    tx, mem = w.tx, w.members
    co, sh, tz = w.shop.company_id, w.shop.shop_id, w.tz
    cols = [tx.take(c, rows) for c in _TX_COLS]
    money = [(tx[c][rows] / 100).tolist() for c in _TX_MONEY]
    all_items = _items(w, item_rows(w, rows))
    inventory = ids_of(w.inventories, np.array([1]))[0]
    member = tx["member"][rows]
    mids = ids_of(mem, member)
    streets, zips, lics = mem["street"][member].tolist(), mem["zip"][member].tolist(), mem["license"][member].tolist()
    lic_exp = mem["lic_exp"][member].tolist()
    cities = [W.CITIES[c][0] for c in mem["city"][member].tolist()]
    sids = ids_of(w.employees, tx["seller"][rows])
    terms = ids_of(w.terminals, tx["terminal"][rows])
    parent = tx["parent"][rows]
    pids = ids_of(tx, np.maximum(parent, 0))
    terminals: dict[int, dict] = {}  # one Terminal object per terminal, shared within the page
    out, k = [], 0
    for i, (hi, lo, _, _, term_row, trans_no, status, ttype, par, refund_state, created, modified, start, end,
            completed, processed, pay, rounding, consumer, ni) in enumerate(zip(*cols)):
        m = [c[i] for c in money]
        items, k = all_items[k:k + ni], k + ni
        tid, no, sid, term_id = f"{hi:016x}{lo:08x}", str(trans_no), sids[i], terms[i]
        base = tid[:18]
        ctype, option, refund, done = CONSUMER_TYPES[consumer], PAYMENTS[pay], ttype == 1, completed >= 0
        total, after, fee, received = m[6], m[4], m[5], m[7]
        term = terminals.get(term_row)
        if term is None:
            term = terminals[term_row] = terminal_of(w, term_row)
        if option == "Split":
            half = round(after / 2, 2)
            payments = [_payment(base, 0, co, sh, tid, no, "Cash", processed - 40, half, half, 0.0, term),
                        _payment(base, 1, co, sh, tid, no, "Credit", processed - 40, round(after - half, 2),
                                 round(after - half, 2), 0.0, term)]
        else:
            payments = [_payment(base, 0, co, sh, tid, no, option, processed - 40, after, received, fee, term)]
        d = new_tx()
        d["id"] = tid
        d["created"] = created
        d["modified"] = modified
        d["companyId"] = co
        d["shopId"] = sh
        d["metrcId"] = 700000000 + trans_no if done else None
        d["metrcSaleTime"] = _iso(processed) if done else None
        d["traceSubmitTime"] = processed + 9330 if done else 0
        d["traceSubmitStatus"] = "Submitted" if done else "None"
        d["transNo"] = no
        d["parentTransactionId"] = pids[i] if par >= 0 else None
        d["priority"] = trans_no * 2 - 200000
        d["createdById"] = sid
        d["sellerId"] = sid
        d["memberId"] = mids[i]
        d["terminalId"] = term_id
        d["sellerTerminalId"] = term_id
        d["checkinTime"] = created
        d["startTime"] = start
        d["endTime"] = end
        d["status"] = TX_STATUSES[status]
        d["cart"] = _cart(tid, co, sh, created, end, ctype, option, ROUND_TYPES[rounding], m, items, refund)
        d["processedTime"] = processed
        d["paid"] = done
        d["completedTime"] = completed if done else None
        d["inventoryId"] = inventory
        d["transType"] = TX_TYPES[ttype]
        d["assignedEmployeeId"] = sid
        d["timeZone"] = tz
        d["deliveryAddress"] = address(base + _SUFFIX[3], created, co, streets[i], cities[i], "CA", zips[i], 0.0)
        d["startRouteDate"] = created
        d["endRouteDate"] = end
        d["pointsEarned"] = m[10]
        d["payments"] = payments
        d["paymentReceived"] = received
        d["paidAmount"] = after if done else 0.0
        d["preparedBy"] = sid
        d["packedBy"] = sid
        d["packedDate"] = processed - 39 if done else None
        d["transactionRefundStatus"] = REFUND_STATES[refund_state]
        d["refundVersion"] = "NEW" if refund else None
        d["identifications"] = [_identification(tid, co, created, lics[i], lic_exp[i])]
        d["voidDate"] = processed if status == 2 else 0
        d["voidedByEmployeeId"] = sid if status == 2 else None
        d["consumerType"] = ctype
        d["purchaseType"] = ctype
        d["processingTimeMs"] = end - start
        d["waitingTimeMs"] = start - created
        d["lastStartTimestamp"] = end - 777
        d["lastHoldTimestamp"] = start + (end - start) // 2
        d["refundPaymentOptions"] = [option if option in ("Cash", "Credit") else "Cash", "StoreCredit"]
        d["timeCollected"] = modified + 1000
        out.append(d)
    return out
