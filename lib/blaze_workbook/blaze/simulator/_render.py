"""Rendering dispatcher, the small entities (vendors, terminals, categories, brands, employees,
loyalty activity) and ``/store``. Members and products live in ``_render_records``, transactions in
``_render_tx``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _words as W
from ._gen_sales import ACTIVITY_TYPES
from ._generate import World
from ._parts import S3, address, asset, uuid
from ._render_records import category, render_members, render_products
from ._render_tx import render_transactions, terminal_of
from ._table import id_str, sub_id

VENDOR_TYPES = ("CUSTOMER", "VENDOR", "BOTH")
#: ids of the employee roles
ROLE_IDS = tuple(f"60d0be11{k:04d}ffee00c0de{k:02d}" for k in range(len(W.EMPLOYEE_ROLES)))


def _id(t, r: int) -> str:
    return id_str(int(t["hi"][r]), int(t["lo"][r]))


def render_vendors(w: World, rows: np.ndarray) -> list[dict]:
    v, co = w.vendors, w.shop.company_id
    brand_vendor = w.brands["vendor"]
    out = []
    for r in rows.tolist():
        hi, lo = int(v["hi"][r]), int(v["lo"][r])
        rid = id_str(hi, lo)
        created, modified = int(v["created"][r]), int(v["modified"][r])
        city, prefix = W.CITIES[int(v["city"][r])]
        brands = np.nonzero(brand_vendor == r)[0].tolist()
        out.append({
            "id": rid, "created": created, "modified": modified, "deleted": False, "updated": False,
            "companyId": co, "importId": None, "active": bool(v["active"][r]), "name": v["name"][r],
            "phone": v["phone"][r], "email": v["email"][r], "fax": "", "website": "", "firstName": "",
            "lastName": "", "description": "",
            "address": address(sub_id(rid, 1), created, co, v["street"][r], city, "CA", f"{prefix}{lo % 100:02d}"),
            "notes": [], "licenseNumber": v["license"][r], "licenseExpirationDate": modified + 300 * 86_400_000,
            "assets": [], "backOrderEnabled": False, "armsLengthType": "ARMS_LENGTH",
            "brands": [_id(w.brands, b) for b in brands], "companyType": "DISTRIBUTOR",
            "vendorType": VENDOR_TYPES[int(v["vtype"][r])], "credits": 0.0, "mobileNumber": "",
            "relatedEntity": False, "vendorKey": None, "externalId": None, "qbVendorRef": None,
        })
    return out


def render_terminals(w: World, rows: np.ndarray) -> list[dict]:
    return [terminal_of(w, r) for r in rows.tolist()]


def render_categories(w: World, rows: np.ndarray) -> list[dict]:
    return [category(w, r) for r in rows.tolist()]


def render_brands(w: World, rows: np.ndarray) -> list[dict]:
    b, co = w.brands, w.shop.company_id
    out = []
    for r in rows.tolist():
        rid = _id(b, r)
        created, modified = int(b["created"][r]), int(b["modified"][r])
        vendor = int(b["vendor"][r])
        vid = _id(w.vendors, vendor)
        out.append({
            "id": rid, "created": created, "modified": modified, "deleted": False, "updated": False,
            "companyId": co, "name": b["name"][r], "active": bool(b["active"][r]), "website": b["website"][r],
            "phoneNo": "", "brandLogo": asset(sub_id(rid, 1), created, co, "logo.png", f"{uuid(rid)}.png"),
            "vendorList": [vid], "externalId": None, "platformBrandId": None, "globalBrandId": None,
            "default": False, "vendors": [{"id": vid, "name": w.vendors["name"][vendor]}],
        })
    return out


def render_employees(w: World, rows: np.ndarray) -> list[dict]:
    e, co, sh = w.employees, w.shop.company_id, w.shop.shop_id
    out = []
    for r in rows.tolist():
        rid = _id(e, r)
        role_id = ROLE_IDS[int(e["role"][r])]
        role = W.EMPLOYEE_ROLES[int(e["role"][r])]
        term = r % max(len(w.terminals), 1)
        out.append({
            "id": rid, "created": int(e["created"][r]), "modified": int(e["modified"][r]),
            "deleted": False, "updated": False, "companyId": co, "firstName": e["first"][r],
            "lastName": e["last"][r], "pin": e["pin"][r], "roleId": role_id,
            "email": e["email"][r], "password": f"$2a$10${sub_id(rid, 1)}{sub_id(rid, 2)}{uuid(rid)[:5]}",
            "driver": bool(e["driver"][r]), "shops": [sh], "phoneNumber": e["phone"][r],
            "assignedInventoryId": _id(w.inventories, 1 % len(w.inventories)),
            "assignedTerminalId": _id(w.terminals, term) if len(w.terminals) else None,
            "disabled": bool(e["disabled"][r]), "dlExpirationDate": None, "vehicleMake": None,
            "vehicleModel": None, "vehicleLicensePlate": None, "vinNo": None, "insuranceExpireDate": 0,
            "registrationExpireDate": 0, "timecardId": None, "appAccessList": ["AuthenticationApp", "Retail"],
            "role": {"id": role_id, "created": 0, "modified": 0, "deleted": False,
                     "updated": False, "companyId": co, "name": role, "permissions": ["iPadAccess", "WebAccess"]},
            "externalId": None,
        })
    return out


def render_loyalty(w: World, rows: np.ndarray) -> list[dict]:
    a, co, sh = w.loyalty, w.shop.company_id, w.shop.shop_id
    cols = [a.take(c, rows) for c in ("hi", "lo", "member", "tx", "kind", "date")]
    amount = (a["amount"][rows] / 100).tolist()
    out = []
    for i, (hi, lo, member, tx, kind, date) in enumerate(zip(*cols)):
        out.append({
            "id": id_str(hi, lo), "created": date, "modified": date, "deleted": False, "updated": False,
            "companyId": co, "shopId": sh, "memberId": _id(w.members, member),
            "activityType": ACTIVITY_TYPES[kind], "amount": amount[i], "activityDate": date,
            "transactionId": _id(w.tx, tx), "transNo": str(int(w.tx["trans_no"][tx])),
            "employeeId": _id(w.employees, int(w.tx["seller"][tx])), "notes": "", "rewardId": None,
        })
    return out


RENDERERS: dict[str, Callable[[World, np.ndarray], list[dict]]] = {
    "members": render_members, "transactions": render_transactions, "products": render_products,
    "products_modified": render_products, "vendors": render_vendors, "terminals": render_terminals,
    "categories": render_categories, "brands": render_brands, "employees": render_employees,
    "loyalty_activity": render_loyalty,
}


def render(w: World, entity: str, rows: np.ndarray) -> list[dict]:
    """The records of ``entity`` at table ``rows``, in that order."""
    return RENDERERS[entity](w, np.asarray(rows, dtype=np.int64))


def store(w: World) -> dict:
    s, co = w.shop, w.shop.company_id
    sid = s.shop_id
    return {
        "shop": {
            "id": sid, "created": s.created, "modified": s.created + 86_400_000, "deleted": False, "updated": False,
            "companyId": co, "name": s.name, "shopType": "Both", "active": True, "license": s.license,
            "address": address(sub_id(sid, 1), s.created, co,
                               "1200 SUNSET BLVD", "Los Angeles", "CA", "90026"),
            "phoneNumber": "(213) 555-0142", "emailAdress": "hello@shop.example.com",
            "timeZone": w.tz, "timezoneOffsetInMinutes": -480, "defaultCountry": "US",
            "enableDeliveryFee": False, "enableCreditCardFee": True, "taxRoundOffType": "NEAREST_DOLLAR",
            "enableLoyalty": True, "loyaltyAccrueRate": 5.0, "showWalkInQueue": True, "snapshopTime": 0,
            "logo": asset(sub_id(sid, 2), s.created, co, "logo.png", "shop-logo.png"),
        },
        "contract": {"id": sub_id(sid, 3), "created": s.created, "modified": s.created,
                     "deleted": False, "updated": False, "companyId": co, "shopId": sid, "name": "Membership Agreement",
                     "active": True, "version": 3, "required": True, "enableWitnessSignature": False},
        "toleranceMap": {"GRAM": 0.02, "EIGHTH": 0.1, "QUARTER": 0.2, "HALF": 0.3, "OUNCE": 0.5},
        "companyLogoURL": f"{S3}company-logo.png",
    }
