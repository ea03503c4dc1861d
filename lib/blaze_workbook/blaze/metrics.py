"""Every API call counted: endpoint, status, bytes, seconds, retries, 429s.

Calls are billed [RULES] and capped, so a run reports exactly how many it made. One record per
HTTP attempt (a retried request is several calls, as the API counts them); transport failures
(timeouts, dropped connections) have status 0.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import polars as pl

#: outcome of one attempt
OK, HTTP_ERROR, TRANSPORT_ERROR, INVALID_BODY = "ok", "http_error", "transport_error", "invalid_body"

_SCHEMA = {
    "endpoint": pl.String,
    "status": pl.Int32,
    "outcome": pl.String,
    "bytes": pl.Int64,
    "seconds": pl.Float64,
    "attempt": pl.Int32,
}


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt."""

    endpoint: str
    status: int
    outcome: str
    bytes: int
    seconds: float
    #: 1 for the first try of a request, 2 for its first retry, ...
    attempt: int


class CallMetrics:
    """Thread-safe log of calls with summaries for reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []

    def record(self, endpoint: str, status: int, outcome: str, nbytes: int, seconds: float, attempt: int) -> None:
        rec = CallRecord(endpoint, status, outcome, nbytes, seconds, attempt)
        with self._lock:
            self._records.append(rec)

    def records(self) -> list[CallRecord]:
        with self._lock:
            return list(self._records)

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self._records)

    def frame(self) -> pl.DataFrame:
        """One row per call."""
        rows = self.records()
        return pl.DataFrame(
            {name: [getattr(r, name) for r in rows] for name in _SCHEMA},
            schema=_SCHEMA,
        )

    def summary(self) -> pl.DataFrame:
        """One row per endpoint: calls, retries, 429s, 5xx, transport and body faults, bytes, seconds."""
        return (
            self.frame()
            .group_by("endpoint")
            .agg(
                pl.len().alias("calls"),
                (pl.col("attempt") > 1).sum().alias("retries"),
                (pl.col("status") == 429).sum().alias("rate_limited"),
                (pl.col("status") >= 500).sum().alias("server_errors"),
                (pl.col("outcome") == TRANSPORT_ERROR).sum().alias("transport_errors"),
                (pl.col("outcome") == INVALID_BODY).sum().alias("invalid_bodies"),
                pl.col("bytes").sum().alias("bytes"),
                pl.col("seconds").sum().alias("seconds"),
                pl.col("seconds").max().alias("max_seconds"),
            )
            .sort("endpoint")
        )

    def as_dict(self) -> dict[str, Any]:
        """Totals and per-endpoint figures as plain numbers (for JSON reports)."""
        summary = self.summary()
        by_status = self.frame().group_by("status").len().sort("status")
        totals = {
            col: summary[col].sum()
            for col in ("calls", "retries", "rate_limited", "server_errors", "transport_errors", "invalid_bodies", "bytes")
        }
        totals["seconds"] = float(summary["seconds"].sum())
        return {
            "totals": {k: (int(v) if k != "seconds" else v) for k, v in totals.items()},
            "by_endpoint": {row["endpoint"]: row for row in summary.to_dicts()},
            "by_status": {str(code): int(n) for code, n in zip(by_status["status"], by_status["len"], strict=True)},
        }


__all__ = ["HTTP_ERROR", "INVALID_BODY", "OK", "TRANSPORT_ERROR", "CallMetrics", "CallRecord"]
