"""Injected faults: what can go wrong between a client and Blaze, on demand and reproducibly.

:class:`Faults` is the switchboard (all off by default). :class:`FaultInjector` turns it into a
decision per call, drawing from its own seeded numpy generators, so the same sequence of calls
gets the same faults whatever the wall clock does. Each call draws the same number of values
whichever faults are on, so switching one fault on does not reshuffle the others.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import orjson

from ...errors import ConfigurationError

#: the 5xx statuses an ``error_rate`` fault picks from, with their reason phrases
ERROR_STATUSES: tuple[tuple[int, str], ...] = (
    (500, "Internal Server Error"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
)

#: schema drift per entity: (enum field, unknown value), a string field sent as an integer,
#: an optional field left out. Entities not listed only get unknown extra fields.
DRIFT_TARGETS: dict[str, dict[str, Any]] = {
    "members": {"enum": ("status", "Archived"), "int": "primaryPhone", "drop": "email"},
    "transactions": {"enum": ("status", "Archived"), "int": "transNo", "drop": "memo"},
    "products": {"enum": ("productSaleType", "Wholesale"), "int": "sku", "drop": "description"},
    "products_modified": {"enum": ("productSaleType", "Wholesale"), "int": "sku", "drop": "description"},
    "vendors": {"enum": ("vendorType", "PARTNER"), "int": "phone", "drop": "email"},
    "employees": {"int": "phoneNumber", "drop": "email"},
}
#: the unknown field drift adds
EXTRA_FIELD = "simulatorUnknownField"

#: bad records: what a broken upstream sends. A record is bad or not by a hash of (seed, entity,
#: id), so every serve of it is broken the same way, whatever the order of the calls.
BAD_RECORD_KINDS = ("no_id", "no_modified", "wrong_type", "negative", "year_3000", "future_modified",
                    "unknown_enum", "oversize")
#: per entity: the field each kind breaks (a path into the record; an int indexes a list)
BAD_TARGETS: dict[str, dict[str, tuple[str | int, ...]]] = {
    "members": {"wrong_type": ("loyaltyPoints",), "negative": ("loyaltyPoints",), "year_3000": ("lastVisitDate",),
                "unknown_enum": ("status",), "oversize": ("firstName",)},
    "transactions": {"wrong_type": ("cart", "total"), "negative": ("cart", "items", 0, "quantity"),
                     "year_3000": ("completedTime",), "unknown_enum": ("status",),
                     "oversize": ("cart", "items", 0, "productName")},
    "products": {"wrong_type": ("unitPrice",), "negative": ("unitPrice",), "year_3000": ("created",),
                 "unknown_enum": ("weightPerUnit",), "oversize": ("description",)},
}
#: 3000-01-01T00:00:00Z in epoch ms, the absurd timestamp
YEAR_3000_MS = 32_503_680_000_000
#: the oversize field: 1 MiB of text
OVERSIZE_CHARS = 1 << 20
WRONG_TYPE_VALUE = "n/a"
UNKNOWN_ENUM_VALUE = "SimulatorUnknownValue"


@dataclass(frozen=True)
class Faults:
    """Which faults to inject; every rate is a probability per call (``drift_rate`` per record)."""

    #: fixed delay before every API answer, plus a uniform random jitter
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    #: fraction of calls answered 500, 502 or 503 with a JSON error body
    error_rate: float = 0.0
    #: after every ``burst_429_every`` calls, ``burst_429_length`` calls get 429 (0 = off)
    burst_429_every: int = 0
    burst_429_length: int = 3
    #: whether burst 429s carry ``Retry-After: 1``
    burst_retry_after: bool = True
    #: fraction of calls that stall ``hang_seconds``, then answer or drop the connection
    hang_rate: float = 0.0
    hang_seconds: float = 10.0
    #: fraction of answers cut mid-body (``Content-Length`` of the full body, then the socket closes)
    truncate_rate: float = 0.0
    #: fraction of answers that are ``200`` with a syntactically broken JSON body
    invalid_json_rate: float = 0.0
    #: fraction of records with one schema drift (extra field, unknown enum, int-for-string, missing field)
    drift_rate: float = 0.0
    #: chance, per paged list call with ``skip > 0``, that a record moves (or one is inserted) first
    move_rate: float = 0.0
    #: fraction of calls delayed by an extra ``latency_spike_ms`` (a slow moment upstream)
    latency_spike_rate: float = 0.0
    latency_spike_ms: float = 2_000.0
    #: fraction of member, transaction and product records sent broken (one of ``BAD_RECORD_KINDS``)
    bad_record_rate: float = 0.0
    #: epoch-ms listings (members, products/modified) refuse a range over 7 days with a 400, as
    #: ``/transactions`` always does: the stricter reading of [PAG]'s "most endpoints" cap
    capped_ranges: bool = False

    def __post_init__(self) -> None:
        for name in ("error_rate", "hang_rate", "truncate_rate", "invalid_json_rate", "drift_rate", "move_rate",
                     "latency_spike_rate", "bad_record_rate"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigurationError(f"fault {name} must be between 0 and 1, got {value!r}")
        for name in ("latency_ms", "latency_jitter_ms", "latency_spike_ms", "hang_seconds", "burst_429_every"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"fault {name} must be >= 0, got {getattr(self, name)!r}")
        if self.burst_429_length < 1:
            raise ConfigurationError("fault burst_429_length must be >= 1")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def updated(self, changes: Mapping[str, Any]) -> Faults:
        """A copy with ``changes`` applied; an unknown name fails with the list of valid ones."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ConfigurationError(
                f"unknown fault(s) {', '.join(unknown)}; valid: {', '.join(self.names())}"
            )
        return replace(self, **{k: _coerce(k, type(getattr(self, k)), v) for k, v in changes.items()})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(name: str, kind: type, value: Any) -> Any:
    """JSON and CLI values to the field's type; ``"false"`` is false, a fraction is no count."""
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.strip().lower() not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                return value.strip().lower() in ("true", "1")
            return bool(value)
        if kind is int:
            number = float(value)
            if number != int(number):
                raise ValueError(value)
            return int(number)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"fault {name} must be a {kind.__name__}, got {value!r}") from exc


@dataclass(frozen=True)
class CallFaults:
    """What happens to one API call."""

    burst_429: bool = False
    retry_after: bool = True
    delay_s: float = 0.0
    hang_s: float = 0.0
    cut_after_hang: bool = False
    error: tuple[int, str] | None = None
    truncate: bool = False
    invalid_json: bool = False
    #: where a truncated or broken body is cut, as a fraction of its length
    cut_fraction: float = 0.5
    move: bool = False
    move_inserts: bool = False
    #: ``delay_s`` includes a latency spike
    spike: bool = False

    def cut_at(self, length: int) -> int:
        """The byte offset to cut a body of ``length`` at: strictly inside it."""
        return min(max(1, int(length * self.cut_fraction)), max(1, length - 1))


_DRAWS = 10


class FaultInjector:
    """Per-call fault decisions and per-record drift from generators seeded by ``seed``."""

    def __init__(self, faults: Faults | None = None, seed: int = 0) -> None:
        self.faults = faults or Faults()
        # children by index: a fourth stream leaves the first three as they were
        calls, drift, moves, spikes = np.random.SeedSequence([int(seed), 0xFA17]).spawn(4)
        self._calls = np.random.default_rng(calls)
        #: latency spikes draw from their own stream, so switching them on reshuffles nothing
        self._spikes = np.random.default_rng(spikes)
        self._seed = int(seed)
        self._drift = np.random.default_rng(drift)
        #: the generator handed to ``Dataset.touch`` for mid-listing moves
        self.move_rng = np.random.default_rng(moves)
        self._n = 0
        self._lock = threading.Lock()

    def set(self, faults: Faults) -> None:
        """Switch faults; a changed burst setting starts its count afresh."""
        with self._lock:
            if (faults.burst_429_every, faults.burst_429_length) != (
                    self.faults.burst_429_every, self.faults.burst_429_length):
                self._n = 0
            self.faults = faults

    def decide(self) -> CallFaults:
        """The faults of the next call (one fixed-size draw per call)."""
        with self._lock:
            f = self.faults
            self._n += 1
            u = self._calls.random(_DRAWS)
            spike = bool(self._spikes.random() < f.latency_spike_rate)
            if f.burst_429_every > 0:
                cycle = f.burst_429_every + f.burst_429_length
                if (self._n - 1) % cycle >= f.burst_429_every:
                    return CallFaults(burst_429=True, retry_after=f.burst_retry_after)
        error = None
        if u[0] < f.error_rate:
            error = ERROR_STATUSES[int(u[1] * len(ERROR_STATUSES)) % len(ERROR_STATUSES)]
        hang = u[2] < f.hang_rate
        return CallFaults(
            delay_s=(f.latency_ms + u[3] * f.latency_jitter_ms + (f.latency_spike_ms if spike else 0.0)) / 1000.0,
            hang_s=f.hang_seconds if hang else 0.0,
            cut_after_hang=hang and u[4] < 0.5,
            error=error,
            truncate=u[5] < f.truncate_rate,
            invalid_json=u[6] < f.invalid_json_rate,
            cut_fraction=0.1 + 0.8 * float(u[7]),
            move=u[8] < f.move_rate,
            move_inserts=u[9] < 0.5,
            spike=spike,
        )

    def drift(self, entity: str, records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], Counter[str]]:
        """``records`` with drift applied to a ``drift_rate`` fraction (changed ones are copies)."""
        out = list(records)
        counts: Counter[str] = Counter()
        rate = self.faults.drift_rate
        if rate <= 0 or not out:
            return out, counts
        targets = DRIFT_TARGETS.get(entity, {})
        with self._lock:
            hit = self._drift.random(len(out)) < rate
            kinds = self._drift.integers(0, 4, len(out))
        for i in np.flatnonzero(hit):
            record = dict(out[i])
            counts[_apply_drift(record, int(kinds[i]), targets)] += 1
            out[i] = record
        return out, counts


    def bad_records(self, entity: str, records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
        """``records`` with a ``bad_record_rate`` fraction broken (changed ones are deep copies).

        Returns the records and ``(entity, id, kind)`` of each broken one. Which records break,
        and how, depends only on the seed, the entity and the record's id."""
        out = list(records)
        rate = self.faults.bad_record_rate
        entity = "products" if entity == "products_modified" else entity
        targets = BAD_TARGETS.get(entity)
        if rate <= 0 or not targets:
            return out, []
        broken: list[tuple[str, str, str]] = []
        for i, record in enumerate(out):
            rid = record.get("id")
            if not isinstance(rid, str):
                continue
            digest = hashlib.blake2b(f"{self._seed}:{entity}:{rid}".encode(), digest_size=8).digest()
            if int.from_bytes(digest[:7]) / float(1 << 56) >= rate:
                continue
            kind = BAD_RECORD_KINDS[digest[7] % len(BAD_RECORD_KINDS)]
            copy = orjson.loads(orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY))
            if _break(copy, kind, targets):
                out[i] = copy
                broken.append((entity, rid, kind))
        return out, broken


def _break(record: dict[str, Any], kind: str, targets: Mapping[str, tuple[str | int, ...]]) -> bool:
    """Break ``record`` in place as ``kind`` says; ``False`` when it has no such field to break."""
    if kind == "no_id":
        del record["id"]
        return True
    if kind == "no_modified":
        return record.pop("modified", None) is not None
    if kind == "future_modified":
        record["modified"] = YEAR_3000_MS
        return True
    *path, last = targets[kind]
    holder: Any = record
    for step in path:
        try:
            holder = holder[step]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(holder, (dict, list)) or (isinstance(holder, dict) and last not in holder):
        return False
    if isinstance(holder, list) and not (isinstance(last, int) and last < len(holder)):
        return False
    value = holder[last]  # type: ignore[index]
    if kind == "negative":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            return False
        holder[last] = -value  # type: ignore[index]
    elif kind == "wrong_type":
        holder[last] = WRONG_TYPE_VALUE  # type: ignore[index]
    elif kind == "year_3000":
        holder[last] = YEAR_3000_MS  # type: ignore[index]
    elif kind == "unknown_enum":
        holder[last] = UNKNOWN_ENUM_VALUE  # type: ignore[index]
    else:  # oversize
        holder[last] = "x" * OVERSIZE_CHARS  # type: ignore[index]
    return True


def _apply_drift(record: dict[str, Any], kind: int, targets: Mapping[str, Any]) -> str:
    """Change ``record`` in place; returns the drift kind applied (falls back to an extra field)."""
    if kind == 1 and "enum" in targets and targets["enum"][0] in record:
        name, value = targets["enum"]
        record[name] = value
        return "unknown_enum"
    if kind == 2 and "int" in targets and isinstance(record.get(targets["int"]), str):
        name = targets["int"]
        digits = "".join(ch for ch in record[name] if ch.isdigit())[:15]
        record[name] = int(digits) if digits else 0
        return "int_for_string"
    if kind == 3 and "drop" in targets and targets["drop"] in record:
        del record[targets["drop"]]
        return "missing_field"
    record[EXTRA_FIELD] = {"note": "a field the swagger does not list", "version": 2}
    return "extra_field"
