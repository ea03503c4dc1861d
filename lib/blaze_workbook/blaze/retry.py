"""One policy for retries and rate limits, with the sleep and the clock injected.

What is retried and what is not follows the error tree (``errors.py``): a
:class:`~blaze_workbook.errors.RetryableError` (429, 5xx, timeouts, dropped connections,
truncated or invalid bodies) is tried again with exponential backoff and jitter, or after
``Retry-After`` when the API sends one; a :class:`~blaze_workbook.errors.ConfigurationError`
(400, 401, 403, 404) is raised at once, because sending the same request again cannot fix it and
wastes billed calls [ERR, RULES]. The loop itself is ``tenacity``'s.

Every attempt first takes a slot from the shared :class:`~.limiter.CallBudget`; a 429 with
``Retry-After`` pauses the whole budget, so all threads back off together.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar

import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from ..errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    RateLimitedError,
    RetryableError,
    ServerError,
    WorkbookError,
)
from ..redact import redact
from .limiter import CallBudget, Clock, Sleep

log = logging.getLogger("blaze_workbook.blaze")
T = TypeVar("T")

KEYS_HINT = "check BLAZE_PARTNER_KEY and BLAZE_DEVELOPER_KEY in the environment (or the .env file)"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry, and the call budget every attempt draws from."""

    max_attempts: int = 8
    #: give up rather than wait past this many seconds since the first attempt
    max_total_wait: float = 600.0
    backoff_initial: float = 0.5
    backoff_max: float = 60.0
    #: seconds of random jitter added to each backoff
    jitter: float = 1.0
    #: fraction of ``Retry-After`` added at random, so paused threads do not wake as one burst
    retry_after_jitter: float = 0.1
    budget: CallBudget | None = field(default=None, repr=False)
    sleep: Sleep = field(default=time.sleep, repr=False)
    clock: Clock = field(default=time.monotonic, repr=False)

    def call(self, attempt: Callable[[int], T], *, describe: str = "call") -> T:
        """Run ``attempt(n)`` (``n`` = 1, 2, ...) until it returns, retrying retriable errors.

        ``describe`` names the request in log lines and in the final error (no headers).
        """
        start = self.clock()
        backoff = wait_exponential_jitter(
            multiplier=self.backoff_initial, max=self.backoff_max, jitter=self.jitter
        )

        def wait(state: RetryCallState) -> float:
            exc = _exception(state)
            if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
                return exc.retry_after * (1 + random.uniform(0, self.retry_after_jitter))
            return float(backoff(state))

        def out_of_time(state: RetryCallState) -> bool:
            return self.clock() - start + state.upcoming_sleep > self.max_total_wait

        def before_sleep(state: RetryCallState) -> None:
            exc = _exception(state)
            if isinstance(exc, RateLimitedError) and exc.retry_after is not None and self.budget is not None:
                self.budget.pause(exc.retry_after)
            log.warning(
                "%s",
                redact(
                    f"{describe}: attempt {state.attempt_number} failed ({type(exc).__name__}: {exc}); "
                    f"retrying in {state.upcoming_sleep:.2f} s"
                ),
            )

        def give_up(state: RetryCallState) -> T:
            exc = _exception(state)
            assert isinstance(exc, RetryableError)
            raise _gave_up(exc, state.attempt_number, self.clock() - start) from exc

        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(self.max_attempts) | out_of_time,
            wait=wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )
        for attempt_ctx in retrying:
            with attempt_ctx:
                number = attempt_ctx.retry_state.attempt_number
                if self.budget is None:
                    result = attempt(number)
                else:
                    with self.budget.slot():
                        result = attempt(number)
        return result  # the loop only ends after a successful attempt or by raising


def _exception(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _gave_up(exc: RetryableError, attempts: int, elapsed: float) -> RetryableError:
    message = f"{exc.message}; gave up after {attempts} attempt(s) in {elapsed:.1f} s"
    new: RetryableError
    if isinstance(exc, RateLimitedError):
        new = RateLimitedError(
            message,
            retry_after=exc.retry_after,
            hint="the API kept refusing calls; wait a few minutes, lower the concurrency or the budget",
        )
    else:
        new = type(exc)(message, hint=exc.hint)
    new.attempts = attempts  # type: ignore[attr-defined]
    return new


# --------------------------------------------------------------------------- classifying responses


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN is unreadable


def api_message(body: bytes) -> str:
    """The message of an error body: ``{error, message, status}`` [ERR] or ``{field, message, errorType}`` [SW]."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode("utf-8", "replace").strip()
    if not isinstance(data, dict):
        return str(data)[:200]
    message = str(data.get("message") or data.get("error") or data.get("errorType") or "").strip()
    if data.get("field"):
        message = f"{data['field']}: {message}"
    return message


def error_for_status(status: int, body: bytes, where: str, retry_after: str | None = None) -> WorkbookError | None:
    """The error a response stands for (``None`` for 2xx); ``where`` is ``GET path?params``."""
    if 200 <= status < 300:
        return None
    message = api_message(body)
    said = f": {message}" if message else ""
    if status == 429:
        seconds = parse_retry_after(retry_after)
        return RateLimitedError(f"{where} was rate limited (429){said}", retry_after=seconds)
    if status == 401:
        return AuthError(f"the API refused the keys (401) for {where}{said}", hint=KEYS_HINT)
    if status == 403:
        return AuthError(
            f"the partner key lacks a permission for {where} (403){said}",
            hint="ask BLAZE to grant the partner key this permission; " + KEYS_HINT,
        )
    if status == 404:
        return NotFoundError(
            f"{where} does not exist (404){said}",
            hint="check BLAZE_BASE_URL (without /api/v1/partner) and the id asked for",
        )
    if status == 408 or status >= 500:
        return ServerError(f"{where} failed with {status}{said}")
    return BadRequestError(
        f"the API refused the request {where} ({status}){said}",
        hint="fix the request parameters (date range at most 7 days, dates in the endpoint's format)",
    )


__all__ = ["KEYS_HINT", "RetryPolicy", "api_message", "error_for_status", "parse_retry_after"]
