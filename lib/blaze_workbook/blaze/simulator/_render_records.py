"""Rendering of members and products (and their categories and groups) to the real JSON shape.

A renderer gathers the page's rows from every column it needs in one vectorised ``take`` and builds
each record from a template clone (``_templates``) in the key order of ``shared/blaze/samples``,
setting the keys that vary. Money is cents / 100 (a float whose shortest repr has at most 2
decimals).
"""

from __future__ import annotations

import base64

import numpy as np

from . import _words as W
from ._gen_members import CONSUMER_TYPES, STATUSES
from ._generate import World
from ._days import iso_day
from ._parts import S3, address, asset, tax_table, uuid
from ._table import id_str, sub_id
from ._templates import new_category, new_member, new_product
from ._time import DAY_MS as DAY

PRICE_BREAKS = ("OneGramUnit", "TwoGramUnits", "ThreeGramUnits", "FourGramUnits", "FiveGramUnits",
                "SixGramUnits", "SevenGramUnits", "EightGramUnits")
#: ids of the shop's weight tolerances (one per tier)
TOLERANCE_IDS = tuple(f"5c0ffee0{k:04d}aa11bb22cc{k:02d}" for k in range(6))
WEIGHT_TIERS = (("1 Gram", 1.0, "GRAM"), ("2 Grams", 2.0, "TWO_GRAMS"), ("1/8th", 3.5, "EIGHTH"),
                ("1/4th", 7.0, "QUARTER"), ("1/2 Oz", 14.0, "HALF"), ("1 Oz", 28.0, "OUNCE"))


def product_asset_url(rid: str, k: int = 0) -> str:
    """``publicURL`` of the ``k``-th asset of the product whose id is ``rid``."""
    return f"{S3}{uuid(rid, k)}.jpg"


def _ids(t, rows: np.ndarray) -> list[str]:
    return [id_str(h, l) for h, l in zip(t.take("hi", rows), t.take("lo", rows))]


def _money(t, name: str, rows: np.ndarray) -> list[float]:
    return (t[name][rows] / 100).tolist()


def _pct(t, name: str, rows: np.ndarray) -> list[float | None]:
    col = t[name][rows]
    return [None if v < 0 else v / 100 for v in col.tolist()]


def member_group(w: World, g: int) -> dict:
    gr = w.groups
    rid = id_str(int(gr["hi"][g]), int(gr["lo"][g]))
    name, discount, default = W.MEMBER_GROUPS[g]
    return {
        "id": rid, "created": int(gr["created"][g]), "modified": int(gr["modified"][g]),
        "deleted": False, "updated": False, "companyId": w.shop.company_id, "shopId": w.shop.shop_id,
        "dirty": False, "name": name, "discount": discount / 100, "defaultGroup": default, "active": True,
        "memberCount": int(gr["count"][g]), "memberCountTextOptIn": int(gr["count"][g]) // 4,
        "memberCountEmailOptIn": int(gr["count"][g]) * 2 // 3, "discountType": "Percentage",
        "enablePromotion": False, "promotionId": sub_id(rid, 1) if default else None,
        "promotionShopMap": {w.shop.shop_id: sub_id(rid, 2)} if default else {},
    }


def _member_note(rid: str, co: str, start: int) -> dict:
    return {"id": sub_id(rid, 3), "created": start, "modified": start, "deleted": False, "updated": False,
            "companyId": co, "writerId": None, "writerName": "Front Desk",
            "message": "Prefers text reminders. Verified ID at first visit.", "enableOnFleet": False}


def _member_contract(rid: str, co: str, start: int, contract: str) -> dict:
    return {"id": sub_id(rid, 4), "created": start, "modified": start, "deleted": False, "updated": False,
            "companyId": co, "contractId": contract, "signedDate": start, "membershipId": rid,
            "signaturePhoto": asset(sub_id(rid, 5), start, co, "signature.png", f"{uuid(rid, 2)}.png", full=False)}


def _member_id_card(rid: str, co: str, start: int, lic: str, expires: int, verified: bool, photo: bool,
                    typed: bool) -> dict:
    return {"id": sub_id(rid, 6), "created": 0, "modified": 0, "deleted": False, "updated": False,
            "companyId": co, "verified": verified, "licenseNumber": lic, "expirationDate": expires,
            "localExpirationDate": iso_day(expires // DAY),
            "frontPhoto": asset(sub_id(rid, 7), start, co, "id-front.jpg", f"{uuid(rid, 1)}.jpg") if photo else None,
            "assets": [], "state": "CA", "type": "Drivers License" if typed else None}


_MEMBER_COLS = ("hi", "lo", "created", "modified", "deleted", "first", "last", "street", "city", "zip", "email",
                "dob", "phone", "text_opt", "email_opt", "medical", "sex", "status", "license", "lic_exp",
                "last_visit", "start", "group", "marketing", "consumer")


def render_members(w: World, rows: np.ndarray) -> list[dict]:
    m, co, sh, now = w.members, w.shop.company_id, w.shop.shop_id, w.now_ms
    cols = [m.take(c, rows) for c in _MEMBER_COLS]
    names, n_prod = w.products["name"], len(w.products)
    contract = sub_id(sh, 9)
    groups: dict[int, dict] = {}
    out = []
    for (hi, lo, created, modified, deleted, first, last, street, city, zip_code, email, dob, phone, text_opt,
         email_opt, medical, sex, status, lic, lic_exp, last_visit, start, group, marketing, consumer, loyalty,
         lifetime) in zip(*cols, _money(m, "loyalty", rows), _money(m, "lifetime", rows)):
        city_name = W.CITIES[city][0]
        birth = iso_day(dob // DAY)
        rid = f"{hi:016x}{lo:08x}"
        addr_id, ts = sub_id(rid, 0), created - 4
        if group not in groups:
            groups[group] = member_group(w, group)
        d = new_member()
        d["id"], d["created"], d["modified"], d["deleted"] = rid, created, modified, deleted
        d["companyId"], d["shopId"], d["firstName"], d["lastName"] = co, sh, first, last
        d["address"] = address(addr_id, ts, None, street, city_name, "CA", zip_code)
        d["uppercaseCity"], d["email"], d["dob"] = city_name.upper(), email, dob
        d["birthdate"] = d["localDob"] = birth
        d["primaryPhone"], d["textOptIn"], d["emailOptIn"], d["medical"] = phone, text_opt, email_opt, medical
        d["searchText"] = f"{first} {last} {phone} {email}".lower()
        d["sex"], d["status"] = sex, STATUSES[status]
        if hi % 3 == 0:
            d["notes"] = [_member_note(rid, co, start)]
        d["contracts"] = [_member_contract(rid, co, start, contract)]
        d["identifications"] = [_member_id_card(rid, co, start, lic, lic_exp, medical, bool(hi % 2), bool(hi % 5))]
        d["lastVisitDate"] = None if last_visit < 0 else last_visit
        d["startDate"], d["memberGroupId"] = start, groups[group]["id"]
        d["memberGroup"] = dict(groups[group], promotionShopMap=dict(groups[group]["promotionShopMap"]))
        d["recentProducts"] = [names[(hi >> (5 * k)) % n_prod] for k in range(hi % 7)]
        d["dlExpired"], d["recommendationExpired"] = lic_exp < now, not medical
        d["emailVerified"] = bool(email) and hi % 4 == 0
        d["marketingSource"], d["consumerType"] = marketing, CONSUMER_TYPES[consumer]
        d["loyaltyPoints"], d["lifetimePoints"] = loyalty, lifetime
        if street:
            d["addresses"] = [address(addr_id, ts, None, street, city_name, "CA", zip_code)]
        d["referralCode"] = f"REF{lo % 1_000_000:06d}"
        out.append(d)
    return out


def category(w: World, c: int) -> dict:
    cats, co, sh = w.categories, w.shop.company_id, w.shop.shop_id
    rid = id_str(int(cats["hi"][c]), int(cats["lo"][c]))
    name, unit, cannabis, ctype, wm = W.CATEGORIES[int(cats["cat"][c])]
    created, modified = int(cats["created"][c]), int(cats["modified"][c])
    d = new_category()
    d["id"] = rid
    d["created"] = created
    d["modified"] = modified
    d["deleted"] = bool(cats["deleted"][c])
    d["companyId"] = co
    d["shopId"] = sh
    d["name"] = name
    d["cannabis"] = cannabis
    d["photo"] = asset(sub_id(rid, 1), created, co, f"{name.lower().replace(' ', '-')}-300x167.jpg",
                       f"{uuid(rid)}.jpg", full=False)
    d["active"] = bool(cats["active"][c])
    d["unitType"] = unit
    d["cannabisType"] = ctype
    d["complianceId"] = sub_id(rid, 2)
    d["topLevelCategoryId"] = sub_id(rid, 3)
    d["wmCategory"] = wm
    d["wmCategoryName"] = name
    d["priority"] = int(cats["priority"][c])
    d["giftCard"] = name == "Gift Cards"
    return d


def _price_breaks(rid: str, ts: int, co: str, price: float, n_active: int, gram: bool) -> list[dict]:
    unit = "gram" if gram else "each"
    return [{
        "id": sub_id(rid, 10 + k), "created": ts, "modified": ts, "deleted": False, "updated": False,
        "companyId": co, "priceBreakType": PRICE_BREAKS[k], "name": f"{k + 1} {unit}", "displayName": None,
        "price": round(price * (k + 1), 2) if k < n_active else None, "quantity": k + 1, "active": k < n_active,
        "priority": 0, "salePrice": None, "assignedPrice": round(price * (k + 1), 2) if k < n_active else 0,
    } for k in range(8)]


def _price_ranges(rid: str, ts: int, co: str, price: float) -> list[dict]:
    return [{
        "id": sub_id(rid, 20 + k), "created": ts, "modified": ts, "deleted": False, "updated": False,
        "companyId": co, "weightToleranceId": TOLERANCE_IDS[k], "price": round(price * grams * (1 - 0.03 * k), 2),
        "priority": k, "salePrice": None, "weightTolerance": {
            "id": TOLERANCE_IDS[k], "created": 0, "modified": 0, "deleted": False, "updated": False,
            "companyId": co, "name": name, "startWeight": grams, "endWeight": grams, "unitValue": grams,
            "weightValue": grams, "weightKey": key, "priority": k, "enabled": True}}
        for k, (name, grams, key) in enumerate(WEIGHT_TIERS)]


def _brand(name: str | None, ts: int) -> dict:
    """The nested brand of a product, as Blaze serves it: id and companyId null, name set."""
    logo = {"id": None, "created": ts, "modified": ts, "deleted": False, "updated": False, "companyId": None,
            "name": None, "key": None, "type": None, "publicURL": None, "active": False, "priority": 0,
            "secured": True, "thumbURL": None, "mediumURL": None, "largeURL": None, "largeX2URL": None,
            "origURL": None, "platformFileUrl": None, "assetType": None}
    return {"id": None, "created": ts, "modified": ts, "deleted": False, "updated": False, "companyId": None,
            "name": name, "active": None, "website": None, "phoneNo": None, "brandLogo": logo, "vendorList": [],
            "externalId": None, "platformBrandId": None, "globalBrandId": None, "default": False}


def _potency(thc: float | None, cbd: float | None, thca: float | None, cbda: float | None, cbg: float | None) -> dict:
    return {"thc": thc or 0.0, "cbd": cbd or 0.0, "cbn": 0.0, "thca": thca or 0.0, "cbda": cbda or 0.0,
            "cbg": cbg or 0.0, "maxThc": None, "maxCbd": None, "maxCbn": None, "maxThca": None, "maxCbda": None,
            "thcBatch": True, "cbdBatch": True, "cbdaBatch": True, "thcaBatch": True, "cbnBatch": True,
            "cbgBatch": True, "totalPotency": True, "mgPotency": True}


def _quantities(rid: str, created: int, modified: int, co: str, sh: str, inventories: list[str], hi: int,
                instock: bool) -> list[dict]:
    return [{"id": sub_id(rid, 40 + k), "created": created, "modified": modified, "deleted": False,
             "updated": False, "companyId": co, "shopId": sh, "dirty": False, "inventoryId": inv, "productId": rid,
             "quantity": float((hi >> (8 * k)) % 60) if instock else 0.0}
            for k, inv in enumerate(inventories)]


_PRODUCT_COLS = ("hi", "lo", "created", "modified", "deleted", "category", "sku", "vendor", "name", "description",
                 "flower", "wpu", "active", "instock", "brand", "by_gram", "cannabis", "n_assets", "n_breaks",
                 "cat_name_set", "vendor_name_set")


def render_products(w: World, rows: np.ndarray) -> list[dict]:
    p, co, sh = w.products, w.shop.company_id, w.shop.shop_id
    cols = [p.take(c, rows) for c in _PRODUCT_COLS]
    money = (_money(p, "price", rows), _money(p, "cost", rows), _money(p, "unit_value", rows))
    potency = [_pct(p, c, rows) for c in ("thc", "cbd", "thca", "cbda", "cbg")]
    inventories = _ids(w.inventories, np.arange(len(w.inventories)))
    vendor_ids = _ids(w.vendors, p["vendor"][rows])
    brand = p["brand"][rows]
    brand_ids = _ids(w.brands, np.maximum(brand, 0))
    out = []
    for i, (hi, lo, created, modified, deleted, cat, sku, vendor, name, description, flower, wpu, active, instock,
            brand, by_gram, cannabis, n_assets, n_breaks, cat_name_set, vendor_name_set, price, cost, unit_value,
            thc, cbd, thca, cbda, cbg) in enumerate(zip(*cols, *money, *potency)):
        cat_obj = category(w, cat)
        brand_name = w.brands["name"][brand] if brand >= 0 else None
        rid = f"{hi:016x}{lo:08x}"
        d = new_product()
        d["id"], d["created"], d["modified"], d["deleted"] = rid, created, modified, deleted
        d["companyId"], d["shopId"], d["categoryId"], d["sku"] = co, sh, cat_obj["id"], sku
        d["vendorId"], d["name"], d["description"], d["flowerType"] = vendor_ids[i], name, description, flower
        d["unitPrice"], d["purchasePrice"], d["weightPerUnit"], d["unitValue"] = price, cost, wpu, unit_value
        d["thc"], d["cbd"], d["cbda"], d["thca"], d["cbg"] = thc, cbd, cbda, thca, cbg
        d["totalCannabinoids"] = round(sum(v for v in (thc, cbd, thca, cbda, cbg) if v is not None), 2)
        d["active"] = active
        if by_gram:
            d["priceRanges"] = _price_ranges(rid, created, co, price)
        d["priceBreaks"] = _price_breaks(rid, created, co, price, n_breaks, by_gram)
        d["assets"] = [asset(sub_id(rid, 30 + k), created + k, co, f"{sku}-{k + 1}.jpg", f"{uuid(rid, k)}.jpg")
                       for k in range(n_assets)]
        d["quantities"] = _quantities(rid, created, modified, co, sh, inventories, hi, instock)
        d["instock"], d["brandId"] = instock, brand_ids[i] if brand >= 0 else None
        d["category"], d["brand"] = cat_obj, _brand(brand_name, created)
        d["medicinal"], d["byGram"] = cannabis, by_gram
        d["potencyAmount"] = _potency(thc, cbd, thca, cbda, cbg)
        d["taxTables"] = [tax_table(rid, 50, created, co, sh, cannabis),
                          tax_table(rid, 55, created, co, sh, cannabis, "Medicinal", "MedicinalState"),
                          tax_table(rid, 60, created, co, sh, False, "Non-Cannabis", "Other")]
        d["producerAddress"] = address(sub_id(rid, 2), created, co, "", "", "", "")
        d["lastWMSyncTime"] = modified
        d["vendorName"] = w.vendors["name"][vendor] if vendor_name_set else None
        d["brandName"], d["categoryName"] = brand_name, cat_obj["name"] if cat_name_set else None
        d["menuApiBrandName"], d["menuApiProductName"] = brand_name, name.strip()
        d["menuApiProductId"], d["menuApiBrandId"] = lo % 1_000_000, brand % 1000
        d["companyLinkId"] = base64.b64encode(sku.encode()).decode()
        out.append(d)
    return out
