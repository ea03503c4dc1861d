"""Hand-made Blaze pages for the warehouse and push tests, built from the real samples."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
_SAMPLES = {e: json.loads((DATA / f"{e}.json").read_text())["values"][0] for e in ("members", "transactions", "products")}
T0 = 1_761_000_000_000


def page(*records: Any, skip: int = 0) -> bytes:
    return json.dumps({"values": list(records), "skip": skip, "limit": 100, "total": len(records)}).encode()


def member(i: int, modified: int = T0, **changes: Any) -> dict:
    rec = copy.deepcopy(_SAMPLES["members"])
    rec.update(id=f"m{i:04d}", modified=modified, firstName=f"First{i}", primaryPhone=f"555-{i:04d}")
    rec.update(changes)
    return rec


def transaction(i: int, modified: int = T0, *, items: int = 2, total: str | None = None, **changes: Any) -> dict:
    rec = copy.deepcopy(_SAMPLES["transactions"])
    rec.update(id=f"t{i:04d}", modified=modified, memberId=f"m{i % 7:04d}")
    template = rec["cart"]["items"][0]
    rec["cart"]["items"] = [copy.deepcopy(template) | {"id": f"t{i:04d}-{j}", "quantity": 1 + j} for j in range(items)]
    if total is not None:
        rec["cart"]["total"] = float(total)
    rec.update(changes)
    return rec


def product(i: int, modified: int = T0, **changes: Any) -> dict:
    rec = copy.deepcopy(_SAMPLES["products"])
    rec.update(id=f"p{i:04d}", modified=modified, sku=f"SKU{i}", brandName=None)
    rec.update(changes)
    return rec


def lookups() -> list[tuple[str, bytes]]:
    sample_tx = _SAMPLES["transactions"]
    return [
        ("store", json.dumps({"shop": {"id": sample_tx["shopId"], "name": "Downtown", "timeZone": "America/Los_Angeles"}}).encode()),
        ("employees", page({"id": sample_tx["sellerId"], "firstName": "Sam", "lastName": "Budtender"})),
        ("brands", page({"id": _SAMPLES["products"]["brandId"], "name": "Kiva"})),
        ("vendors", page({"id": _SAMPLES["products"]["vendorId"], "name": "Kiva Sales"})),
        ("categories", page({"id": _SAMPLES["products"]["categoryId"], "name": "Edibles"})),
    ]


def history(n: int = 12) -> list[tuple[str, bytes, dict]]:
    """A sync's pages in fetch order: look-ups, then overlapping windows with edits and re-sends.

    Each entity's watermark is the page's index, so the final state is known.
    """
    out: list[tuple[str, bytes, dict]] = [(e, b, {"cursor": {"done": True}}) for e, b in lookups()]
    for k in range(n):
        base = T0 + k * 60_000
        members = [member(10 * k + j, base + j) for j in range(10)]
        if k:
            # the previous window again, one member edited, one older version re-sent
            members.append(member(10 * (k - 1), base + 50, primaryPhone=f"edited-{k}"))
            members.append(member(10 * (k - 1) + 1, T0 - 1, primaryPhone="stale"))
        out.append(("members", page(*members), {"watermark_ms": base + 9, "cursor": {"page": k}}))
        txs = [transaction(5 * k + j, base + j, total=f"{10 + k}.{j}5") for j in range(5)]
        if k % 3 == 2:
            txs.append({"cart": {"total": 1}})  # no id: quarantined
        out.append(("transactions", page(*txs), {"watermark_ms": base + 4}))
        if k % 4 == 0:
            out.append(("products", page(*[product(3 * k + j, base + j) for j in range(3)]), {"watermark_ms": base + 2}))
    return out
