"""Bad records from the API: each is carried and counted, or quarantined with its reason, raw
payload and run id; the counts equal what the simulator injected, and nothing else is lost.

The simulator's ``bad_record_rate`` breaks a fixed set of records (by seed and id, the same on
every serve): no id, no ``modified``, a number sent as ``"n/a"``, a ``modified`` in the year 3000
(quarantined), a negative quantity or price, another instant in the year 3000, an unknown enum
value, a 1 MiB text (carried, counted). Malformed JSON bodies are a fault of the call, not of a
record: retried, never stored, and a body that stays broken fails the entity with a clear
message while the next run resumes.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import orjson
import pytest

from _fixtures_sim import tiny_config
from _sync_run import run_sync
from blaze_workbook.blaze.simulator import Faults, serve
from blaze_workbook.blaze.simulator.faults import OVERSIZE_CHARS, UNKNOWN_ENUM_VALUE, WRONG_TYPE_VALUE
from blaze_workbook.sync import Warehouse

from ._api import check_postgres, check_warehouse, client, days_back, expected, injected, settings, sim_now
from ._kill import sync_truth

pytestmark = pytest.mark.timeout(240)

DAYS = 21
RATE = 0.12
QUARANTINED = {"no_id": "record has no id", "no_modified": "record has no modified time",
               "wrong_type": f"expected a number, got the string {WRONG_TYPE_VALUE!r}",
               "future_modified": "implausible modified time"}
#: carried kinds: entity -> kind -> (drift keys counted once per served record, staging table, column)
CARRIED = {
    "members": {"negative": (("negative_value:customers.loyalty_points",), "customers", "loyalty_points"),
                "year_3000": (("implausible_timestamp:customers.last_visited",), "customers", "last_visited"),
                "unknown_enum": (("unknown_enum:customers.customer_type",), "customers", "customer_type"),
                "oversize": (("oversize_text:customers.name",), "customers", "name")},
    "transactions": {"negative": (("negative_value:transaction_items.quantity",), "transaction_items", "quantity"),
                     "year_3000": (("implausible_timestamp:transactions.completed_time", "implausible_timestamp:transactions.date"),
                                   "transactions", "completed_time"),
                     "unknown_enum": (("unknown_enum:transactions.blaze_status",), "transactions", "blaze_status"),
                     "oversize": (("oversize_text:transaction_items.product_name",), "transaction_items", "product_name")},
    "products": {"negative": (("negative_value:products.retail_price",), "products", "retail_price"),
                 "year_3000": (("implausible_timestamp:products.blaze_created",), "products", "blaze_created"),
                 "unknown_enum": (("unknown_enum:products.weight_per_unit",), "products", "weight_per_unit"),
                 "oversize": (("oversize_text:products.description",), "products", "description")},
}
STAGED = {"members": "customers", "transactions": "transactions", "products": "products"}


def test_bad_records_are_carried_and_counted_or_quarantined_exactly(tmp_path, new_staging_db, tally):
    conninfo = new_staging_db().conninfo
    with serve(tiny_config(seed=21, rate_limit_calls=0, faults=Faults(bad_record_rate=RATE))) as sim, \
            Warehouse.open(tmp_path / "w.duckdb") as wh:
        since = days_back(sim, DAYS)
        summary = run_sync(settings(sim), wh, mode="backfill", since=since, now=sim_now(sim) + timedelta(hours=1),
                           conninfo=conninfo)
        stats = sim.stats()
        quarantine = wh.quarantine_frame(summary.run_id)
        want = expected(sim, since)
        truth_items = {k: r["transaction_id"] for k, r in want["transaction_items"].items()}
        broken = [tuple(b) for b in stats["bad_record_ids"]]
        served = Counter(stats["bad_records_served"])
        kinds = Counter(kind for _, _, kind in broken)
        assert summary.ok, str(summary)
        assert all(kinds[k] >= 1 for k in (*QUARANTINED, *CARRIED["members"])), kinds

        # quarantined: per served record in the summary, once per record in the table, with reason, payload, run
        assert summary.quarantined == sum(n for key, n in served.items() if key.split(":")[1] in QUARANTINED)
        rows = quarantine.to_dicts()
        assert len(rows) == sum(kinds[k] for k in QUARANTINED) and {r["run_id"] for r in rows} == {summary.run_id}
        expect = Counter((e, k) for e, _, k in broken if k in QUARANTINED)
        found: Counter = Counter()
        for row in rows:
            kind = next(k for k, reason in QUARANTINED.items() if reason in row["reason"])
            payload = orjson.loads(row["payload"])
            if kind == "no_id":
                assert row["record_id"] is None and "id" not in payload
            else:
                assert payload["id"] == row["record_id"] and (row["entity"], row["record_id"], kind) in broken
            found[(row["entity"], kind)] += 1
        assert found == expect

        # carried: counted once per served record, stored with the value as sent
        drift = summary.drift()
        for entity, carried in CARRIED.items():
            for kind, (keys, _, _) in carried.items():
                for key in keys:
                    assert drift.get(key, 0) == served.get(f"{entity}:{kind}", 0), (key, drift, served)

        # everything else equals the truth; the quarantined are not staged, the carried are as sent
        skip = set()
        for entity, rid, kind in broken:
            skip.add((STAGED[entity], rid))
            if entity == "transactions":
                skip.update(("transaction_items", item) for item, tx in truth_items.items() if tx == rid)
        check = check_warehouse(want, wh, skip=skip) + check_postgres(want, conninfo, skip=skip)
        assert check.ok, check
        rows_of = {t: sync_truth().pg_rows(conninfo, t) for t in ("customers", "transactions", "transaction_items", "products")}
        carried = 0
        for entity, rid, kind in broken:
            table = STAGED[entity]
            if kind in QUARANTINED:
                assert rid not in rows_of[table]
                if entity == "transactions":
                    assert not any(r["transaction_id"] == rid for r in rows_of["transaction_items"].values())
                continue
            _, where, column = CARRIED[entity][kind]
            values = [rows_of[table][rid][column]] if where == table else [
                r[column] for r in rows_of[where].values() if r["transaction_id"] == rid]
            as_sent = {"negative": lambda v: v < 0, "year_3000": lambda v: v.year >= 2999,
                       "unknown_enum": lambda v: v == UNKNOWN_ENUM_VALUE, "oversize": lambda v: len(v) >= OVERSIZE_CHARS}[kind]
            assert sum(1 for v in values if v is not None and as_sent(v)) == 1, (entity, rid, kind)
            carried += 1
    figures = {"scenario": "bad records", "runs": 1, "calls": summary.api.calls, "injected_records": len(broken),
               "by_kind": dict(kinds), "served": sum(served.values()), "quarantined_rows": len(rows),
               "summary_quarantined": summary.quarantined, "carried_checked": carried, "records_verified": check.records,
               "losses": check.losses, "duplicates": check.duplicates}
    print("FAULT-FIGURES", json.dumps(figures))
    tally.add("bad records (8 kinds)", runs=1, faults=len(broken), check=check)
    assert carried + len(rows) == len(broken)


def test_malformed_json_bodies_are_retried_and_a_body_that_stays_broken_fails_cleanly(tmp_path, tally):
    with serve(tiny_config(seed=22, rate_limit_calls=0, faults=Faults(invalid_json_rate=0.1))) as sim, \
            Warehouse.open(tmp_path / "w.duckdb") as wh, client(sim) as api:
        since, now = days_back(sim, DAYS), sim_now(sim) + timedelta(hours=1)
        first = run_sync(api, wh, mode="backfill", since=since, now=now, push=False, page_limit=25)
        assert first.ok, str(first)
        broken = sim.stats()["faults"]["invalid_json"]
        assert broken >= 2 and first.api.retries == broken and first.quarantined == 0
        # no broken body was stored: a replay from the raw pages alone rebuilds the same tables
        replayed = run_sync(None, wh, mode="replay", push=False)
        assert replayed.ok and check_warehouse(expected(sim, since), wh).ok

        # every body of members broken: the entity fails with a clear message, nothing is half-stored
        sim.set_faults(invalid_json_rate=1.0)
        sim.step(20)
        failed = run_sync(api, wh, entities=["members"], now=sim_now(sim) + timedelta(hours=1), force=True, push=False)
        assert failed.entity("members").status == "failed" and not failed.ok
        assert "not valid JSON" in failed.entity("members").message and "truncated?" in failed.entity("members").message
        sim.set_faults(invalid_json_rate=0.0)
        again = run_sync(api, wh, now=sim_now(sim) + timedelta(hours=1), force=True, push=False)
        assert again.ok and again.entity("members").status == "resumed"
        check = check_warehouse(expected(sim, since), wh)
        faults = injected(sim.stats())
    assert check.ok, check
    tally.add("bad records: malformed JSON", runs=4, faults=faults, check=check)
    print("FAULT-FIGURES", json.dumps({"scenario": "malformed JSON", "runs": 4, "injected": faults,
                                       "records_verified": check.records, "losses": check.losses,
                                       "duplicates": check.duplicates}))
