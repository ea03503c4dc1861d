"""The discrepancies injected into the legacy tables, each chosen deterministically from ``seed``.

Every function takes frames and returns frames plus its *bookkeeping*: one row per difference it
made (``table, key, field, kind, cause, injected``), in the compare's vocabulary. The generator
checks this bookkeeping against a full recomputation (:mod:`.expected`), so an injection that
turned out equal, or a difference nobody explained, is caught.

Choices within one field never overlap (a phone is either reformatted or changed, not both);
candidates are always sorted before drawing, so the choice depends on the seed only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..errors import ConfigurationError
from .build import Selection, pick, rng_for
from .counts import Injections, Targets
from .expected import normalise, positions
from .staging import local_date

BOOK_SCHEMA = {"table": pl.String(), "key": pl.String(), "field": pl.String(), "kind": pl.String(), "cause": pl.String(), "injected": pl.Boolean()}


def book(table: str, keys: pl.Series | pl.Expr, field: str | None, kind: str, cause: str, injected: bool, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """Bookkeeping rows for ``keys`` (a Series, or an expression over ``frame``)."""
    if isinstance(keys, pl.Series):
        frame, keys = pl.DataFrame({"_k": keys.cast(pl.String)}), pl.col("_k")
    assert frame is not None
    return frame.select(
        pl.lit(table).alias("table"), keys.cast(pl.String).alias("key"), pl.lit(field, pl.String).alias("field"),
        pl.lit(kind).alias("kind"), pl.lit(cause).alias("cause"), pl.lit(injected).alias("injected"),
    ).cast(BOOK_SCHEMA)  # fmt: skip


def _replace(frame: pl.DataFrame, key: str, column: str, new: pl.DataFrame) -> pl.DataFrame:
    """``column`` replaced by ``new[_new]`` where ``frame[key]`` is in ``new[key]`` (NULL allowed)."""
    hits = new.select(pl.col(key), pl.col("_new").cast(frame.schema[column]), pl.lit(True).alias("_hit"))
    return (
        frame.join(hits, on=key, how="left", maintain_order="left")
        .with_columns(pl.when(pl.col("_hit")).then(pl.col("_new")).otherwise(pl.col(column)).alias(column))
        .drop("_new", "_hit")
    )


def _hex_ids(rng: np.random.Generator, n: int, taken: pl.Series) -> pl.Series:
    """``n`` new ids in Blaze's 24-hex-digit form that collide with none of ``taken``."""
    taken_set = set(taken.to_list())
    out: list[str] = []
    while len(out) < n:
        hi, lo = rng.integers(0, 1 << 63, dtype=np.int64), rng.integers(0, 1 << 32, dtype=np.int64)
        candidate = f"{int(hi) | (1 << 62):016x}{int(lo):08x}"  # at most a few dozen: a loop over ids, not rows
        if candidate not in taken_set:
            taken_set.add(candidate)
            out.append(candidate)
    return pl.Series(out, dtype=pl.String)


# --- who is in the customers report ------------------------------------------------------------


@dataclass
class CustomerPlan:
    """Which members the customers report holds, and the legacy-only rows it adds."""

    survivors: pl.Series  # members a legacy duplicate was merged into (aligned with merged_ids)
    merged_ids: pl.Series
    repointed: pl.DataFrame  # transaction_id, survivor, dup
    orphan_members: pl.Series  # members an import missed, with transactions (their tx: orphans)
    skipped: pl.Series  # members an import missed, mostly without purchases
    deleted_ids: pl.Series


def plan_customers(sel: Selection, taken_ids: pl.Series, targets: Targets, inj: Injections, seed: int) -> CustomerPlan:
    """Choose merged, orphaned, skipped and deleted customers so the report has its target size."""
    per = sel.tx.group_by("customer_id").agg(pl.len().alias("n"), pl.col("transaction_id").sort_by("_processed").last().alias("last_tx"))
    members = sel.members["id"]
    counts = pl.DataFrame({"customer_id": members}).join(per, on="customer_id", how="left").with_columns(pl.col("n").fill_null(0))
    survivors = pick(rng_for(seed, "merged"), counts.filter(pl.col("n") >= 2)["customer_id"], inj.only_existing_merged, "only_existing_merged")
    orphans = pick(rng_for(seed, "orphans"), counts.filter((pl.col("n") >= 1) & ~pl.col("customer_id").is_in(survivors.implode()))["customer_id"], inj.orphan_members, "orphan_members")
    included = targets.customers - inj.only_existing_deleted - inj.only_existing_merged
    dropped = len(members) - included
    if dropped < inj.orphan_members:
        raise ConfigurationError(
            f"{len(members):,} members were created before the export; the customers report needs {included + inj.orphan_members:,} "
            f"of them ({targets.customers:,} rows less {inj.only_existing_deleted + inj.only_existing_merged} legacy-only, plus {inj.orphan_members} missed with orphans)",
            hint="use a preset with more members, a later export_date, or counts=",
        )
    buyers = sel.tx_before["customer_id"].unique()
    chosen = pl.concat([survivors, orphans])
    idle = counts.filter(~pl.col("customer_id").is_in(buyers.implode()) & ~pl.col("customer_id").is_in(chosen.implode()))["customer_id"]
    n_skip = dropped - inj.orphan_members
    rng = rng_for(seed, "skipped")
    skipped = pick(rng, idle, min(n_skip, idle.n_unique()), "skipped customers")
    if len(skipped) < n_skip:
        rest = counts.filter(~pl.col("customer_id").is_in(pl.concat([chosen, skipped]).implode()))["customer_id"]
        skipped = pl.concat([skipped, pick(rng, rest, n_skip - len(skipped), "skipped customers")])
    new_ids = _hex_ids(rng_for(seed, "fabricated_ids"), inj.only_existing_merged + inj.only_existing_deleted, taken_ids)
    merged_ids, deleted_ids = new_ids.head(inj.only_existing_merged), new_ids.tail(inj.only_existing_deleted)
    link = pl.DataFrame({"survivor": survivors, "dup": merged_ids})
    repointed = link.join(per.select(pl.col("customer_id").alias("survivor"), pl.col("last_tx").alias("transaction_id")), on="survivor")
    return CustomerPlan(survivors, merged_ids, repointed, orphans, skipped, deleted_ids)


def repoint(tx: pl.DataFrame, plan: CustomerPlan) -> pl.DataFrame:
    """Each merged duplicate's transaction points at the duplicate's id in the legacy."""
    return _replace(tx, "transaction_id", "customer_id", plan.repointed.select("transaction_id", pl.col("dup").alias("_new")))


def fabricated(plan: CustomerPlan, sel: Selection, tz: str, seed: int) -> pl.DataFrame:
    """The legacy-only customers: merged duplicates (copies of their survivor) and deleted members."""
    m = sel.members
    cols = [
        pl.concat_str([pl.col("firstName"), pl.col("lastName")], separator=" ", ignore_nulls=True).alias("name"),
        pl.col("primaryPhone").alias("phone"), pl.col("email"), pl.col("address.address").alias("street_address"),
        pl.col("address.city").alias("city"), pl.col("address.state").alias("state"), pl.col("address.zipCode").alias("zip_code"),
        pl.col("status").alias("customer_type"), pl.col("memberGroup.name").alias("member_group"),
        pl.col("marketingSource").alias("marketing_source"), local_date(pl.col("startDate"), tz).alias("date_joined"),
    ]  # fmt: skip
    dups = pl.DataFrame({"id": plan.survivors, "member_id": plan.merged_ids}).join(m, on="id", how="left", maintain_order="left").select(pl.col("member_id"), *cols)
    rng = rng_for(seed, "deleted")
    k = len(plan.deleted_ids)
    donors = m.sort("id").select(pl.all().gather(rng.choice(m.height, k, replace=True))) if k else m.head(0)
    digits = pl.Series((rng.choice([213, 310, 323, 424, 562, 626, 714, 818], k) * 10_000_000 + rng.integers(2_000_000, 9_999_999, k)).astype(str))
    deleted = donors.with_columns(pl.Series("member_id", plan.deleted_ids), pl.Series("_digits", digits)).select(
        pl.col("member_id"), *cols[:1], ("+1" + pl.col("_digits")).alias("phone"),
        pl.concat_str([pl.col("firstName").str.to_lowercase().str.replace_all(r"[^a-z]", ""), pl.lit("."), pl.col("_digits").str.slice(6), pl.lit("@example.com")]).alias("email"),
        *cols[3:],
    )  # fmt: skip
    return pl.concat([dups, deleted]).with_columns(pl.lit(0).alias("loyalty_points"))


def plan_book(plan: CustomerPlan, sel: Selection, stage_customers: pl.DataFrame, legacy_tx: pl.DataFrame) -> pl.DataFrame:
    """Bookkeeping of who is where: only_existing, only_blaze and orphan rows, re-pointed ids."""
    after = stage_customers.filter(~pl.col("member_id").is_in(sel.members["id"].implode()))["member_id"]
    orphan_tx = legacy_tx.filter(pl.col("customer_id").is_in(plan.orphan_members.implode()))
    skipped_tx = legacy_tx.filter(pl.col("customer_id").is_in(plan.skipped.implode()))
    return pl.concat([
        book("customers", plan.deleted_ids, None, "only_existing", "only_existing_deleted", True),
        book("customers", plan.merged_ids, None, "only_existing", "only_existing_merged", True),
        book("customers", plan.orphan_members, None, "only_blaze", "orphan_members", True),
        book("customers", plan.skipped, None, "only_blaze", "skipped_at_import", False),
        book("customers", after, None, "only_blaze", "joined_after_export", False),
        book("transactions", orphan_tx["transaction_id"], "customer_id", "orphan", "orphan_members", True),
        book("transactions", skipped_tx["transaction_id"], "customer_id", "orphan", "skipped_at_import", False),
        book("transactions", plan.repointed["transaction_id"], "customer_id", "real", "only_existing_merged", True),
    ])  # fmt: skip


# --- field injections --------------------------------------------------------------------------


def inject_customers(cust: pl.DataFrame, stage_customers: pl.DataFrame, inj: Injections, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Phones, e-mails, names and addresses changed as the export and later hands left them."""
    s = stage_customers.select("member_id", pl.col("name").alias("_sname"))
    c = cust.join(s, on="member_id", how="left", maintain_order="left")
    matched = c.filter(pl.col("member_id").is_in(s["member_id"].implode()))
    digits = normalise("phone", pl.col("phone"))
    valid = matched.with_columns(digits.alias("_d")).filter(pl.col("_d").str.len_chars() == 10)
    books = []

    # phones
    reformat = pick(rng_for(seed, "phone_reformatted"), valid.filter(pl.col("phone") != "+1" + pl.col("_d"))["member_id"], inj.phone_reformatted, "phone_reformatted")
    rng = rng_for(seed, "phone_changed")
    changed = pick(rng, valid.filter(~pl.col("member_id").is_in(reformat.implode()))["member_id"], inj.phone_changed, "phone_changed")
    line = pl.Series(rng.integers(2_000_000, 9_999_999, len(changed)), dtype=pl.Int64)
    new_phone = (
        pl.DataFrame({"member_id": changed, "_line": line}).join(valid.select("member_id", "_d"), on="member_id", how="left", maintain_order="left")
        .with_columns(pl.when(pl.col("_d").str.slice(3).cast(pl.Int64) == pl.col("_line")).then(pl.col("_line") + 1).otherwise(pl.col("_line")).alias("_line"))
        .select("member_id", ("+1" + pl.col("_d").str.slice(0, 3) + pl.col("_line").cast(pl.String)).alias("_new"))
    )  # fmt: skip
    c = _replace(c, "member_id", "phone", valid.filter(pl.col("member_id").is_in(reformat.implode())).select("member_id", ("+1" + pl.col("_d")).alias("_new")))
    c = _replace(c, "member_id", "phone", new_phone)
    books += [book("customers", reformat, "phone", "format_only", "phone_reformatted", True), book("customers", changed, "phone", "real", "phone_changed", True)]

    # e-mails
    has_mail = matched.filter(pl.col("email").is_not_null() & (pl.col("email").str.strip_chars() != "") & pl.col("email").str.contains("@"))
    e_changed = pick(rng_for(seed, "email_changed"), has_mail["member_id"], inj.email_changed, "email_changed")
    local, domain = pl.col("email").str.split("@").list.first(), pl.col("email").str.split("@").list.last().str.to_lowercase()
    moved = pl.concat_str([local.str.to_lowercase(), pl.when(domain == "yahoo.com").then(pl.lit("@aol.com")).otherwise(pl.lit("@yahoo.com"))])
    c = _replace(c, "member_id", "email", has_mail.filter(pl.col("member_id").is_in(e_changed.implode())).select("member_id", moved.alias("_new")))
    recased = pl.when(pl.col("email") != pl.col("email").str.to_lowercase()).then(pl.col("email").str.to_lowercase()).otherwise(pl.col("email").str.to_uppercase())
    case_pool = has_mail.filter(~pl.col("member_id").is_in(e_changed.implode()) & (recased != pl.col("email")))
    e_case = pick(rng_for(seed, "email_case"), case_pool["member_id"], inj.email_case, "email_case")
    c = _replace(c, "member_id", "email", case_pool.filter(pl.col("member_id").is_in(e_case.implode())).select("member_id", recased.alias("_new")))
    blank_pool = has_mail.filter(~pl.col("member_id").is_in(pl.concat([e_changed, e_case]).implode()))["member_id"]
    e_blank = pick(rng_for(seed, "email_blanked"), blank_pool, inj.email_blanked, "email_blanked")
    c = _replace(c, "member_id", "email", pl.DataFrame({"member_id": e_blank, "_new": pl.Series([None] * len(e_blank), dtype=pl.String)}))
    books += [
        book("customers", e_changed, "email", "real", "email_changed", True),
        book("customers", e_case, "email", "format_only", "email_case", True),
        book("customers", e_blank, "email", "missing_in_existing", "email_blanked", True),
    ]

    # names: only where the printed name is exactly Blaze's (no stray blank of its own)
    rng = rng_for(seed, "name_case_spacing")
    n_pool = matched.filter((pl.col("name") == pl.col("_sname")) & pl.col("name").str.contains(" "))
    names = pick(rng, n_pool["member_id"], inj.name_case_spacing, "name_case_spacing")
    coin = pl.Series(rng.random(len(names)) < 0.5)
    lower = pl.col("name").str.to_lowercase()
    varied = pl.when(pl.col("_coin") & (lower != pl.col("name"))).then(lower).otherwise(pl.col("name").str.replace(" ", "  ", literal=True, n=1))
    c = _replace(c, "member_id", "name", pl.DataFrame({"member_id": names, "_coin": coin}).join(n_pool.select("member_id", "name"), on="member_id", maintain_order="left").select("member_id", varied.alias("_new")))
    books.append(book("customers", names, "name", "format_only", "name_case_spacing", True))

    # a street address typed in where Blaze has none
    rng = rng_for(seed, "street_filled")
    empty = matched.filter(pl.col("street_address").is_null() | (pl.col("street_address") == ""))["member_id"]
    streets = pick(rng, empty, inj.street_filled, "street_filled")
    pool = matched.filter(pl.col("street_address") != "")["street_address"].unique().sort()
    typed = pool.gather(rng.integers(0, max(len(pool), 1), len(streets))) if len(pool) else pl.Series(["1 Main St"] * len(streets))
    c = _replace(c, "member_id", "street_address", pl.DataFrame({"member_id": streets, "_new": typed}))
    books.append(book("customers", streets, "street_address", "missing_in_blaze", "street_filled", True))

    # natural: the report printed the raw first + ' ' + last (a stray blank stays)
    raw = matched.filter((pl.col("name") != pl.col("_sname")) & ~pl.col("member_id").is_in(names.implode()))["member_id"]
    books.append(book("customers", raw, "name", "format_only", "name_printed_raw", False))
    return c.drop("_sname"), pl.concat(books)


def inject_transactions(tx: pl.DataFrame, inj: Injections, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A decimal slip in a few totals; trailing blanks in a few printed staff names."""
    typos = pick(rng_for(seed, "total_amount_typo"), tx.filter(pl.col("total_amount") > 0)["transaction_id"], inj.total_amount_typo, "total_amount_typo")
    tx = _replace(tx, "transaction_id", "total_amount", tx.filter(pl.col("transaction_id").is_in(typos.implode())).select("transaction_id", (pl.col("total_amount") * 10).alias("_new")))
    padded = pick(rng_for(seed, "staff_name_padded"), tx.filter(pl.col("staff_name").is_not_null() & (pl.col("staff_name") != ""))["transaction_id"], inj.staff_name_padded, "staff_name_padded")
    tx = _replace(tx, "transaction_id", "staff_name", tx.filter(pl.col("transaction_id").is_in(padded.implode())).select("transaction_id", (pl.col("staff_name") + " ").alias("_new")))
    return tx, pl.concat([
        book("transactions", typos, "total_amount", "real", "total_amount_typo", True),
        book("transactions", padded, "staff_name", "format_only", "staff_name_padded", True),
    ])  # fmt: skip


def item_keys(frame: pl.DataFrame) -> pl.Series:
    """The compare's key text of each item line: ``tx|product``, ``tx|product#n`` for the n-th
    line with the same key (in frame order)."""
    joined = pl.concat_str([pl.col("transaction_id").fill_null("∅"), pl.col("product_id").fill_null("∅")], separator="|")
    pos = positions(frame, ["transaction_id", "product_id"])
    return frame.select(pl.when(pos > 0).then(pl.concat_str([joined, (pos + 1).cast(pl.String)], separator="#")).otherwise(joined)).to_series().alias("_key")


def inject_items(items: pl.DataFrame, blaze_items: pl.DataFrame, inj: Injections, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """NULL product ids in the oldest item imports (one line per transaction at most).

    ``items`` is the staging-shaped item window (``item_id`` kept); returns it with the chosen
    lines' ``product_id`` set to NULL, and the bookkeeping of both sides of each such line.
    """
    repeated = blaze_items.filter(pl.struct("transaction_id", "product_id").is_duplicated()).select("transaction_id", "product_id").unique()
    oldest = items.head(max(items.height // 4, inj.null_product_id * 4))
    pool = oldest.join(repeated, on=["transaction_id", "product_id"], how="anti").unique("transaction_id", keep="first", maintain_order=True)
    chosen = pick(rng_for(seed, "null_product_id"), pool["item_id"], inj.null_product_id, "null_product_id")
    hit = pl.col("item_id").is_in(chosen.implode())
    lines = items.filter(hit)
    out = items.with_columns(pl.when(hit).then(None).otherwise(pl.col("product_id")).alias("product_id"))
    return out, pl.concat([
        book("transaction_items", pl.col("transaction_id") + "|∅", None, "only_existing", "null_product_id", True, lines),
        book("transaction_items", pl.col("transaction_id") + "|" + pl.col("product_id"), None, "only_blaze", "null_product_id_counterpart", False, lines),
    ])  # fmt: skip


__all__ = ["BOOK_SCHEMA", "CustomerPlan", "book", "fabricated", "inject_customers", "inject_items", "inject_transactions", "item_keys", "plan_book", "plan_customers", "repoint"]
