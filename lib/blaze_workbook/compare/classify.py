"""Every matched pair of values falls in exactly one kind (CONTRACTS.md §4), in one expression.

In order, the first that holds:

1. ``equal``: equal as stored, or both empty as stored (NULL or ``''``);
2. ``format_only``: both missing after normalisation (``'000-000-0000'`` against NULL);
3. ``missing_in_blaze``: Blaze missing after normalisation, the existing side has a value;
4. ``missing_in_existing``: the reverse;
5. ``format_only``: the normalised values are the same (the rule's ``same``);
6. ``real``: anything else.

``mismatched`` is ``real + missing_in_blaze + missing_in_existing``; ``format_only`` is
reported but not a mismatch.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from .normalize import Rule

EQUAL: Final = "equal"
FORMAT_ONLY: Final = "format_only"
REAL: Final = "real"
MISSING_IN_BLAZE: Final = "missing_in_blaze"
MISSING_IN_EXISTING: Final = "missing_in_existing"
#: the five kinds, in report order
KINDS: tuple[str, ...] = (EQUAL, FORMAT_ONLY, REAL, MISSING_IN_BLAZE, MISSING_IN_EXISTING)
#: the kinds that count as a mismatch
MISMATCH_KINDS: tuple[str, ...] = (REAL, MISSING_IN_BLAZE, MISSING_IN_EXISTING)
KIND = pl.Enum(list(KINDS))


def stored_equal(existing: pl.Expr, blaze: pl.Expr, *, existing_blank: pl.Expr, blaze_blank: pl.Expr) -> pl.Expr:
    """Equal as stored: the same value, or both empty (NULL or ``''``). Never NULL."""
    return (existing_blank & blaze_blank) | (existing == blaze).fill_null(False)


def kind(
    existing: pl.Expr,
    blaze: pl.Expr,
    existing_norm: pl.Expr,
    blaze_norm: pl.Expr,
    rule: Rule,
    *,
    existing_blank: pl.Expr,
    blaze_blank: pl.Expr,
) -> pl.Expr:
    """The kind of each pair: values as stored, their normalised forms and their emptiness."""
    return (
        pl.when(stored_equal(existing, blaze, existing_blank=existing_blank, blaze_blank=blaze_blank))
        .then(pl.lit(EQUAL))
        .when(existing_norm.is_null() & blaze_norm.is_null())
        .then(pl.lit(FORMAT_ONLY))
        .when(blaze_norm.is_null())
        .then(pl.lit(MISSING_IN_BLAZE))
        .when(existing_norm.is_null())
        .then(pl.lit(MISSING_IN_EXISTING))
        .when(rule.same(existing_norm, blaze_norm).fill_null(False))
        .then(pl.lit(FORMAT_ONLY))
        .otherwise(pl.lit(REAL))
        .cast(KIND)
    )


__all__ = ["stored_equal", "EQUAL", "FORMAT_ONLY", "KIND", "KINDS", "MISMATCH_KINDS", "MISSING_IN_BLAZE", "MISSING_IN_EXISTING", "REAL", "kind"]
