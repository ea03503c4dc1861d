"""The probe's answers to the plan's questions, each with the calls that prove it.

Kept apart from :mod:`.probe` (which makes the calls) so each module holds one concern: this one
reads the probe's rows and bodies and writes sentences. Every answer quotes its evidence as
``GET /path?query -> status, total N``; nothing here calls the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .blaze.endpoints import PAGE_LIMIT

if TYPE_CHECKING:
    from .probe import ProbeCall

#: the cheap endpoint the header test calls
HEADER_PATH = "/store/terminals"
#: what the API says when a transaction range is too long [TXN, ERR]
RANGE_MESSAGE = "Date range cannot exceed 7 days"
#: limit asked for in the page-cap test
OVER_LIMIT = 500


@dataclass(frozen=True)
class Answer:
    """One question, its answer in a sentence, and the calls that prove it."""

    topic: str
    question: str
    answer: str
    evidence: str


def as_int(value: Any) -> int | None:
    """``value`` when it is a JSON integer (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def records_of(body: Any) -> list[dict[str, Any]]:
    """The record objects of a list response's ``values`` (none for anything else)."""
    if isinstance(body, dict) and isinstance(body.get("values"), list):
        return [v for v in body["values"] if isinstance(v, dict)]
    return []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _named(body: Any, *fields: str) -> int:
    return sum(any(isinstance(v.get(f), str) and v[f].strip() for f in fields) for v in records_of(body))


# --------------------------------------------------------------------------- answers


_QUESTIONS = {
    "lookups": ("Vendor, category and brand look-ups", "Do vendor/category lookup endpoints exist?"),
    "staff": ("Staff and location look-ups", "Do staff lookup endpoints exist?"),
    "loyalty": ("Loyalty points", "What's the loyalty points endpoint structure?"),
}


def _said(call: ProbeCall | None) -> str:
    """``GET /path?query -> 200, total 8`` (or the error)."""
    if call is None:
        return "not called"
    if call.status is None:
        return f"{call.request}: {call.error}"
    head = f"{call.request} -> {call.status if call.status else 'no answer'}"
    if call.status == 200 and call.total is not None:
        return f"{head}, total {call.total}, {call.records} record(s)"
    if call.error:
        return f"{head} ({call.error})"
    return head


def build_answers(rows: Sequence[ProbeCall], data: Mapping[str, Any], headers: list[ProbeCall], extra: Mapping[str, ProbeCall],
            tz: str, tz_source: str, stopped: str | None) -> dict[str, Answer]:
    """Every answer: ``rows`` are the probe's calls, ``data`` the parsed bodies by label."""
    calls = {c.label: c for c in rows if c.purpose == "endpoint"}
    out: dict[str, Answer] = {}
    if stopped:
        return _untested(calls, headers, extra, tz, stopped)

    look = [("vendors", "vendors"), ("store/inventory/categories", "categories"), ("store/inventory/brands", "brands")]
    ok = [(lab, name) for lab, name in look if calls[lab].ok]
    parts = [f"{name}: {calls[lab].total} ({_named(data.get(lab), 'name')}/{calls[lab].records} named on the first page)"
             for lab, name in ok]
    missing = [name for lab, name in look if not calls[lab].ok]
    out["lookups"] = Answer(
        *_QUESTIONS["lookups"],
        ("Yes: " if not missing else ("Partly: " if ok else "No: ")) + "; ".join(
            [*parts, *(f"{name} did not answer" for name in missing)])
        + (". Products carry brandName and category.name themselves; vendor_name needs the /vendors look-up." if ok else "."),
        "; ".join(_said(calls[lab]) for lab, _ in look),
    )

    staff = calls["employees"]
    shop = data.get("store", {}).get("shop") if isinstance(data.get("store"), dict) else None
    shop_name = shop.get("name") if isinstance(shop, dict) else None
    out["staff"] = Answer(
        *_QUESTIONS["staff"],
        (f"Yes: /employees lists {staff.total} people ({_named(data.get('employees'), 'firstName', 'lastName')}"
         f"/{staff.records} with a name; staff_name = firstName + ' ' + lastName, resolved from Transaction.sellerId); "
         + ("/store names the shop for shop_location; " if shop_name else "/store gives no shop name for shop_location; ")
         + f"/store/terminals lists {calls['store/terminals'].total} terminals."
         if staff.ok else f"No: /employees did not answer ({staff.status}); staff_name stays the report's, sellerId is kept."),
        "; ".join(_said(calls[lab]) for lab in ("employees", "store", "store/terminals")),
    )

    out["loyalty"] = _loyalty_answer(calls, data)
    out["header"] = _header_answer(headers, stopped)
    out["seven_day_rule"] = _seven_day_answer(extra["seven_day"])
    out["page_cap"] = _page_cap_answer(extra["page_cap"])
    out["date_formats"] = _date_answer(extra, stopped)
    store = calls["store"]
    out["time_zone"] = Answer(
        "Shop time zone",
        "Which time zone turns epoch milliseconds into shop-local dates?",
        f"{tz} (from /store shop.timeZone)" if tz_source == "store"
        else f"{tz} (the timezone parameter: /store did not name a valid time zone)",
        _said(store),
    )
    return out




def _untested(calls: Mapping[str, ProbeCall], headers: list[ProbeCall], extra: Mapping[str, ProbeCall], tz: str,
              stopped: str) -> dict[str, Answer]:
    """Answers when the probe stopped after its first call: nothing could be tested."""
    first = _said(calls["store"])
    out = {key: Answer(topic, question, f"Not tested: {stopped}.", first) for key, (topic, question) in _QUESTIONS.items()}
    out["header"] = _header_answer(headers, stopped)
    out["seven_day_rule"] = _seven_day_answer(extra["seven_day"])
    out["page_cap"] = _page_cap_answer(extra["page_cap"])
    out["date_formats"] = _date_answer(extra, stopped)
    out["time_zone"] = Answer("Shop time zone", "Which time zone turns epoch milliseconds into shop-local dates?",
                              f"{tz} (the timezone parameter: /store did not answer)", first)
    return out


def _loyalty_answer(calls: Mapping[str, ProbeCall], data: Mapping[str, Any]) -> Answer:
    members = records_of(data.get("members"))
    with_points = sum(_number(m.get("loyaltyPoints")) is not None for m in members)
    points = data.get("loyalty/points") if isinstance(data.get("loyalty/points"), dict) else {}
    member = next((m for m in members if m.get("id") == points.get("memberId")), None)
    on_member = member.get("loyaltyPoints") if member else None
    same = _number(on_member) is not None and _number(on_member) == _number(points.get("loyaltyPoints"))
    activity = calls["loyalty/activity"]
    if members and with_points == len(members):
        answer = (f"Member.loyaltyPoints is on every member ({with_points}/{len(members)} of the first page)"
                  + (f" and equals /loyalty/points for the member probed ({on_member} = {points.get('loyaltyPoints')})"
                     if same else "")
                  + ": staging reads balances from the members listing; no per-member call is needed. "
                  f"/loyalty/points answers one member per call with {{{', '.join(sorted(points)) or 'nothing'}}}; "
                  + (f"/loyalty/activity lists accruals and usages ({activity.total} for that member)."
                     if activity.ok else "/loyalty/activity did not answer."))
    elif calls["loyalty/points"].ok:
        answer = (f"Only {with_points}/{len(members)} members carry loyaltyPoints: use /loyalty/points "
                  f"(one call per member, {{{', '.join(sorted(points))}}}) or sum pointsEarned - cart.pointSpent.")
    else:
        answer = "Neither source answered: keep the existing loyalty_points."
    return Answer(
        *_QUESTIONS["loyalty"],
        answer,
        "; ".join([_said(calls["members"]) + f" ({with_points} with loyaltyPoints)",
                   _said(calls["loyalty/points"]), _said(activity)]),
    )


def _header_answer(headers: list[ProbeCall], stopped: str | None) -> Answer:
    accepted = [h.label for h in headers if h.ok]
    if stopped:
        answer = f"Not tested: {stopped}."
    elif len(accepted) == len(headers):
        answer = "Both names are accepted (x-api-key and partner_key); the client keeps sending both."
    elif accepted:
        answer = f"Only {accepted[0]} is accepted; the client sends both, so requests still authenticate."
    else:
        answer = "Neither name alone was accepted: check the keys before anything else."
    return Answer(
        "Partner-key header",
        "Which header carries the partner key: partner_key [swagger] or x-api-key [auth docs]?",
        answer,
        "; ".join(f"{h.label} alone -> {h.status if h.status is not None else 'not called'}"
                  + (f" ({h.error})" if h.error and h.status else "") for h in headers)
        + f" (GET {HEADER_PATH}?limit=1 with Authorization; header values never logged)",
    )


def _seven_day_answer(call: ProbeCall) -> Answer:
    if call.status == 400 and call.error and "7 days" in call.error:
        answer = f'Yes: an 8-day range is refused with 400 "{RANGE_MESSAGE}"; sync cuts ranges into windows of at most 7 days.'
    elif call.status == 200:
        answer = "Not enforced here: the 8-day range was answered (200); sync still uses 7-day windows."
    else:
        answer = f"Inconclusive ({call.status if call.status is not None else 'not called'}); sync uses 7-day windows."
    return Answer("7-day rule", "Does /transactions refuse a date range over 7 days?", answer, _said(call))


def _page_cap_answer(call: ProbeCall) -> Answer:
    if call.ok and call.records is not None and call.records <= PAGE_LIMIT and (call.total or 0) > PAGE_LIMIT:
        answer = (f"Yes: limit={OVER_LIMIT} returned {call.records} records (envelope limit {call.limit}, total "
                  f"{call.total}); pages hold at most {PAGE_LIMIT}, so paging advances by len(values).")
    elif call.ok and call.records is not None and call.records > PAGE_LIMIT:
        answer = f"No: limit={OVER_LIMIT} returned {call.records} records; paging still advances by len(values)."
    elif call.ok:
        answer = (f"Inconclusive: only {call.total} records exist (envelope limit {call.limit}); "
                  f"paging assumes at most {PAGE_LIMIT} per page.")
    else:
        answer = f"Inconclusive: the call did not answer 200; paging assumes at most {PAGE_LIMIT} per page."
    return Answer("Page cap", f"Does a page hold more than {PAGE_LIMIT} records when asked?", answer, _said(call))


def _date_answer(extra: Mapping[str, ProbeCall], stopped: str | None) -> Answer:
    checks = [("transactions", "transactions_mdy", "MM/dd/yyyy"), ("members", "members_ms", "epoch ms"),
              ("products/modified", "products_modified_ms", "epoch ms"), ("products", "products_mdy", "MM/dd/yyyy"),
              ("products", "products_ms", "epoch ms")]
    done = [(name, extra[key], fmt) for name, key, fmt in checks if key in extra]
    if stopped or not done:
        return Answer("Date formats", "Which date format does each listing take?", f"Not tested: {stopped}.", "")
    verdicts = [f"{name} {fmt}: {'accepted' if call.ok else f'refused ({call.status})'}" for name, call, fmt in done]
    both = extra["products_mdy"].ok and extra["products_ms"].ok
    note = (" /products takes both formats (the swagger and the docs disagree); sync uses /products/modified with epoch ms."
            if both else " Sync uses the accepted format per endpoint (/products/modified with epoch ms for products).")
    return Answer(
        "Date formats",
        "Which date format does each listing take?",
        "; ".join(verdicts) + "." + note,
        "; ".join(_said(call) for _, call, _ in done),
    )


__all__ = ["HEADER_PATH", "OVER_LIMIT", "RANGE_MESSAGE", "Answer", "as_int", "build_answers", "records_of"]
