"""Lenient conversion of one column's decoded JSON values to one type, judged column-wise.

Real Blaze data drifts from the swagger (API.md §8): ints where strings are expected, ``""``
for missing values, unknown enum values. A column whose values all have the expected Python
types passes untouched (one ``set(map(type, ...))``); only a drifting column is converted
value by value. What can be carried is carried and counted in ``drift`` under
``"<kind>:<table>.<column>"``; what cannot (an object where a number is expected, a
non-numeric string for money) is reported by row index so the whole record is quarantined.
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

_NONE = type(None)
_TEXT_OK = frozenset({str, _NONE})
_NUMBER_OK = frozenset({Decimal, int, _NONE})
_BOOL_OK = frozenset({bool, _NONE})
_INT_OK = frozenset({int, _NONE})
#: epoch milliseconds of 0001-01-01 and 9999-12-31T23:59:59.999Z: what every store here can hold
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_999


class Result:
    """Converted values, plus row index -> reason for values that cannot be carried."""

    __slots__ = ("bad", "values")

    def __init__(self, values: list[Any], bad: dict[int, str] | None = None) -> None:
        self.values = values
        self.bad = bad or {}


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", Decimal: "number", int: "number"}.get(
        type(value), type(value).__name__
    )


def text(values: list[Any], where: str, drift: Counter[str]) -> Result:
    """Strings as sent; numbers and booleans carried as their JSON text; NUL bytes removed."""
    types = set(map(type, values))
    if types <= _TEXT_OK:
        if any("\x00" in v for v in values if v):
            drift[f"nul_in_text:{where}"] += 1
            return Result([v.replace("\x00", "") if v else v for v in values])
        return Result(values)
    out: list[Any] = []
    bad: dict[int, str] = {}
    for i, v in enumerate(values):
        t = type(v)
        if t is str:
            if "\x00" in v:
                drift[f"nul_in_text:{where}"] += 1
                v = v.replace("\x00", "")
            out.append(v)
        elif v is None:
            out.append(None)
        elif t is int or t is Decimal:
            drift[f"number_as_text:{where}"] += 1
            out.append(str(v))
        elif t is bool:
            drift[f"boolean_as_text:{where}"] += 1
            out.append("true" if v else "false")
        else:
            out.append(None)
            bad[i] = f"{where}: expected a string, got {_type_name(v)}"
    return Result(out, bad)


def number(values: list[Any], where: str, drift: Counter[str], *, scale: int, precision: int = 38) -> Result:
    """Exact decimals: JSON numbers as sent; numeric strings carried; ``""`` as NULL.

    A value with more fraction digits than ``scale`` is rounded half-even and counted
    (``rounded``); one with more integer digits than ``precision - scale`` cannot be stored.
    """
    types = set(map(type, values))
    out: list[Any] = values if types <= _NUMBER_OK else []
    bad: dict[int, str] = {}
    if not types <= _NUMBER_OK:
        for i, v in enumerate(values):
            t = type(v)
            if t is Decimal or t is int or v is None:
                out.append(v)
            elif t is str:
                s = v.strip()
                if not s:
                    drift[f"empty_string_as_null:{where}"] += 1
                    out.append(None)
                    continue
                try:
                    d = Decimal(s)
                except InvalidOperation:
                    d = None
                if d is None or not d.is_finite():
                    out.append(None)
                    bad[i] = f"{where}: expected a number, got the string {v[:40]!r}"
                else:
                    drift[f"text_as_number:{where}"] += 1
                    out.append(d)
            else:
                out.append(None)
                bad[i] = f"{where}: expected a number, got {_type_name(v)}"
    limit = Decimal(10) ** (precision - scale)
    quantum = Decimal(1).scaleb(-scale)
    result: list[Any] = []
    for i, v in enumerate(out):
        if v is None:
            result.append(None)
            continue
        d = v if type(v) is Decimal else Decimal(v)
        exp = d.as_tuple().exponent
        if isinstance(exp, int) and exp < -scale:
            drift[f"rounded:{where}"] += 1
            d = d.quantize(quantum, rounding=ROUND_HALF_EVEN)
        if abs(d) >= limit:
            result.append(None)
            bad[i] = f"{where}: number {v} has more than {precision - scale} integer digits"
            continue
        result.append(d)
    return Result(result, bad)


_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


def boolean(values: list[Any], where: str, drift: Counter[str]) -> Result:
    """Booleans; 0/1 and "true"/"false" strings carried; ``""`` as NULL."""
    if set(map(type, values)) <= _BOOL_OK:
        return Result(values)
    out: list[Any] = []
    bad: dict[int, str] = {}
    for i, v in enumerate(values):
        t = type(v)
        if t is bool or v is None:
            out.append(v)
        elif (t is int or t is Decimal) and v in (0, 1):
            drift[f"number_as_boolean:{where}"] += 1
            out.append(bool(v))
        elif t is str and v.strip().lower() in _TRUE | _FALSE | {""}:
            s = v.strip().lower()
            drift[f"{'empty_string_as_null' if not s else 'text_as_boolean'}:{where}"] += 1
            out.append(None if not s else s in _TRUE)
        else:
            out.append(None)
            bad[i] = f"{where}: expected a boolean, got {_type_name(v)} {str(v)[:40]!r}"
    return Result(out, bad)


def epoch_ms(values: list[Any], where: str, drift: Counter[str]) -> Result:
    """Epoch milliseconds as int; 0 (Blaze's "not set") becomes NULL; digit strings carried."""
    if set(map(type, values)) <= _INT_OK:
        if all(v is None or _MIN_MS <= v <= _MAX_MS for v in values):
            return Result([v or None for v in values])
    out: list[Any] = []
    bad: dict[int, str] = {}
    for i, v in enumerate(values):
        t = type(v)
        n: int | None = None
        if v is None:
            out.append(None)
            continue
        if t is int:
            n = v
        elif t is Decimal and v == v.to_integral_value():
            drift[f"float_as_epoch:{where}"] += 1
            n = int(v)
        elif t is str:
            s = v.strip()
            if not s:
                drift[f"empty_string_as_null:{where}"] += 1
                out.append(None)
                continue
            if s.lstrip("-").isdigit():
                drift[f"text_as_epoch:{where}"] += 1
                n = int(s)
        if n is None or not _MIN_MS <= n <= _MAX_MS:
            out.append(None)
            bad[i] = f"{where}: expected epoch milliseconds, got {_type_name(v)} {str(v)[:40]!r}"
        else:
            out.append(n or None)
    return Result(out, bad)
