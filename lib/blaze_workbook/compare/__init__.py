"""03_compare: the existing tables against Blaze, field by field, with a gate (CONTRACTS.md §4).

The pieces, one concern each:

- :mod:`.normalize` — the documented normalisations as data (one named polars function each);
- :mod:`.coerce` — values "as stored" in the type a rule compares in;
- :mod:`.classify` — the five kinds of a matched pair, as one expression;
- :mod:`.derived` — the derived customer fields of CONTRACTS.md §3 from Blaze transactions;
- :mod:`.local_day` — shop-local days of UTC instants, by the zone's transitions;
- :mod:`.plan` — per table, what is compared and how each side is read;
- :mod:`.hash_order` — rows of 64-bit key hashes in hash order, by one sort of plain words;
- :mod:`.pairing` — keys, positions for repeated keys, the sorted merge join, integrity;
- :mod:`.engine` — the compare itself: read, pair, classify, tally, list;
- :mod:`.result` — what a compare found (``as_dict`` gives the JSON objects);
- :mod:`.gate` and :mod:`.summary` — the gate and ``compare_summary.json``;
- :mod:`.load` — thin loaders from Postgres, the DuckDB warehouse or a folder of exports;
- :mod:`.mask` — masking personal data in the discrepancy list.
"""

from . import summary
from .classify import KINDS, MISMATCH_KINDS
from .derived import derived_metrics, metrics_plan
from .engine import CHUNK_ROWS, compare
from .result import DISCREPANCIES_FILE, DISCREPANCY_SCHEMA, CompareResult, FieldCounts, TableResult
from .gate import DEFAULT_KEY_FIELDS, DEFAULT_THRESHOLD, Gate, evaluate as evaluate_gate
from .load import existing_from_postgres, from_folder, staging_from_postgres, staging_from_warehouse
from .mask import PII_FIELDS, mask_pii
from .normalize import ENUM_MAPS, FIELD_RULES, KIND_RULES, RULES, Rule, rule_for, rules_frame
from .summary import FILE_NAME as SUMMARY_FILE, diff as diff_summaries, find_previous, gate_changes, read as read_summary, write as write_summary

__all__ = [
    "CHUNK_ROWS",
    "DEFAULT_KEY_FIELDS",
    "DISCREPANCIES_FILE",
    "DEFAULT_THRESHOLD",
    "DISCREPANCY_SCHEMA",
    "ENUM_MAPS",
    "FIELD_RULES",
    "KINDS",
    "KIND_RULES",
    "MISMATCH_KINDS",
    "PII_FIELDS",
    "RULES",
    "SUMMARY_FILE",
    "CompareResult",
    "FieldCounts",
    "Gate",
    "Rule",
    "TableResult",
    "compare",
    "derived_metrics",
    "diff_summaries",
    "evaluate_gate",
    "existing_from_postgres",
    "find_previous",
    "from_folder",
    "gate_changes",
    "mask_pii",
    "metrics_plan",
    "read_summary",
    "rule_for",
    "rules_frame",
    "staging_from_postgres",
    "staging_from_warehouse",
    "summary",
    "write_summary",
]
