"""How fast the compare engine is, at ``seed`` scale and at 10x and 100x, against two baselines.

Data: :mod:`_compare_data` — the legacy generator's database and a full sync's staging rows at
``seed`` (10,047 / 186,394 / 114,136 / 7,810 existing rows; 10,500 / 197,500 / 570,604 / 7,900
Blaze rows), and that base repeated 10 and 100 times (1.0 M customers, 18.6 M transactions),
as parquet exports cached under ``bench/.data/compare`` (git-ignored; built on first use).

Contenders, each run in a fresh subprocess (so its peak RSS is its own; reading the parquet
exports is included in every contender's time):

- ``ours`` — :func:`blaze_workbook.compare.compare` on all four tables from the export folders
  (normalisation, kinds, derived customer fields, orphans, the discrepancy list); its counts
  are checked against the manifest's (times the copies);
- ``ours_customers`` — the same engine on the customers table alone (no transactions given, so
  no derived fields): the fields the baselines compare too;
- ``datacompy`` — ``datacompy.PolarsCompare`` (datacompy 1.1) per table on the same columns,
  joined on the same key (numbers as floats: it has no decimal path), set as near to our rules
  as its options go: ``ignore_spaces`` and ``ignore_case`` (our text, name and email rules trim
  and case-fold) and ``abs_tol`` 0.005 on the columns our rules compare as money. It still does
  less than ours (no phone digits, no NFC, no enum mapping, no kinds);
- ``datacompy_defaults`` — the same with datacompy's defaults (exact comparison): less work
  again, reported beside it (``vs_datacompy_polars_defaults``);
- ``floor`` — a bare polars join on the key and a per-field ``ne_missing`` count: no
  normalisation, no kinds, no positions for repeated keys.

``ratios`` are the baseline's seconds over ours (greater than 1: we are faster):
``vs_datacompy_polars`` (``_defaults``) and ``vs_bare_floor`` on the customers table; ``*_total`` compare ours
on all tables with the baselines' sum over the four tables. A child above ``--max-rss-gb`` or
``--timeout`` is killed and reported as such. Prints one JSON line last (CONTRACTS.md §6)::

    python bench/compare.py [--scales seed,10x,100x] [--repeat N] [--quick] [--seed 0]
                            [--contenders ours,ours_customers,datacompy,datacompy_defaults,floor]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import _compare_data as data

HERE = Path(__file__).resolve()
SCALES = {"tiny": ("tiny", 1), "seed": ("seed", 1)}
CONTENDERS = ("ours", "ours_customers", "datacompy", "datacompy_defaults", "floor")
BASELINES = ("datacompy", "datacompy_defaults", "floor")


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def scale_of(name: str) -> tuple[str, int]:
    """``seed`` -> (``seed``, 1); ``10x`` -> (``seed``, 10); ``tiny`` -> (``tiny``, 1)."""
    if name in SCALES:
        return SCALES[name]
    if name.endswith("x") and name[:-1].isdigit():
        return "seed", int(name[:-1])
    raise SystemExit(f"unknown scale {name!r}: seed, tiny or <k>x")


# ---------------------------------------------------------------------------------------------
# the children: one contender, one run, in its own process


def _peak_rss_mb() -> float:
    """This process's own peak RSS: ``VmHWM`` (getrusage's ``ru_maxrss`` survives ``exec`` on
    Linux, so a child would report its parent's peak when that was higher)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_fields(path: Path, table: str) -> tuple[list[str], list[str]]:
    """(key columns, compared fields) of ``table`` without derived fields: what every contender
    compares on that table. Asked of the engine itself, on the first rows (not timed)."""
    import polars as pl

    from blaze_workbook.compare import compare
    from blaze_workbook.compare.pairing import keys, legacy_name
    from blaze_workbook.mapping import table as mapped

    files = data.sides(path)
    head = {s: {table: pl.read_parquet(files[s][table], n_rows=50)} for s in data.SIDES}
    result = compare(head["existing"], head["blaze"], as_of=date.today())
    t = mapped(table)
    return [legacy_name(t, k) for k in keys(t)], list(result.tables[table].fields)


def _run_ours(path: Path, tables: tuple[str, ...]) -> dict[str, Any]:
    import polars as pl

    from blaze_workbook.compare import compare
    from blaze_workbook.setup_sql import MetricsRules

    info = data.meta(path)
    files = data.sides(path)
    _plain_fields(path, tables[0])  # the same untimed warm-up the baselines get
    start = time.perf_counter()
    existing = {t: pl.scan_parquet(files["existing"][t]) for t in tables}
    blaze = {t: pl.scan_parquet(files["blaze"][t]) for t in tables}
    result = compare(existing, blaze, as_of=date.fromisoformat(info["as_of"]), metrics=MetricsRules(timezone=info["timezone"]))
    seconds = time.perf_counter() - start
    summary = result.summary()
    rows = sum(t.rows_existing + t.rows_blaze for t in result.tables.values())
    out = {"seconds": seconds, "rows": rows, "discrepancies": result.discrepancies.height, "fields": sum(len(t.fields) for t in result.tables.values())}
    if set(tables) == set(data.TABLES):  # every count of the manifest (times the copies), exactly
        want = info["expected"]["tables"]
        out["counts_exact"] = all({k: v for k, v in summary["tables"][t].items() if k in want[t]} == want[t] for t in tables)
    return out


def _read_plain(path: Path, table: str, key: list[str], fields: list[str]) -> tuple[Any, Any]:
    import polars as pl

    files = data.sides(path)
    return tuple(pl.read_parquet(files[s][table], columns=key + fields) for s in data.SIDES)


def _datacompy_options(table: str, fields: list[str]) -> dict[str, Any]:
    """datacompy's options nearest to our rules for ``table``: trimmed, case-folded text and a
    half-cent tolerance on money (asked of the engine's own rules, as the fields are)."""
    from blaze_workbook.compare.normalize import HALF_CENT, MONEY, rule_for
    from blaze_workbook.mapping import table as mapped

    t = mapped(table)
    kinds = {c.legacy: c.kind for c in t.compared if c.legacy}
    money = {f: float(HALF_CENT) for f in fields if rule_for(t.legacy, f, kinds.get(f)) == MONEY}
    return {"ignore_spaces": True, "ignore_case": True, "abs_tol": money or 0}


def _run_datacompy(path: Path, table: str, *, defaults: bool = False) -> dict[str, Any]:
    import datacompy
    import polars as pl

    key, fields = _plain_fields(path, table)
    options = {} if defaults else _datacompy_options(table, fields)
    start = time.perf_counter()
    e, b = _read_plain(path, table, key, fields)
    as_float = [pl.col(c).cast(pl.Float64) for c in fields if isinstance(e.schema[c], pl.Decimal) or isinstance(b.schema[c], pl.Decimal)]
    e, b = e.with_columns(as_float), b.with_columns(as_float)
    cmp = datacompy.PolarsCompare(e, b, join_columns=key, df1_name="existing", df2_name="blaze", **options)
    mismatched = sum(int(s["unequal_cnt"]) for s in cmp.column_stats)
    return {"seconds": time.perf_counter() - start, "rows": e.height + b.height, "matched": cmp.intersect_rows.height, "mismatched": mismatched}


def _run_floor(path: Path, table: str) -> dict[str, Any]:
    import polars as pl

    key, fields = _plain_fields(path, table)
    start = time.perf_counter()
    e, b = _read_plain(path, table, key, fields)
    joined = e.join(b, on=key, how="inner", suffix="_b")
    counts = joined.select(pl.len().alias("_matched"), *(pl.col(f).ne_missing(pl.col(f"{f}_b")).sum().alias(f) for f in fields)).row(0, named=True)
    return {"seconds": time.perf_counter() - start, "rows": e.height + b.height, "matched": counts.pop("_matched"), "mismatched": sum(counts.values())}


def child(contender: str, path: Path, table: str | None) -> None:
    if contender == "ours":
        out = _run_ours(path, data.TABLES)
    elif contender == "ours_customers":
        out = _run_ours(path, ("customers",))
    elif contender == "datacompy":
        out = _run_datacompy(path, table or "customers")
    elif contender == "datacompy_defaults":
        out = _run_datacompy(path, table or "customers", defaults=True)
    elif contender == "floor":
        out = _run_floor(path, table or "customers")
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    out["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# the parent: data, fresh subprocesses, a memory watchdog, medians and ratios


def run_child(contender: str, path: Path, table: str | None, *, max_rss_mb: float, timeout: float) -> dict[str, Any]:
    """One contender in a fresh interpreter; killed above ``max_rss_mb`` or after ``timeout``."""
    import psutil

    cmd = [sys.executable, str(HERE), "--child", contender, "--data", str(path)] + (["--table", table] if table else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched, seen, started, killed = psutil.Process(proc.pid), 0.0, time.monotonic(), None
    while proc.poll() is None:
        try:
            seen = max(seen, watched.memory_info().rss / 2**20)
        except psutil.NoSuchProcess:
            break
        if seen > max_rss_mb or time.monotonic() - started > timeout:
            killed = f"killed: RSS {seen:,.0f} MB above the {max_rss_mb:,.0f} MB cap" if seen > max_rss_mb else f"killed: over {timeout:.0f} s"
            proc.kill()
            break
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    if killed or proc.returncode:
        reason = killed or f"exit {proc.returncode}: {stderr.strip().splitlines()[-1] if stderr.strip() else ''}"
        return {"failed": reason, "peak_rss_mb": round(seen, 1)}
    return json.loads(stdout.strip().splitlines()[-1])


def measure(contender: str, path: Path, table: str | None, repeat: int, **limits: float) -> dict[str, Any]:
    """Median seconds and the highest peak RSS over ``repeat`` runs (first failure stops)."""
    runs = []
    for _ in range(repeat):
        r = run_child(contender, path, table, **limits)
        if "failed" in r:
            return r
        runs.append(r)
    out = dict(runs[0])
    out["seconds"] = round(statistics.median(r["seconds"] for r in runs), 3)
    out["peak_rss_mb"] = round(max(r["peak_rss_mb"] for r in runs), 1)
    if repeat > 1:
        out["runs_seconds"] = [round(r["seconds"], 3) for r in runs]
    return out


def _ratio(baseline: dict[str, Any] | None, ours: dict[str, Any]) -> float | str:
    if not baseline or "failed" in baseline or "failed" in ours:
        return "n/a: " + (baseline or {}).get("failed", ours.get("failed", "not run"))
    return round(baseline["seconds"] / ours["seconds"], 3)


def bench_scale(name: str, args: argparse.Namespace) -> dict[str, Any]:
    preset, copies = scale_of(name)
    path = data.build_tiled(args.data_root, preset, args.seed, copies, log=log)
    limits = {"max_rss_mb": args.max_rss_gb * 1024, "timeout": args.timeout}
    skipped = {"failed": "not run (--contenders)"}
    ours = ours_c = skipped
    if "ours" in args.contenders:
        log(f"[{name}] ours (all tables)")
        ours = measure("ours", path, None, args.repeat, **limits)
        log(f"[{name}] ours: {ours}")
    if "ours_customers" in args.contenders:
        ours_c = measure("ours_customers", path, None, args.repeat, **limits)
        log(f"[{name}] ours_customers: {ours_c}")
    per_table: dict[str, dict[str, Any]] = {b: {} for b in BASELINES}
    tables = [t for t in data.TABLES if t in args.baseline_tables]
    for contender in BASELINES:
        for t in tables if contender in args.contenders else ():
            log(f"[{name}] {contender} {t}")
            per_table.setdefault(contender, {})[t] = measure(contender, path, t, args.repeat, **limits)
    totals = {}
    for contender, runs in per_table.items():
        failed = [f"{t}: {r['failed']}" for t, r in runs.items() if "failed" in r]
        if len(runs) < len(data.TABLES):
            failed.append(f"baselines run on {', '.join(runs)} only (--baseline-tables)")
        totals[contender] = {"failed": "; ".join(failed)} if failed else {"seconds": round(sum(r["seconds"] for r in runs.values()), 3)}
    info = data.meta(path)
    return {
        "scale": name,
        "rows": info["rows"],
        "ours": ours,
        "ours_customers": ours_c,
        **per_table,
        "ratios": {
            "vs_datacompy_polars": _ratio(per_table["datacompy"].get("customers"), ours_c),
            "vs_datacompy_polars_defaults": _ratio(per_table["datacompy_defaults"].get("customers"), ours_c),
            "vs_bare_floor": _ratio(per_table["floor"].get("customers"), ours_c),
            "vs_datacompy_polars_total": _ratio(totals["datacompy"], ours),
            "vs_bare_floor_total": _ratio(totals["floor"], ours),
            "vs_datacompy_polars_defaults_total": _ratio(totals["datacompy_defaults"], ours),
        },
        "totals": totals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="seed,10x,100x", help="comma-separated: seed, tiny, <k>x (k copies of seed)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the median is reported")
    parser.add_argument("--quick", action="store_true", help="smoke run: the tiny preset once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rss-gb", type=float, default=10.0, help="kill a contender above this RSS (others share the machine)")
    parser.add_argument("--timeout", type=float, default=900.0, help="kill a contender after this many seconds")
    parser.add_argument("--baseline-tables", default=",".join(data.TABLES),
                        help="tables datacompy and the floor run on (customers alone keeps 100x within the timeout: datacompy needs ~90 s per table at 10x on items)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma-separated subset of {', '.join(CONTENDERS)} (e.g. ours_customers,datacompy,floor: the customers ratios without the minutes of ours on all tables)")
    parser.add_argument("--data-root", type=Path, default=data.ROOT)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.table)
        return
    if args.quick:
        args.scales, args.repeat = "tiny", 1
    args.contenders = {c.strip() for c in args.contenders.split(",") if c.strip()}
    if args.contenders - set(CONTENDERS):
        parser.error(f"unknown contender(s) {sorted(args.contenders - set(CONTENDERS))}: {', '.join(CONTENDERS)}")
    args.baseline_tables = {t.strip() for t in args.baseline_tables.split(",") if t.strip()}
    if "customers" not in args.baseline_tables:
        parser.error("--baseline-tables must include customers (the ratios are on customers)")
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    results = [bench_scale(s, args) for s in scales]
    first = results[0]
    ours = first["ours"]
    ratios = dict(first["ratios"])
    for r in results[1:]:
        ratios |= {f"{k}@{r['scale']}": v for k, v in r["ratios"].items()}
    record = {
        "bench": "compare",
        "scale": first["scale"],
        "seconds": ours.get("seconds"),
        "peak_rss_mb": ours.get("peak_rss_mb"),
        "records_per_s": round(ours["rows"] / ours["seconds"], 1) if "seconds" in ours else 0.0,
        "ratios": ratios,
        "details": {
            "scales": {r["scale"]: r for r in results},
            "repeat": args.repeat,
            "targets": {"seed_seconds": 3, "100x_seconds": 90, "100x_peak_rss_mb": 8192, "vs_datacompy_polars": 2.0, "vs_bare_floor": round(1 / 1.5, 3)},
            "notes": [
                "seconds include reading the parquet exports; peak RSS is each child's own (VmHWM)",
                "ours on all tables also recomputes the derived customer fields from Blaze transactions, counts orphans and lists every discrepancy; the baselines do not",
                "the machine is shared: absolute figures are noisy, ratios are measured in the same run",
            ],
        },
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
