"""The retry policy with a fake clock: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from blaze_workbook.blaze.limiter import CallBudget
from blaze_workbook.blaze.retry import RetryPolicy, api_message, error_for_status, parse_retry_after
from blaze_workbook.errors import (
    AuthError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)

SECRET = "sk-live-PARTNER-0123456789"


def policy(clock, **kwargs) -> RetryPolicy:
    kwargs.setdefault("jitter", 0.0)
    return RetryPolicy(sleep=clock.sleep, clock=clock, **kwargs)


def failing(errors, result="ok"):
    """An attempt function raising ``errors`` in turn, then returning ``result``."""
    calls = []

    def attempt(n):
        calls.append(n)
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


def test_retries_server_errors_with_exponential_backoff(clock):
    attempt, calls = failing([ServerError("boom")] * 4)
    assert policy(clock, backoff_initial=0.5).call(attempt) == "ok"
    assert calls == [1, 2, 3, 4, 5]
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_backoff_has_jitter_and_a_cap(clock):
    attempt, _ = failing([ServerError("boom")] * 7)
    policy(clock, backoff_initial=1, backoff_max=10, jitter=0.5, max_attempts=10).call(attempt)
    base = [1, 2, 4, 8, 10, 10, 10]
    for slept, b in zip(clock.sleeps, base, strict=True):
        assert b <= slept <= min(10, b + 0.5)


def test_retry_after_is_honoured_and_pauses_the_budget(clock):
    budget = CallBudget(100, 60, clock=clock, sleep=clock.sleep)
    attempt, calls = failing([RateLimitedError("slow down", retry_after=7)])
    assert policy(clock, budget=budget, retry_after_jitter=0.1).call(attempt) == "ok"
    assert calls == [1, 2]
    assert 7 <= clock.sleeps[0] <= 7.7
    # the pause is shared: another thread asking now would wait too
    clock.now -= clock.sleeps[0]
    assert budget.acquire() == pytest.approx(7)


def test_429_without_retry_after_backs_off(clock):
    attempt, calls = failing([RateLimitedError("slow down"), RateLimitedError("slow down")])
    policy(clock, backoff_initial=2).call(attempt)
    assert clock.sleeps == [2, 4]


@pytest.mark.parametrize("error", [BadRequestError("bad"), AuthError("keys"), NotFoundError("nope"), ValueError("bug")])
def test_fatal_errors_are_not_retried(clock, error):
    attempt, calls = failing([error])
    with pytest.raises(type(error)):
        policy(clock).call(attempt)
    assert calls == [1] and clock.sleeps == []


def test_gives_up_after_max_attempts(clock):
    attempt, calls = failing([ServerError("boom")] * 10)
    with pytest.raises(ServerError, match=r"gave up after 3 attempt\(s\)") as info:
        policy(clock, max_attempts=3).call(attempt, describe="GET /members")
    assert calls == [1, 2, 3]
    assert isinstance(info.value.__cause__, ServerError)
    assert info.value.attempts == 3


def test_gives_up_rather_than_wait_past_max_total_wait(clock):
    attempt, calls = failing([RateLimitedError("slow down", retry_after=900)])
    with pytest.raises(RateLimitedError, match="gave up after 1 attempt"):
        policy(clock, max_total_wait=600).call(attempt)
    assert calls == [1] and clock.sleeps == []


def test_time_spent_in_attempts_counts_towards_max_total_wait(clock):
    def attempt(n):
        clock.advance(30)  # a hung request until the read timeout
        raise ServerError("timed out")

    with pytest.raises(ServerError, match="gave up"):
        policy(clock, max_total_wait=100, max_attempts=50, backoff_initial=1).call(attempt)
    assert clock.now - 1000 <= 100 + 30


def test_every_attempt_takes_a_budget_slot(clock):
    budget = CallBudget(10, 60, budget_fraction=1.0, clock=clock, sleep=clock.sleep)
    attempt, _ = failing([ServerError("x")] * 2)
    policy(clock, budget=budget).call(attempt)
    assert budget.used() == 3


# --------------------------------------------------------------------------- classifying responses


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (200, None),
        (204, None),
        (400, BadRequestError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (405, BadRequestError),
        (408, ServerError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_error_for_status(status, error_type):
    error = error_for_status(status, b"{}", "GET /api/v1/partner/members")
    assert (type(error) if error else None) is error_type


def test_400_carries_the_api_message():
    body = b'{"error": "Bad Request", "message": "Date range cannot exceed 7 days", "status": 400}'
    error = error_for_status(400, body, "GET /api/v1/partner/transactions?startDate=01/01/2026")
    assert isinstance(error, ConfigurationError)
    assert "Date range cannot exceed 7 days" in str(error)
    assert "/transactions" in str(error)


def test_401_says_which_settings_to_check_and_never_echoes_a_key(monkeypatch):
    monkeypatch.setenv("BLAZE_PARTNER_KEY", SECRET)
    body = f'{{"error": "Unauthorized", "message": "bad key {SECRET}", "status": 401}}'.encode()
    error = error_for_status(401, body, "GET /api/v1/partner/members")
    text = str(error)
    assert "BLAZE_PARTNER_KEY" in text and "BLAZE_DEVELOPER_KEY" in text
    assert SECRET not in text


def test_429_reads_retry_after():
    error = error_for_status(429, b"", "GET /x", retry_after="12")
    assert isinstance(error, RateLimitedError) and error.retry_after == 12


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error": "Bad Request", "message": "limit must be >= 1", "status": 400}', "limit must be >= 1"),
        (b'{"field": "startDate", "message": "invalid", "errorType": "X"}', "startDate: invalid"),
        (b'{"error": "Unauthorized"}', "Unauthorized"),
        (b"<html>Bad gateway</html>", "<html>Bad gateway</html>"),
        (b"", ""),
    ],
)
def test_api_message_reads_both_error_shapes(body, expected):
    assert api_message(body) == expected


def test_parse_retry_after():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("5") == 5
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
