"""Phase 1 (01_setup) as SQL generated from :mod:`blaze_workbook.mapping`: nothing is restated.

Four kinds of objects, all idempotent and none touching an existing row:

- new nullable columns on the existing tables (``Table.new_columns``), without a default, so
  Postgres records them in the catalog and rewrites no row; each one the workbook adds carries
  the column comment :data:`ADDED_COMMENT`, so later runs know it was not there before;
- one staging table per mapped table (every ``Column``, ``PRIMARY KEY (key)``);
- the view ``customers_blaze_metrics``: the derived customer fields of CONTRACTS.md §3,
  computed from the staging tables, with the shop's time zone and the tier and churn bounds as
  parameters (:class:`MetricsRules`);
- one comparison view per table, ``<table>_comparison``: the match key, then each compared
  column's existing value beside its Blaze value (``phone_existing``, ``phone_blaze``), over a
  full outer join. Transaction items match on ``(transaction_id, product_id)`` because the
  existing table has no Blaze item id; a transaction with the same product on two lines yields
  every pairing of those lines.

The functions here only build SQL; :mod:`blaze_workbook.phase1` reads the database and runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg import sql

from .errors import ConfigurationError
from .mapping import CUSTOMERS, DERIVED_FIELDS, METRICS_VIEW, TABLES, TRANSACTIONS, Column, NewColumn, Table

#: the comment on every column 01_setup adds to an existing table
ADDED_COMMENT = "added by blaze-workbook 01_setup (Phase 1); filled from Blaze at cutover"
#: tables whose rows match their staging rows on something else than the staging key
_MATCH_ON: dict[str, tuple[str, ...]] = {"transaction_items": ("transaction_id", "product_id")}
_PG_TYPES = frozenset({"text", "numeric", "boolean", "date", "timestamptz", "integer"})


def match_key(t: Table) -> tuple[str, ...]:
    """The staging columns on which existing and Blaze rows meet (CONTRACTS.md §4)."""
    return _MATCH_ON.get(t.legacy, (t.key,))


def comparison_view(t: Table) -> str:
    """The name of ``t``'s comparison view."""
    return f"{t.legacy}_comparison"


def view_names() -> tuple[str, ...]:
    """Every view 01_setup creates, in creation order."""
    return (METRICS_VIEW, *(comparison_view(t) for t in TABLES))


@dataclass(frozen=True)
class MetricsRules:
    """The parameters of ``customers_blaze_metrics``; defaults are CONTRACTS.md §3's.

    ``vip_status``: ``VIP`` when visits >= ``vip``, ``Regular`` >= ``regular``, ``Casual`` >=
    ``casual``, else ``New``. ``churn_risk``: ``High`` when days since the last visit >
    ``churn_high``, ``Medium`` when >= ``churn_medium``, else ``Low``; NULL when never visited.
    """

    timezone: str = "America/Los_Angeles"
    vip: int = 16
    regular: int = 6
    casual: int = 2
    churn_high: int = 60
    churn_medium: int = 30

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(f"unknown time zone {self.timezone!r}", hint="use an IANA name such as America/Los_Angeles") from exc
        if not 0 < self.casual < self.regular < self.vip:
            raise ConfigurationError(f"visit tiers must satisfy 0 < Casual < Regular < VIP; got {self.casual}, {self.regular}, {self.vip}")
        if not 0 <= self.churn_medium <= self.churn_high:
            raise ConfigurationError(f"churn days must satisfy 0 <= Medium <= High; got {self.churn_medium}, {self.churn_high}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any], timezone: str | None = None) -> MetricsRules:
        """From notebook parameters shaped like ``params/default.yaml``'s ``compare`` section."""
        vip = dict(params.get("vip_tiers") or {})
        churn = dict(params.get("churn_days") or {})
        defaults = cls()
        return cls(
            timezone=timezone or params.get("timezone") or params.get("shop_timezone_fallback") or defaults.timezone,
            vip=int(vip.get("VIP", defaults.vip)),
            regular=int(vip.get("Regular", defaults.regular)),
            casual=int(vip.get("Casual", defaults.casual)),
            churn_high=int(churn.get("High", defaults.churn_high)),
            churn_medium=int(churn.get("Medium", defaults.churn_medium)),
        )

    def describe(self) -> str:
        return (
            f"shop time zone {self.timezone}; VIP >= {self.vip}, Regular >= {self.regular}, Casual >= {self.casual} visits; "
            f"churn High > {self.churn_high} days, Medium >= {self.churn_medium}"
        )


def _type(pg_type: str) -> sql.SQL:
    """A column type from the mapping's closed set (never user input)."""
    if pg_type not in _PG_TYPES:
        raise ConfigurationError(f"unknown column type {pg_type!r} in the mapping; valid: {sorted(_PG_TYPES)}")
    return sql.SQL(pg_type)


def add_column(schema: str, table: str, column: NewColumn | Column, *, comment: bool) -> list[sql.Composed]:
    """``ALTER TABLE … ADD COLUMN IF NOT EXISTS`` (nullable, no default) and, for a new one, its comment."""
    target = sql.Identifier(schema, table)
    out = [
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(target, sql.Identifier(column.name), _type(column.pg_type))
    ]
    if comment:
        out.append(
            sql.SQL("COMMENT ON COLUMN {} IS {}").format(sql.Identifier(schema, table, column.name), sql.Literal(ADDED_COMMENT))
        )
    return out


def create_staging(schema: str, t: Table) -> sql.Composed:
    """``CREATE TABLE IF NOT EXISTS <staging>``: every mapped column, keyed by the Blaze id."""
    columns = sql.SQL(",\n    ").join(sql.SQL("{} {}").format(sql.Identifier(c.name), _type(c.pg_type)) for c in t.columns)
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} (\n    {},\n    PRIMARY KEY ({})\n)").format(
        sql.Identifier(schema, t.staging), columns, sql.Identifier(t.key)
    )


def metrics_select(schema: str, rules: MetricsRules) -> sql.Composed:
    """The body of ``customers_blaze_metrics``: one row per staged member, CONTRACTS.md §3."""
    tz = sql.Literal(rules.timezone)
    n = sql.Identifier

    def lit(value: int) -> sql.Literal:
        return sql.Literal(int(value))

    derived: dict[str, sql.Composable] = {
        "total_visits": sql.SQL("coalesce(a.total_visits, 0)"),
        "total_sales": sql.SQL("coalesce(a.total_sales, 0)"),
        "total_refunds": sql.SQL("coalesce(a.total_refunds, 0)"),
        "gross_sales": sql.SQL("coalesce(a.gross_sales, 0)"),
        "gross_refunds": sql.SQL("coalesce(a.gross_refunds, 0)"),
        "lifetime_value": sql.SQL("coalesce(a.gross_sales, 0) - coalesce(a.gross_refunds, 0)"),
        "avg_sale_value": sql.SQL("CASE WHEN a.total_sales > 0 THEN a.gross_sales / a.total_sales END"),
        "last_visited": sql.SQL("a.last_visited"),
        "days_since_last_visit": sql.SQL("(CURRENT_TIMESTAMP AT TIME ZONE {tz})::date - a.last_visited").format(tz=tz),
        "vip_status": sql.SQL(
            "CASE WHEN coalesce(a.total_visits, 0) >= {vip} THEN 'VIP'"
            " WHEN coalesce(a.total_visits, 0) >= {regular} THEN 'Regular'"
            " WHEN coalesce(a.total_visits, 0) >= {casual} THEN 'Casual' ELSE 'New' END"
        ).format(vip=lit(rules.vip), regular=lit(rules.regular), casual=lit(rules.casual)),
        "churn_risk": sql.SQL(
            "CASE WHEN a.last_visited IS NULL THEN NULL"
            " WHEN (CURRENT_TIMESTAMP AT TIME ZONE {tz})::date - a.last_visited > {high} THEN 'High'"
            " WHEN (CURRENT_TIMESTAMP AT TIME ZONE {tz})::date - a.last_visited >= {medium} THEN 'Medium' ELSE 'Low' END"
        ).format(tz=tz, high=lit(rules.churn_high), medium=lit(rules.churn_medium)),
    }
    assert list(derived) == list(DERIVED_FIELDS), "the view must compute exactly mapping.DERIVED_FIELDS"
    select = sql.SQL(",\n    ").join(
        sql.SQL("({})::{} AS {}").format(expr, _type(DERIVED_FIELDS[name]), n(name)) for name, expr in derived.items()
    )
    return sql.SQL(
        "WITH tx AS (\n"
        "  SELECT t.{customer} AS member_id,\n"
        "         (t.{type} = 'Sale' AND t.{status} = 'Completed') AS is_sale,\n"
        "         (t.{type} = 'Refund' OR t.{status} LIKE {refund}) AS is_refund,\n"
        "         t.{amount} AS amount,\n"
        "         (t.{date} AT TIME ZONE {tz})::date AS local_day\n"
        "  FROM {transactions} t\n"
        "), a AS (\n"
        "  SELECT member_id,\n"
        "         count(DISTINCT local_day) FILTER (WHERE is_sale) AS total_visits,\n"
        "         count(*) FILTER (WHERE is_sale) AS total_sales,\n"
        "         count(*) FILTER (WHERE is_refund) AS total_refunds,\n"
        "         sum(amount) FILTER (WHERE is_sale) AS gross_sales,\n"
        "         sum(abs(amount)) FILTER (WHERE is_refund) AS gross_refunds,\n"
        "         max(local_day) FILTER (WHERE is_sale) AS last_visited\n"
        "  FROM tx GROUP BY member_id\n"
        ")\n"
        "SELECT c.{key},\n    {select}\n"
        "FROM {customers} c\n"
        "LEFT JOIN a ON a.member_id = c.{key}"
    ).format(
        customer=n(TRANSACTIONS.column("customer_id").name),
        type=n(TRANSACTIONS.column("trans_type").name),
        status=n(TRANSACTIONS.column("blaze_status").name),
        amount=n(TRANSACTIONS.column("total_amount").name),
        date=n(TRANSACTIONS.column("date").name),
        refund=sql.Literal("Refund%"),
        tz=tz,
        transactions=sql.Identifier(schema, TRANSACTIONS.staging),
        key=n(CUSTOMERS.key),
        select=select,
        customers=sql.Identifier(schema, CUSTOMERS.staging),
    )


@dataclass(frozen=True)
class ComparisonColumns:
    """What a comparison view can show, given the existing table's columns."""

    pairs: tuple[str, ...]  # staging columns shown as <name>_existing / <name>_blaze
    derived: tuple[str, ...]  # derived fields shown from customers_blaze_metrics (customers only)
    missing: tuple[str, ...]  # existing-side columns that are absent: left out
    not_compared: tuple[str, ...]  # existing-side columns 01_setup added: empty by construction


def comparison_columns(t: Table, existing: set[str], added: set[str]) -> ComparisonColumns:
    """Split ``t``'s compared columns by what the existing table has (``added``: 01_setup's own)."""
    keys = set(match_key(t))
    compared = [c for c in t.compared if c.name not in keys]
    legacy_names = {c.legacy for c in compared}
    derived_wanted = [f for f in DERIVED_FIELDS if f not in legacy_names] if t is CUSTOMERS else []
    return ComparisonColumns(
        pairs=tuple(c.name for c in compared if c.legacy in existing and c.legacy not in added),
        derived=tuple(f for f in derived_wanted if f in existing and f not in added),
        missing=tuple([c.legacy for c in compared if c.legacy not in existing] + [f for f in derived_wanted if f not in existing]),
        not_compared=tuple(c.legacy for c in compared if c.legacy in existing and c.legacy in added),
    )


def comparison_select(schema: str, t: Table, cols: ComparisonColumns) -> sql.Composed:
    """The body of ``<table>_comparison``: match key, presence flags, existing beside Blaze."""
    n = sql.Identifier
    keys = match_key(t)
    legacy_of = {c.name: c.legacy or c.name for c in t.columns}
    items: list[sql.Composable] = [
        sql.SQL("coalesce(e.{}, b.{}) AS {}").format(n(legacy_of[k]), n(k), n(k)) for k in keys
    ]
    if t.legacy_key != t.key:  # the rows' own ids, which do not match each other
        items += [
            sql.SQL("e.{} AS {}").format(n(t.legacy_key), n(f"{t.legacy_key}_existing")),
            sql.SQL("b.{} AS {}").format(n(t.key), n(f"{t.key}_blaze")),
        ]
    items += [
        sql.SQL("e.{} IS NOT NULL AS in_existing").format(n(t.legacy_key)),
        sql.SQL("b.{} IS NOT NULL AS in_blaze").format(n(t.key)),
    ]
    for name in cols.pairs:
        items += [
            sql.SQL("e.{} AS {}").format(n(legacy_of[name]), n(f"{name}_existing")),
            sql.SQL("b.{} AS {}").format(n(name), n(f"{name}_blaze")),
        ]
    for name in cols.derived:
        items += [
            sql.SQL("e.{} AS {}").format(n(name), n(f"{name}_existing")),
            sql.SQL("m.{} AS {}").format(n(name), n(f"{name}_blaze")),
        ]
    on = sql.SQL(" AND ").join(sql.SQL("b.{} = e.{}").format(n(k), n(legacy_of[k])) for k in keys)
    query = sql.SQL("SELECT {items}\nFROM {legacy} e\nFULL OUTER JOIN {staging} b ON {on}").format(
        items=sql.SQL(",\n    ").join(items),
        legacy=sql.Identifier(schema, t.legacy),
        staging=sql.Identifier(schema, t.staging),
        on=on,
    )
    if cols.derived:
        query = sql.SQL("{}\nLEFT JOIN {} m ON m.{} = b.{}").format(
            query, sql.Identifier(schema, METRICS_VIEW), n(CUSTOMERS.key), n(CUSTOMERS.key)
        )
    return query


def create_view(schema: str, name: str, select: sql.Composable, *, replace: bool = True) -> sql.Composed:
    verb = sql.SQL("CREATE OR REPLACE VIEW" if replace else "CREATE VIEW")
    return sql.SQL("{} {} AS\n{}").format(verb, sql.Identifier(schema, name), select)


__all__ = [
    "ADDED_COMMENT",
    "ComparisonColumns",
    "MetricsRules",
    "add_column",
    "comparison_columns",
    "comparison_select",
    "comparison_view",
    "create_staging",
    "create_view",
    "match_key",
    "metrics_select",
    "view_names",
]
