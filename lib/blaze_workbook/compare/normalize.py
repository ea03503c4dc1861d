"""The documented normalisations of CONTRACTS.md §4, as data: one named polars function each.

A :class:`Rule` says how one field is read and when two values of it count as the same fact:

- ``dtype``: the type values are compared in "as stored" (text byte for byte, numbers by value,
  dates by day, timestamps by instant, booleans by truth); see :mod:`.coerce`.
- ``normalize``: value -> normalised value, where ``null`` means *missing*. Applied to both
  sides.
- ``same``: are two normalised, present values equal (plain ``==`` except for money).
- ``blaze_map``: for enums, Blaze's value -> the report's word, applied to the Blaze side
  before ``normalize`` (identity by default).

Which rule a field uses is data too: :data:`FIELD_RULES` (keyed ``"table.field"``) first, else
:data:`KIND_RULES` by the mapping's ``Column.kind``. Only these normalisations exist; anything
else (a refund stored with the opposite sign, a quantity rounded to an integer) stays ``real``.

Documented choices:

- **phone**: digits only; an 11-digit number starting with the US country code ``1`` loses
  it, so ``+1 (555) 010-2030``, ``555.010.2030`` and ``15550102030`` all read ``5550102030``
  (the national number, not E.164: the legacy reports printed both forms). No digits, or only
  zeros (``000-000-0000``, a placeholder), is *missing*.
- **email**: trimmed and lower-cased (the whole address: mailbox providers treat the local part
  case-insensitively in practice); ``''`` is missing.
- **name**: lower-cased, Unicode NFC, runs of whitespace (tabs, non-breaking spaces) collapsed
  to one space, trimmed; ``''`` is missing. Lower-casing stands in for case folding: polars has
  no ``casefold``, so ``Straße`` and ``STRASSE`` stay different (``straße`` vs ``strasse``).
- **text**: trimmed; ``''`` (or only blanks) is missing. Case and inner spacing count.
- **money**: numeric; two present values within half a cent (``|a - b| < 0.005``, strictly)
  are the same; exactly half a cent apart is ``real``.
- **numeric**, **date**, **instant**, **bool**: no normalisation beyond the type: a number by
  value (``2`` and ``2.000`` are equal as stored), a date by day, a timestamp by instant in UTC
  (``transactions.date``), a boolean by truth.
- **enum** (``customers.customer_type``): Blaze's ``status`` mapped to the report's word through
  :data:`ENUM_MAPS` (empty: identity), then compared as text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

import polars as pl

from ..errors import ConfigurationError
from ..mapping import DERIVED_FIELDS, Kind

#: the types values are compared in, "as stored"
Dtype = Literal["text", "decimal", "date", "instant", "bool"]
#: money tolerance: strictly less than half a cent apart counts as the same amount
HALF_CENT = Decimal("0.005")


def _identity(expr: pl.Expr) -> pl.Expr:
    return expr


def _same(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a == b


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    # ``expr`` used once: in a when/then/otherwise it would be evaluated twice
    return expr.replace("", None)


# --- the normalisations ------------------------------------------------------------------------


def trimmed_text(expr: pl.Expr) -> pl.Expr:
    """Leading and trailing whitespace removed; empty is missing."""
    return _blank_to_null(expr.str.strip_chars())


def phone_digits(expr: pl.Expr) -> pl.Expr:
    """The national number: digits only, a leading US ``1`` of 11 digits dropped; zeros missing."""
    # no when/then/otherwise (it would evaluate ``digits`` per branch); ``digits`` used twice in
    # one expression is computed once in a lazy query (common subexpressions). The US 1 is
    # dropped by a slice from a computed offset: the regex ``^1([0-9]{10})$`` -> ``$1`` did the
    # same at twice the cost (a capture group), a fifth of the customers' classification at 100x
    digits = expr.str.replace_all(r"[^0-9]+", "")
    us = (digits.str.len_bytes() == 11) & digits.str.starts_with("1")  # ASCII digits: bytes are characters
    national = digits.str.slice(us.cast(pl.Int64))
    return _blank_to_null(national.str.replace(r"^0*$", ""))  # no digits, or only zeros: missing


def email_address(expr: pl.Expr) -> pl.Expr:
    """Trimmed and lower-cased; empty is missing."""
    return _blank_to_null(expr.str.strip_chars().str.to_lowercase())


def person_name(expr: pl.Expr) -> pl.Expr:
    """Lower-cased, NFC, whitespace runs collapsed to one space, trimmed; empty is missing."""
    folded = expr.str.to_lowercase().str.normalize("NFC")
    return _blank_to_null(folded.str.replace_all(r"\s+", " ").str.strip_chars())


def within_half_cent(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Two amounts less than half a cent apart (strictly): the same money."""
    return (a - b).abs() < pl.lit(HALF_CENT, dtype=pl.Decimal(38, 3))


# --- rules as data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How one field is read, normalised and matched; see the module docstring."""

    name: str
    dtype: Dtype
    normalize: Callable[[pl.Expr], pl.Expr] = _identity
    same: Callable[[pl.Expr, pl.Expr], pl.Expr] = _same
    blaze_map: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""

    @property
    def normalizes(self) -> bool:
        """Whether a value can change under this rule: without a normalisation (numbers, dates,
        instants, booleans) the normalised value is the value, and need not be computed twice."""
        return self.normalize is not _identity or bool(self.blaze_map)

    def normalize_blaze(self, expr: pl.Expr) -> pl.Expr:
        """The Blaze side: mapped through ``blaze_map`` (enums), then normalised."""
        if self.blaze_map:
            expr = expr.replace(list(self.blaze_map), list(self.blaze_map.values()))
        return self.normalize(expr)


TEXT = Rule("text", "text", trimmed_text, doc="trimmed; '' is missing")
NAME = Rule("name", "text", person_name, doc="lower-cased, NFC, single spaces, trimmed; '' is missing")
PHONE = Rule("phone", "text", phone_digits, doc="digits only, leading US 1 of 11 digits dropped; '' and zeros are missing")
EMAIL = Rule("email", "text", email_address, doc="trimmed, lower-cased; '' is missing")
MONEY = Rule("money", "decimal", same=within_half_cent, doc="numeric; equal within half a cent (|a-b| < 0.005)")
NUMERIC = Rule("numeric", "decimal", doc="numeric, by value")
DATE = Rule("date", "date", doc="calendar date")
INSTANT = Rule("instant", "instant", doc="instant in time (UTC)")
BOOL = Rule("bool", "bool", doc="truth value")


def enum_rule(name: str, blaze_map: Mapping[str, str]) -> Rule:
    """Text compared after mapping Blaze's enum value to the report's word."""
    described = ", ".join(f"{k} -> {v}" for k, v in blaze_map.items()) or "identity"
    return Rule(name, "text", trimmed_text, blaze_map=MappingProxyType(dict(blaze_map)), doc=f"enum mapped ({described}), then trimmed")


#: Blaze enum value -> the report's word, per "table.field" (empty: the words are the same)
ENUM_MAPS: Mapping[str, Mapping[str, str]] = MappingProxyType({"customers.customer_type": MappingProxyType({})})

RULES: Mapping[str, Rule] = MappingProxyType(
    {r.name: r for r in (TEXT, NAME, PHONE, EMAIL, MONEY, NUMERIC, DATE, INSTANT, BOOL)}
    | {"customer_type": enum_rule("customer_type", ENUM_MAPS["customers.customer_type"])}
)

#: the default rule per mapping ``Column.kind``
KIND_RULES: Mapping[Kind, str] = MappingProxyType(
    {
        "text": "text",
        "name": "name",
        "money": "money",
        "numeric": "numeric",
        "bool": "bool",
        "epoch_ms": "instant",
        "local_date": "date",
        "lookup": "text",
    }
)

_DERIVED_RULE = {"integer": "numeric", "numeric": "money", "date": "date", "text": "text"}

#: explicit rule per "table.field"; everything else falls back to :data:`KIND_RULES`
FIELD_RULES: Mapping[str, str] = MappingProxyType(
    {
        "customers.phone": "phone",
        "customers.email": "email",
        "customers.name": "name",
        "customers.customer_type": "customer_type",
        "transactions.date": "instant",
        **{f"customers.{f}": _DERIVED_RULE[t] for f, t in DERIVED_FIELDS.items()},
    }
)


def resolve(rule: str | Rule) -> Rule:
    """A rule by name (or itself); an unknown name fails with the valid ones."""
    if isinstance(rule, Rule):
        return rule
    try:
        return RULES[rule]
    except KeyError:
        raise ConfigurationError(f"unknown normalisation rule {rule!r}; valid: {', '.join(RULES)}") from None


def rule_for(table: str, field_name: str, kind: Kind | None = None, overrides: Mapping[str, str | Rule] | None = None) -> Rule:
    """The rule for ``table.field``: an override, else :data:`FIELD_RULES`, else by ``kind``."""
    key = f"{table}.{field_name}"
    if overrides and key in overrides:
        return resolve(overrides[key])
    if key in FIELD_RULES:
        return resolve(FIELD_RULES[key])
    if kind is None:
        raise ConfigurationError(f"no normalisation rule for {key!r} and no column kind to default from")
    return resolve(KIND_RULES[kind])


def rules_frame() -> pl.DataFrame:
    """The rule table for reports: field -> rule -> what it does."""
    rows = [(key, name, RULES[name].doc) for key, name in FIELD_RULES.items()]
    rows += [(f"(kind {kind})", name, RULES[name].doc) for kind, name in KIND_RULES.items()]
    return pl.DataFrame(rows, schema=["field", "rule", "normalisation"], orient="row")


__all__ = [
    "BOOL",
    "DATE",
    "EMAIL",
    "ENUM_MAPS",
    "FIELD_RULES",
    "HALF_CENT",
    "INSTANT",
    "KIND_RULES",
    "MONEY",
    "NAME",
    "NUMERIC",
    "PHONE",
    "RULES",
    "TEXT",
    "Dtype",
    "Rule",
    "email_address",
    "enum_rule",
    "person_name",
    "phone_digits",
    "resolve",
    "rule_for",
    "rules_frame",
    "trimmed_text",
    "within_half_cent",
]
