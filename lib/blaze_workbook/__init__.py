"""Blaze Migration Workbook: move report-derived Postgres data onto live BLAZE Partner API data."""

from .errors import ConfigurationError, InputDataError, InvestigateError, RetryableError, WorkbookError

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "InputDataError",
    "InvestigateError",
    "RetryableError",
    "WorkbookError",
    "__version__",
]
