"""Generation of members, with the messy text of real data (API.md §8).

Names come in mixed case, some UPPERCASE, some with emoji, some damaged by an old encoding error
("JosÃ©"), a few with stray spaces; phones in mixed formats with ``""`` and all-zero
placeholders; e-mails missing (``""``) or in mixed case.
"""

from __future__ import annotations

import numpy as np

from . import _words as W
from ._gen_catalog import DAY, S_MEMBER, stream
from ._table import Table, new_ids, text_column

STATUSES = ("Active", "Pending", "Inactive")
CONSUMER_TYPES = ("AdultUse", "MedicinalState", "Other", "MedicinalThirdParty")

_MOJI_FIRST = [k for k in W.MOJIBAKE if k in ("José", "Zoë", "René", "Chloé", "Désirée")]
_MOJI_LAST = [k for k in W.MOJIBAKE if k not in _MOJI_FIRST]


def _styled(name: str, style: int, emoji: str) -> str:
    if style == 1:
        return name.upper()
    if style == 2:
        return name.lower()
    if style == 3:
        return f"{name} {emoji}"
    if style == 4:
        return W.MOJIBAKE.get(name, name)
    if style == 5:
        return f"{name} "
    return name


def format_phone(digits: int, style: int) -> str:
    """One phone number in one of the formats seen in real data."""
    a, b, c = digits // 10_000_000, digits // 10_000 % 1000, digits % 10_000
    if style == 0:
        return f"+1{digits}"
    if style == 1:
        return f"({a}) {b}-{c:04d}"
    if style == 2:
        return f"{a}.{b}.{c:04d}"
    if style == 3:
        return f"{digits}"
    if style == 4:
        return f"{a}-{b}-{c:04d}"
    if style == 5:
        return ""
    return "0000000000"


PHONE_STYLE_P = [0.2, 0.25, 0.1, 0.2, 0.1, 0.1, 0.05]


def email_for(first: str, last: str, n: int, style: int, domain: str) -> str:
    if style == 0:
        return ""
    first, last = first.strip().split(" ")[0], last.strip()
    if style == 1:
        return f"{first.lower()}.{last.lower()}{n}@{domain}"
    if style == 2:
        return f"{first}.{last}{n}@{domain.capitalize()}"
    return f"{first}{last}{n}@{domain}".upper()


def make_members(seed: int, n: int, t0: int, now: int, n_groups: int) -> Table:
    rng = stream(seed, S_MEMBER)
    hi, lo = new_ids(rng, n)
    fi = rng.integers(0, len(W.FIRST_NAMES), n)
    li = rng.integers(0, len(W.LAST_NAMES), n)
    style = rng.choice(6, n, p=[0.6, 0.25, 0.04, 0.03, 0.05, 0.03])
    emoji = rng.integers(0, len(W.EMOJI), n)
    first, last = [], []
    for f, s, st, e in zip(fi.tolist(), li.tolist(), style.tolist(), emoji.tolist()):
        fn, ln = W.FIRST_NAMES[f], W.LAST_NAMES[s]
        if st == 4:  # damaged encoding on first or last name
            if f % 2:
                fn = _MOJI_FIRST[f % len(_MOJI_FIRST)]
            else:
                ln = _MOJI_LAST[s % len(_MOJI_LAST)]
            first.append(_styled(fn, 4, ""))
            last.append(_styled(ln, 4, ""))
            continue
        first.append(_styled(fn, st, W.EMOJI[e]))
        last.append(_styled(ln, 1 if st == 1 else 0, ""))
    digits = rng.choice(np.asarray(W.AREA_CODES), n) * 10_000_000 + rng.integers(2_000_000, 9_999_999, n)
    pstyle = rng.choice(len(PHONE_STYLE_P), n, p=PHONE_STYLE_P)
    estyle = rng.choice(4, n, p=[0.2, 0.55, 0.15, 0.1])
    dom = rng.integers(0, len(W.EMAIL_DOMAINS), n)
    enum = rng.integers(1, 99, n)
    city = rng.integers(0, len(W.CITIES), n)
    street_no = rng.integers(100, 19_999, n)
    street = rng.integers(0, len(W.STREETS), n)
    no_addr = rng.random(n) < 0.1
    # created: a few before the history starts so the first sales have members
    created = (t0 - 180 * DAY + (rng.random(n) ** 0.9) * (now - t0 + 170 * DAY)).astype(np.int64)
    created[: min(n, 5)] = t0 - 200 * DAY + np.arange(min(n, 5)) * DAY
    modified = created + (rng.random(n) ** 3 * (now - created)).astype(np.int64)
    medical = rng.random(n) < 0.12
    consumer = np.where(medical, 1, np.where(rng.random(n) < 0.03, 2, 0)).astype(np.int8)
    group = np.where(medical, 1, rng.choice(n_groups, n, p=_group_p(n_groups))).astype(np.int8)
    dob = (rng.integers(-25 * 365, 2 * 365, n) * DAY + 8 * 3_600_000).astype(np.int64)
    return Table({
        "hi": hi, "lo": lo, "first": text_column(first), "last": text_column(last),
        "phone": text_column(format_phone(d, s) for d, s in zip(digits.tolist(), pstyle.tolist())),
        "email": text_column(email_for(f, s, k, e, W.EMAIL_DOMAINS[d])
                             for f, s, k, e, d in zip(first, last, enum.tolist(), estyle.tolist(), dom.tolist())),
        "street": text_column("" if na else f"{a} {W.STREETS[b]}"
                              for a, b, na in zip(street_no.tolist(), street.tolist(), no_addr.tolist())),
        "city": city.astype(np.int16),
        "zip": text_column("" if r < 0.05 else f"{W.CITIES[c][1]}{z:02d}"
                           for c, z, r in zip(city.tolist(), rng.integers(0, 99, n).tolist(), rng.random(n).tolist())),
        "status": rng.choice(np.array([0, 1, 2], dtype=np.int8), n, p=[0.9, 0.04, 0.06]),
        "medical": medical, "text_opt": rng.random(n) < 0.3, "email_opt": rng.random(n) < 0.55,
        "group": group, "consumer": consumer,
        "sex": rng.choice(np.array([0, 1, 2], dtype=np.int8), n, p=[0.5, 0.45, 0.05]),  # an integer, as Blaze sends it
        "marketing": text_column(np.asarray(W.MARKETING_SOURCES, dtype=object)[
            rng.integers(0, len(W.MARKETING_SOURCES), n)]),
        "dob": dob,
        "license": text_column(f"{chr(65 + int(x) % 26)}{int(x) % 10_000_000:07d}" for x in rng.integers(0, 1 << 40, n)),
        "lic_exp": now + rng.integers(-200, 5 * 365, n).astype(np.int64) * DAY,
        "created": created, "start": created + rng.integers(5, 60, n), "modified": modified,
        "deleted": rng.random(n) < 0.01,
        "last_visit": np.full(n, -1, dtype=np.int64),
        "loyalty": np.zeros(n, dtype=np.int64), "lifetime": np.zeros(n, dtype=np.int64),
    })


def _group_p(n_groups: int) -> list[float]:
    w = np.array([20.0] + [1.0] * (n_groups - 1))
    w[1] = 0.0  # the Medical group follows the medical flag
    return (w / w.sum()).tolist()
