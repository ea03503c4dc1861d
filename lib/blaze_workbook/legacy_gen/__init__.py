"""The existing ("report-derived") database, generated from the simulator's data, with a manifest.

``generate_legacy(conn_or_url, scale=…, seed=…, out_dir=…)`` builds the four legacy tables as
years of CSV report imports left them — as of an export date, with the reports' habits (names
for staff and shop, rounded quantities, stale derived fields) and hand edits injected at
recorded counts — writes the report CSVs, loads them with ``COPY`` and returns the
:class:`Manifest`: every difference the compare must find, and its expected numbers.
"""

from .counts import PLAN_CUSTOMERS, PLAN_ITEMS, PLAN_TRANSACTIONS, Injections, Targets, targets
from .expected import derived, expect
from .generator import EXPORT_DAYS_BEFORE_NOW, generate_legacy
from .manifest import FILE_NAME as MANIFEST_FILE, ROWS_FILE as MANIFEST_ROWS_FILE, Manifest
from .report_csv import REPORTS
from .staging import staging_frames

__all__ = [
    "EXPORT_DAYS_BEFORE_NOW",
    "MANIFEST_FILE",
    "MANIFEST_ROWS_FILE",
    "PLAN_CUSTOMERS",
    "PLAN_ITEMS",
    "PLAN_TRANSACTIONS",
    "REPORTS",
    "Injections",
    "Manifest",
    "Targets",
    "derived",
    "expect",
    "generate_legacy",
    "staging_frames",
    "targets",
]
