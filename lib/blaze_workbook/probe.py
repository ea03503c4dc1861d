"""One small call to every endpoint the migration could use, and what the calls prove.

The 01_setup report answers the plan's open questions (``migration_strategy.md``, "Questions to
Answer") from evidence, not from documentation: do the vendor, category, brand and staff
look-ups exist; where loyalty balances come from; which partner-key header the API honours; is
the 7-day rule on ``/transactions`` enforced; is the page capped at 100; which date format each
listing takes. Each answer quotes the calls behind it (the sentences are written by
:mod:`.probe_answers`).

Calls are billed, so the probe is small (about 20 calls, counted in :attr:`ProbeResult.calls_used`)
and its pages are reused: the members, transactions and products pages (``probe_limit``
records) are the first batch, the look-up pages feed its names. It stops after the first call
when the keys are refused or the API cannot be reached: nothing else could succeed.

The header test sends two requests, each with only one of the two partner-key header names
(the client normally sends both). Header values are never logged, shown or stored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import orjson
import polars as pl

from .blaze.client import BlazeClient
from .blaze.endpoints import API_PREFIX, PAGE_LIMIT
from .blaze.limiter import CallBudget
from .blaze.retry import KEYS_HINT, RetryPolicy, api_message
from .config import BlazeSettings
from .errors import AuthError, ServerError, WorkbookError
from .probe_answers import HEADER_PATH, OVER_LIMIT, Answer, as_int, build_answers, records_of
from .redact import redact

#: shop time zone used when ``/store`` does not name one (the notebook's ``timezone`` parameter)
DEFAULT_TIMEZONE = "America/Los_Angeles"
#: the two names the partner key may travel under [SW] vs [AUTH]
PARTNER_HEADERS = ("x-api-key", "partner_key")
_DAY_MS = 86_400_000

#: (label, path, params with ``{limit}`` for probe_limit) of the endpoint probes, in call order
ENDPOINTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("store", "/store", {}),
    ("members", "/members", {"limit": "{limit}"}),
    ("transactions", "/transactions", {"limit": "{limit}"}),
    ("products", "/products", {"limit": "{limit}"}),
    ("products/modified", "/products/modified", {"limit": 1}),
    ("vendors", "/vendors", {"limit": "{limit}"}),
    ("store/inventory/categories", "/store/inventory/categories", {}),
    ("store/inventory/brands", "/store/inventory/brands", {"limit": "{limit}"}),
    ("employees", "/employees", {"limit": "{limit}"}),
    ("store/terminals", "/store/terminals", {"limit": "{limit}"}),
    ("loyalty/points", "/loyalty/points", {"memberId": "{member}"}),
    ("loyalty/activity", "/loyalty/activity", {"memberId": "{member}", "limit": 1}),
)
#: probe label -> entity of :func:`blaze_workbook.sync.decode_page` (first batch and look-ups)
ENTITY_OF = {
    "members": "members",
    "transactions": "transactions",
    "products": "products",
    "store": "store",
    "employees": "employees",
    "store/terminals": "terminals",
    "vendors": "vendors",
    "store/inventory/categories": "categories",
    "store/inventory/brands": "brands",
}


@dataclass(frozen=True)
class ProbeCall:
    """One probe request: what was asked, what came back. Holds no header and no body."""

    label: str
    purpose: str
    path: str
    query: str
    status: int | None
    latency_ms: float | None
    total: int | None = None
    records: int | None = None
    #: the ``limit`` the envelope echoed
    limit: int | None = None
    error: str | None = None
    expected: int = 200

    @property
    def ok(self) -> bool:
        return self.status == self.expected

    @property
    def request(self) -> str:
        return f"GET {self.path}" + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class ProbeResult:
    """Every probe call, the answers they support, the shop's time zone and the pages kept."""

    calls: tuple[ProbeCall, ...]
    answers: dict[str, Answer]
    timezone: str
    #: ``store`` (``shop.timeZone``) or ``parameter`` (the fallback)
    timezone_source: str
    #: HTTP requests sent, retries and the header test included
    calls_used: int
    probe_limit: int
    #: label -> response body, for the first batch (members, transactions, products, look-ups)
    bodies: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    #: why the probe stopped early, if it did
    stopped: str | None = None

    @property
    def endpoint_calls(self) -> tuple[ProbeCall, ...]:
        return tuple(c for c in self.calls if c.purpose == "endpoint")

    @property
    def endpoints_ok(self) -> int:
        return sum(c.ok for c in self.endpoint_calls)

    def call(self, label: str, purpose: str = "endpoint") -> ProbeCall | None:
        return next((c for c in self.calls if c.label == label and c.purpose == purpose), None)

    def raise_if_stopped(self) -> None:
        """Fail (after the report is written) when the probe could not talk to the API at all."""
        if self.stopped is None:
            return
        store = self.call("store")
        detail = f": {store.error}" if store is not None and store.error else ""
        if "refused the keys" in self.stopped:
            raise AuthError(f"the probe stopped after its first call{detail}", hint=KEYS_HINT)
        raise ServerError(f"the probe stopped after its first call{detail}",
                          hint="check BLAZE_BASE_URL (without /api/v1/partner) and the network")

    def frame(self) -> pl.DataFrame:
        """One row per call: endpoint, purpose, request, status, latency, total, records, error."""
        return pl.DataFrame(
            {
                "endpoint": [c.label for c in self.calls],
                "purpose": [c.purpose for c in self.calls],
                "request": [c.request for c in self.calls],
                "status": [c.status for c in self.calls],
                "expected": [c.expected for c in self.calls],
                "ok": [c.ok for c in self.calls],
                "latency_ms": [c.latency_ms for c in self.calls],
                "total": [c.total for c in self.calls],
                "records": [c.records for c in self.calls],
                "error": [c.error for c in self.calls],
            },
            schema_overrides={"status": pl.Int64, "latency_ms": pl.Float64, "total": pl.Int64, "records": pl.Int64,
                              "error": pl.String},
        )

    def answers_frame(self) -> pl.DataFrame:
        """One row per answer: topic, question, answer, evidence."""
        rows = list(self.answers.values())
        return pl.DataFrame(
            {"topic": [a.topic for a in rows], "question": [a.question for a in rows],
             "answer": [a.answer for a in rows], "evidence": [a.evidence for a in rows]},
            schema={"topic": pl.String, "question": pl.String, "answer": pl.String, "evidence": pl.String},
        )

    def as_dict(self) -> dict[str, Any]:
        """Everything but the bodies, as plain JSON values (``probe.json``)."""
        return {
            "calls_used": self.calls_used,
            "endpoints_ok": self.endpoints_ok,
            "endpoints": len(self.endpoint_calls),
            "probe_limit": self.probe_limit,
            "timezone": self.timezone,
            "timezone_source": self.timezone_source,
            "stopped": self.stopped,
            "calls": [{**{k: getattr(c, k) for k in c.__dataclass_fields__}, "ok": c.ok} for c in self.calls],
            "answers": {k: {"question": a.question, "answer": a.answer, "evidence": a.evidence}
                        for k, a in self.answers.items()},
        }


# --------------------------------------------------------------------------- calling


def probe_client(settings: BlazeSettings, *, transport: httpx.BaseTransport | None = None) -> BlazeClient:
    """A client for probing: one connection, and few retries (a probe should fail fast)."""
    policy = RetryPolicy(max_attempts=3, max_total_wait=30.0, backoff_max=5.0, budget=CallBudget())
    return BlazeClient(settings, transport=transport, concurrency=1, policy=policy, read_timeout=60.0)


def _query(params: Mapping[str, Any]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items() if v is not None)


_REQUEST = re.compile(r" (?:for )?GET [^\s:]+")


def _short(exc: WorkbookError) -> str:
    """The error without the request it names (the row shows the request): status and API message."""
    return redact(_REQUEST.sub("", exc.message))


class _Prober:
    """Makes the probe's calls through the client, keeping each call's facts and body."""

    def __init__(self, client: BlazeClient) -> None:
        self.client = client
        self.calls: list[ProbeCall] = []
        self.bodies: dict[str, bytes] = {}
        self.extra_calls = 0

    def get(self, label: str, path: str, params: Mapping[str, Any], *, purpose: str = "endpoint",
            expected: int = 200) -> tuple[ProbeCall, Any]:
        """One call; an HTTP or transport error becomes a row with its status and message."""
        name = f"probe:{purpose}:{label}"
        started = time.perf_counter()
        data: Any = None
        error: str | None = None
        try:
            raw = self.client.get(path, params, endpoint_name=name)
        except WorkbookError as exc:
            error = _short(exc)
        else:
            try:
                data = orjson.loads(raw.body)
            except orjson.JSONDecodeError:
                error = "the body is not valid JSON"
            if purpose == "endpoint":
                self.bodies[label] = raw.body
        latency = round((time.perf_counter() - started) * 1000, 1)
        envelope = data if isinstance(data, dict) and isinstance(data.get("values"), list) else None
        call = ProbeCall(
            label=label,
            purpose=purpose,
            path=path,
            query=_query(params),
            status=self._status(name),
            latency_ms=latency,
            total=as_int(envelope.get("total")) if envelope else None,
            records=len(envelope["values"]) if envelope else (1 if isinstance(data, dict) else None),
            limit=as_int(envelope.get("limit")) if envelope else None,
            error=error,
            expected=expected,
        )
        self.calls.append(call)
        return call, data

    def _status(self, name: str) -> int | None:
        """The status of the last attempt of call ``name`` (0: no HTTP answer), from the metrics."""
        mine = [r for r in self.client.metrics.records() if r.endpoint == name]
        return mine[-1].status if mine else None

    def skipped(self, label: str, path: str, params: Mapping[str, Any], why: str, *, purpose: str = "endpoint",
                expected: int = 200) -> ProbeCall:
        call = ProbeCall(label, purpose, path, _query(params), None, None, error=f"not called: {why}", expected=expected)
        self.calls.append(call)
        return call


def check_header(
    settings: BlazeSettings,
    header: str,
    *,
    path: str = HEADER_PATH,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
) -> ProbeCall:
    """GET ``path`` sending the partner key under ``header`` only (plus ``Authorization``).

    A raw request, outside the client, because the client always sends both names. Its
    headers are built here and dropped here; only the status and the API's message are kept.
    """
    base = settings.base_url.rstrip("/").removesuffix(API_PREFIX)
    params = {"limit": 1}
    started = time.perf_counter()
    status: int | None
    error: str | None = None
    with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as http:
        try:
            response = http.get(
                base + API_PREFIX + path,
                params=params,
                headers={header: settings.partner_key, "Authorization": settings.developer_key, "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            status, error = 0, redact(f"no answer ({type(exc).__name__}: {exc})")
        else:
            status = response.status_code
            if status != 200:
                error = redact(f"{status}: {api_message(response.content)}")
    latency = round((time.perf_counter() - started) * 1000, 1)
    return ProbeCall(header, "header", path, f"limit=1 (partner key in {header} only)", status, latency, error=error)


# --------------------------------------------------------------------------- the probe


def run_probe(
    client: BlazeClient,
    settings: BlazeSettings,
    *,
    probe_limit: int = PAGE_LIMIT,
    timezone: str = DEFAULT_TIMEZONE,
    header_transport: httpx.BaseTransport | None = None,
) -> ProbeResult:
    """Probe every endpoint once, test the header names, the 7-day rule, the page cap and the
    date formats, and answer the plan's questions from what came back.

    ``probe_limit`` records are asked of the listings that make the first batch and the
    look-ups; one record of the others. ``timezone`` is used when ``/store`` names none.
    """
    if probe_limit < 1:
        raise ValueError(f"probe_limit must be at least 1, not {probe_limit}")
    before = client.metrics.calls
    p = _Prober(client)
    member_id: str | None = None
    stopped: str | None = None
    data: dict[str, Any] = {}
    for label, path, template in ENDPOINTS:
        params = {k: (probe_limit if v == "{limit}" else member_id if v == "{member}" else v) for k, v in template.items()}
        if stopped:
            p.skipped(label, path, params, stopped)
            continue
        if member_id is None and "memberId" in template:
            p.skipped(label, path, params, "no member id (the members probe returned none)")
            continue
        call, body = p.get(label, path, params)
        data[label] = body
        if label == "store" and call.status in (0, 401):
            stopped = ("the API refused the keys (401)" if call.status == 401 else "the API could not be reached")
        if label == "members":
            member_id = _first_id(body)

    tz, tz_source = _timezone(data.get("store"), timezone)
    headers: list[ProbeCall] = []
    if stopped:
        for name in PARTNER_HEADERS:
            headers.append(p.skipped(name, HEADER_PATH, {"limit": 1}, stopped, purpose="header"))
        extra = _skip_checks(p, stopped)
    else:
        for name in PARTNER_HEADERS:
            call = check_header(settings, name, transport=header_transport)
            p.calls.append(call)
            p.extra_calls += 1
            headers.append(call)
        extra = _checks(p, data, tz)

    calls_used = client.metrics.calls - before + p.extra_calls
    found = build_answers(p.calls, data, headers, extra, tz, tz_source, stopped)
    return ProbeResult(tuple(p.calls), found, tz, tz_source, calls_used, probe_limit, dict(p.bodies), stopped)


def _checks(p: _Prober, data: Mapping[str, Any], tz: str) -> dict[str, ProbeCall]:
    """The rule and format tests: 8-day range, page cap, one window per date format."""
    zone = ZoneInfo(tz)
    today = datetime.now(zone).date()
    out: dict[str, ProbeCall] = {}
    eight = {"startDate": _mdy(today - timedelta(days=7)), "endDate": _mdy(today)}
    out["seven_day"], _ = p.get("transactions", "/transactions", eight, purpose="7-day rule", expected=400)
    out["page_cap"], _ = p.get("members", "/members", {"limit": OVER_LIMIT}, purpose="page cap")

    member_ms = _latest_ms(data.get("members"), ("modified",))
    out["members_ms"], _ = p.get("members", "/members", _ms_window(member_ms), purpose="date format: epoch ms")
    tx_ms = _latest_ms(data.get("transactions"), ("processedTime", "completedTime", "modified"))
    tx_day = _local_day(tx_ms, zone) if tx_ms else today
    out["transactions_mdy"], _ = p.get("transactions", "/transactions", _day_window(tx_day), purpose="date format: MM/dd/yyyy")
    product_ms = _latest_ms(data.get("products"), ("modified",))
    out["products_modified_ms"], _ = p.get("products/modified", "/products/modified", _ms_window(product_ms),
                                           purpose="date format: epoch ms")
    product_day = _local_day(product_ms, zone) if product_ms else today
    out["products_mdy"], _ = p.get("products", "/products", _day_window(product_day), purpose="date format: MM/dd/yyyy")
    out["products_ms"], _ = p.get("products", "/products", _ms_window(product_ms), purpose="date format: epoch ms")
    return out


def _skip_checks(p: _Prober, why: str) -> dict[str, ProbeCall]:
    return {
        "seven_day": p.skipped("transactions", "/transactions", {}, why, purpose="7-day rule", expected=400),
        "page_cap": p.skipped("members", "/members", {"limit": OVER_LIMIT}, why, purpose="page cap"),
    }


# --------------------------------------------------------------------------- reading bodies


def _first_id(body: Any) -> str | None:
    return next((v["id"] for v in records_of(body) if isinstance(v.get("id"), str) and v["id"]), None)


def _latest_ms(body: Any, fields: tuple[str, ...]) -> int | None:
    """The latest of the first present ``fields`` over the page's records (epoch ms)."""
    found = [next((as_int(v.get(f)) for f in fields if as_int(v.get(f))), None) for v in records_of(body)]
    return max((m for m in found if m), default=None)


def _timezone(store: Any, fallback: str) -> tuple[str, str]:
    shop = store.get("shop") if isinstance(store, dict) else None
    zone = shop.get("timeZone") if isinstance(shop, dict) else None
    if isinstance(zone, str) and zone:
        try:
            ZoneInfo(zone)
            return zone, "store"
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback, "parameter"


def _mdy(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _local_day(ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, zone).date()


def _day_window(end: date) -> dict[str, Any]:
    """Seven shop-local days ending ``end`` (inclusive), as ``MM/dd/yyyy``, one record."""
    return {"startDate": _mdy(end - timedelta(days=6)), "endDate": _mdy(end), "limit": 1}


def _ms_window(end_ms: int | None) -> dict[str, Any]:
    """Seven days of epoch ms ending at ``end_ms`` (now when unknown), one record."""
    end = end_ms if end_ms else int(time.time() * 1000)
    return {"startDate": end - 7 * _DAY_MS + 1, "endDate": end, "limit": 1}


__all__ = [
    "DEFAULT_TIMEZONE",
    "ENTITY_OF",
    "HEADER_PATH",
    "PARTNER_HEADERS",
    "Answer",
    "ProbeCall",
    "ProbeResult",
    "check_header",
    "probe_client",
    "run_probe",
]
