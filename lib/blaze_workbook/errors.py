"""One error tree for the whole workbook.

Branches say what the caller should do, not where the error came from:

- ``RetryableError``: try again later (rate limit, 5xx, timeouts, a lock held by someone else).
- ``ConfigurationError``: a person must fix configuration (keys, URLs, parameters).
- ``InputDataError``: the data is wrong; quarantine or fix it at the source.
- ``InvestigateError``: an invariant broke; a person must look before anything proceeds.

Foreign exceptions are wrapped once, with ``raise ... from exc``, and every message passes
through :func:`blaze_workbook.redact.redact` so no secret reaches a log or a report.
"""

from __future__ import annotations


class WorkbookError(Exception):
    """Root of every error the workbook raises on purpose."""

    #: one line telling the user what to do next
    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        from .redact import redact

        self.message = redact(message)
        if hint is not None:
            self.hint = redact(hint)
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class RetryableError(WorkbookError):
    """Transient: the same call may succeed later."""

    hint = "try again later; the workbook retries this by itself where it can"


class RateLimitedError(RetryableError):
    """The API answered 429 (or our own budget is spent)."""

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, hint=hint)


class ServerError(RetryableError):
    """The API answered 5xx, hung, dropped the connection or sent a broken body."""


class LockedError(RetryableError):
    """Another run holds the workbook lock, or Postgres held a lock past ``lock_timeout``."""


class ConfigurationError(WorkbookError):
    """Wrong or missing configuration: keys, URLs, parameters, database objects."""

    hint = "fix the configuration and run again"


class AuthError(ConfigurationError):
    """The API refused the keys (401) or a permission is missing (403)."""

    hint = "check BLAZE_PARTNER_KEY and BLAZE_DEVELOPER_KEY in the environment"


class BadRequestError(ConfigurationError):
    """The API refused the request's parameters (400)."""


class NotFoundError(ConfigurationError):
    """A path, table or column does not exist."""


class DatabaseError(ConfigurationError):
    """Postgres is unreachable, refused the credentials, or lacks an object we need."""


class InputDataError(WorkbookError):
    """The data itself is unusable; it is quarantined with this reason, never dropped."""

    hint = "the record was quarantined; fix it at the source"


class InvestigateError(WorkbookError):
    """An invariant broke (verification failed, checksum differs): stop and look."""

    hint = "nothing further was changed; read the report before retrying"


__all__ = [
    "AuthError",
    "BadRequestError",
    "ConfigurationError",
    "DatabaseError",
    "InputDataError",
    "InvestigateError",
    "LockedError",
    "NotFoundError",
    "RateLimitedError",
    "RetryableError",
    "ServerError",
    "WorkbookError",
]
