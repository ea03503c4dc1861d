"""The field mapping of ``CONTRACTS.md`` §3, as data: the one place it is written down.

From these tables come the Phase-1 DDL (new legacy columns, staging tables), the sync
decoders, the compare's field list, the cutover SQL and the docs table. Nothing else may
restate a Blaze field name or a staging column type.

A :class:`Column` names its staging column, its Postgres type, where its value comes from in
a Blaze record (``source``: a dotted JSON path, or several alternatives tried in order), how
the value is converted (``kind``) and which column of the existing (legacy) table holds the
report's value for the same fact (``legacy``), if any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: how a Blaze value becomes a staging value
Kind = Literal[
    "text",  # stored as Blaze sends it ('' stays '' or NULL)
    "name",  # firstName + ' ' + lastName, trimmed, single spaces
    "money",  # numeric, exact (Decimal), 2 decimals as sent
    "numeric",  # numeric, exact (quantities, points, potency)
    "bool",
    "epoch_ms",  # epoch milliseconds -> timestamptz (UTC)
    "local_date",  # epoch milliseconds -> calendar date in the shop's time zone
    "lookup",  # resolved through a look-up table (employees, shop, vendors, categories, brands)
]

PgType = Literal["text", "numeric", "boolean", "date", "timestamptz", "integer"]

_PG_TYPE: dict[str, PgType] = {
    "text": "text",
    "name": "text",
    "money": "numeric",
    "numeric": "numeric",
    "bool": "boolean",
    "epoch_ms": "timestamptz",
    "local_date": "date",
    "lookup": "text",
}


@dataclass(frozen=True)
class Column:
    """One staging column and where its value comes from."""

    name: str
    source: tuple[str, ...]
    kind: Kind = "text"
    legacy: str | None = None
    #: for ``lookup``: "<lookup table>.<id field in the record>"; for ``name``: ignored
    lookup: str | None = None
    doc: str = ""

    @property
    def pg_type(self) -> PgType:
        return _PG_TYPE[self.kind]


@dataclass(frozen=True)
class NewColumn:
    """A nullable column 01_setup adds to an existing table, filled from a staging column."""

    name: str
    pg_type: PgType
    staging: str


@dataclass(frozen=True)
class Table:
    """An existing table, its Blaze entity and its staging table."""

    legacy: str
    staging: str
    key: str
    legacy_key: str
    entity: str
    endpoint: str
    columns: tuple[Column, ...]
    new_columns: tuple[NewColumn, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.staging} has no column {name!r}; columns: {[c.name for c in self.columns]}")

    @property
    def compared(self) -> tuple[Column, ...]:
        """Columns with a counterpart in the existing table (the compare's fields)."""
        return tuple(c for c in self.columns if c.legacy is not None and c.name != self.key)


def c(name: str, *source: str, kind: Kind = "text", legacy: str | None | bool = True, lookup: str | None = None, doc: str = "") -> Column:
    """Shorthand: ``legacy=True`` means the existing table has a column of the same name."""
    return Column(
        name=name,
        source=source,
        kind=kind,
        legacy=name if legacy is True else (legacy or None),
        lookup=lookup,
        doc=doc,
    )


CUSTOMERS = Table(
    legacy="customers",
    staging="customers_blaze_staging",
    key="member_id",
    legacy_key="member_id",
    entity="members",
    endpoint="/members",
    columns=(
        c("member_id", "id"),
        c("name", "firstName", "lastName", kind="name", doc="firstName + ' ' + lastName, trimmed, single spaces"),
        c("phone", "primaryPhone"),
        c("email", "email"),
        c("street_address", "address.address"),
        c("city", "address.city"),
        c("state", "address.state"),
        c("zip_code", "address.zipCode"),
        c("last_visited", "lastVisitDate", kind="local_date", doc="as a date in the shop's time zone"),
        c("loyalty_points", "loyaltyPoints", kind="numeric"),
        c("customer_type", "status"),
        c("is_medical", "medical", kind="bool", legacy=False),
        c("text_opt_in", "textOptIn", kind="bool", legacy=False),
        c("email_opt_in", "emailOptIn", kind="bool", legacy=False),
        c("member_group", "memberGroup.name"),
        c("date_joined", "startDate", kind="local_date"),
        c("blaze_created", "created", kind="epoch_ms", legacy=False),
        c("blaze_modified", "modified", kind="epoch_ms", legacy=False),
        c("deleted", "deleted", kind="bool", legacy=False),
    ),
    new_columns=(
        NewColumn("is_medical", "boolean", "is_medical"),
        NewColumn("text_opt_in", "boolean", "text_opt_in"),
        NewColumn("email_opt_in", "boolean", "email_opt_in"),
        NewColumn("blaze_created", "timestamptz", "blaze_created"),
        NewColumn("blaze_modified", "timestamptz", "blaze_modified"),
    ),
)

TRANSACTIONS = Table(
    legacy="transactions",
    staging="transactions_blaze_staging",
    key="transaction_id",
    legacy_key="transaction_id",
    entity="transactions",
    endpoint="/transactions",
    columns=(
        c("transaction_id", "id"),
        c("customer_id", "memberId"),
        c("date", "completedTime", "endTime", "startTime", kind="epoch_ms", doc="completedTime, else endTime, else startTime"),
        c("shop_id", "shopId", legacy=False),
        c("shop_location", "shopId", kind="lookup", lookup="shop.name", doc="shop name from /store when resolvable"),
        c("seller_id", "sellerId", legacy=False),
        c("staff_name", "sellerId", kind="lookup", lookup="employees.name", doc="employee name from /employees when resolvable"),
        c("terminal", "terminalId"),
        c("payment_type", "cart.paymentOption"),
        c("total_amount", "cart.total", kind="money"),
        c("total_tax", "cart.totalCalcTax", kind="money", doc="not cart.tax, which is a rate"),
        c("discounts", "cart.totalDiscount", kind="money"),
        c("loyalty_points_earned", "pointsEarned", kind="numeric"),
        c("loyalty_points_spent", "cart.pointSpent", kind="numeric"),
        c("blaze_status", "status", legacy=False),
        c("trans_type", "transType", legacy=False),
        c("blaze_created", "created", kind="epoch_ms", legacy=False),
        c("blaze_modified", "modified", kind="epoch_ms", legacy=False),
        c("start_time", "startTime", kind="epoch_ms", legacy=False),
        c("end_time", "endTime", kind="epoch_ms", legacy=False),
        c("completed_time", "completedTime", kind="epoch_ms", legacy=False),
    ),
    new_columns=(
        NewColumn("blaze_status", "text", "blaze_status"),
        NewColumn("trans_type", "text", "trans_type"),
        NewColumn("blaze_created", "timestamptz", "blaze_created"),
        NewColumn("blaze_modified", "timestamptz", "blaze_modified"),
        NewColumn("start_time", "timestamptz", "start_time"),
        NewColumn("end_time", "timestamptz", "end_time"),
        NewColumn("completed_time", "timestamptz", "completed_time"),
    ),
)

TRANSACTION_ITEMS = Table(
    legacy="transaction_items",
    staging="transaction_items_blaze_staging",
    key="item_id",
    legacy_key="id",
    entity="transactions",
    endpoint="/transactions",
    columns=(
        c("item_id", "id", legacy=False, doc="OrderItem.id"),
        c("transaction_id", "$parent.id", doc="the parent Transaction.id"),
        c("product_id", "productId"),
        c("product_sku", "productSku"),
        c("product_name", "productName"),
        c("brand", "brandName"),
        c("category", "categoryName"),
        c("quantity", "quantity", kind="numeric"),
        c("unit_price", "unitPrice", kind="money"),
        c("total_price", "finalPrice", kind="money"),
        c("discount", "discount", kind="money", legacy=False),
        c("discount_type", "discountType", legacy=False),
        c("tax", "calcTax", kind="money", legacy=False),
        c("weight_per_unit", "weightPerUnit", legacy=False),
        c("item_status", "status", legacy=False),
    ),
    new_columns=(
        NewColumn("discount", "numeric", "discount"),
        NewColumn("discount_type", "text", "discount_type"),
        NewColumn("tax", "numeric", "tax"),
    ),
)

PRODUCTS = Table(
    legacy="products",
    staging="products_blaze_staging",
    key="product_id",
    legacy_key="product_id",
    entity="products",
    endpoint="/products/modified",
    columns=(
        c("product_id", "id"),
        c("sku", "sku"),
        c("name", "name"),
        c("brand", "brandName", kind="lookup", lookup="brands.brandId", doc="brandName, else the brand look-up"),
        c("category", "category.name", kind="lookup", lookup="categories.categoryId", doc="category.name, else the category look-up by categoryId"),
        c("vendor", "vendorId"),
        c("vendor_name", "vendorId", kind="lookup", lookup="vendors.name", legacy=False, doc="vendor look-up"),
        c("retail_price", "unitPrice", kind="money"),
        c("is_active", "active", kind="bool"),
        c("thc_content", "thc", kind="numeric"),
        c("cbd_content", "cbd", kind="numeric"),
        c("thca", "thca", kind="numeric", legacy=False),
        c("cbda", "cbda", kind="numeric", legacy=False),
        c("cbg", "cbg", kind="numeric", legacy=False),
        c("description", "description", legacy=False),
        c("weight_per_unit", "weightPerUnit", legacy=False),
        c("unit_value", "unitValue", kind="numeric", legacy=False),
        c("flower_type", "flowerType"),
        c("image_url", "assets[0].publicURL"),
        c("blaze_created", "created", kind="epoch_ms", legacy=False),
        c("blaze_modified", "modified", kind="epoch_ms", legacy=False),
        c("deleted", "deleted", kind="bool", legacy=False),
    ),
    new_columns=(
        NewColumn("thca", "numeric", "thca"),
        NewColumn("cbda", "numeric", "cbda"),
        NewColumn("cbg", "numeric", "cbg"),
        NewColumn("description", "text", "description"),
        NewColumn("weight_per_unit", "text", "weight_per_unit"),
        NewColumn("unit_value", "numeric", "unit_value"),
        NewColumn("blaze_created", "timestamptz", "blaze_created"),
        NewColumn("blaze_modified", "timestamptz", "blaze_modified"),
        NewColumn("image_url", "text", "image_url"),
    ),
)

TABLES: tuple[Table, ...] = (CUSTOMERS, TRANSACTIONS, TRANSACTION_ITEMS, PRODUCTS)
BY_LEGACY: dict[str, Table] = {t.legacy: t for t in TABLES}


def table(name: str) -> Table:
    """A mapped table by its legacy or staging name; an unknown name lists the valid ones."""
    for t in TABLES:
        if name in (t.legacy, t.staging):
            return t
    from .errors import ConfigurationError

    raise ConfigurationError(f"unknown table {name!r}; valid: {', '.join(t.legacy for t in TABLES)}")


#: derived customer fields of CONTRACTS.md §3: computed by the view ``customers_blaze_metrics``,
#: never stored by sync; name -> Postgres type
DERIVED_FIELDS: dict[str, PgType] = {
    "total_visits": "integer",
    "total_sales": "integer",
    "total_refunds": "integer",
    "gross_sales": "numeric",
    "gross_refunds": "numeric",
    "lifetime_value": "numeric",
    "avg_sale_value": "numeric",
    "last_visited": "date",
    "days_since_last_visit": "integer",
    "vip_status": "text",
    "churn_risk": "text",
}
METRICS_VIEW = "customers_blaze_metrics"
