"""Masking personal data in the discrepancy list (the compare notebook's ``mask_pii``).

A masked value keeps its *shape* — upper-case letters become ``X``, lower-case ``x``, digits
``9``, punctuation and spaces stay — and its last two characters, so a reader still sees a
format difference (``(555) 010-2030`` against ``+15550102030``) without the person's data.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

#: "table.field" whose values identify a person
PII_FIELDS: tuple[str, ...] = ("customers.name", "customers.phone", "customers.email", "customers.street_address")
_VALUES = ("existing", "blaze", "existing_norm", "blaze_norm")


def mask_text(expr: pl.Expr) -> pl.Expr:
    """Letters and digits replaced by their class, except the last two characters."""
    n = expr.str.len_chars().cast(pl.Int64)
    head = expr.str.slice(0, (n - 2).clip(lower_bound=0))
    shaped = head.str.replace_all(r"\p{Lu}", "X").str.replace_all(r"\p{Ll}|\p{Lo}|\p{Lt}|\p{Lm}", "x").str.replace_all(r"\p{N}", "9")
    return pl.concat_str([shaped, expr.str.slice((n - 2).clip(lower_bound=0))])


def mask_pii(discrepancies: pl.DataFrame | pl.LazyFrame, fields: Iterable[str] = PII_FIELDS) -> pl.DataFrame | pl.LazyFrame:
    """The discrepancy frame with the values of ``fields`` masked (a new frame)."""
    pii = list(fields)
    is_pii = pl.concat_str(["table", "field"], separator=".").is_in(pii)
    return discrepancies.with_columns(pl.when(is_pii).then(mask_text(pl.col(c))).otherwise(pl.col(c)).alias(c) for c in _VALUES)


__all__ = ["PII_FIELDS", "mask_pii", "mask_text"]
