"""Sub-objects shared by several records (addresses, assets, tax tables, terminals).

Each function returns a fresh dict with the key order of ``shared/blaze/samples`` so that callers
may mutate what they get (the fault injector does) without touching other records.
"""

from __future__ import annotations

from ._table import _SUFFIX, sub_id
from ._templates import new_address, new_asset, new_tax_result, new_terminal

S3 = "https://connect-files-public.s3.amazonaws.com/"


def uuid(rid: str, j: int = 0) -> str:
    """A uuid-looking key derived from a record id."""
    h = sub_id(rid, 40 + j)
    return f"{h[18:24]}{h[:2]}-{h[2:6]}-4{h[6:9]}-a{h[9:12]}-{h[12:18]}{h[18:24]}"


def address(aid: str, ts: int, company: str | None, street: str, city: str, state: str, zip_code: str,
            lat: float | None = None) -> dict:
    d = new_address()
    d["id"] = aid
    d["created"] = ts
    d["modified"] = ts
    d["companyId"] = company
    d["address"] = street
    d["city"] = city
    d["state"] = state
    d["zipCode"] = zip_code
    d["latitude"] = lat
    d["longitude"] = lat
    return d


def asset(aid: str, ts: int, company: str | None, name: str, key: str, full: bool = True) -> dict:
    stem = key.rsplit(".", 1)[0]
    d = new_asset()
    d["id"] = aid
    d["created"] = ts
    d["modified"] = ts
    d["companyId"] = company
    d["name"] = name
    d["key"] = key
    d["publicURL"] = S3 + key
    d["thumbURL"] = f'{S3}{stem}-200x200.jpg'
    d["mediumURL"] = f'{S3}{stem}-500x500.jpg'
    d["largeURL"] = f'{S3}{stem}-800x800.jpg'
    d["largeX2URL"] = f'{S3}{stem}-1600x1600.jpg' if full else None
    d["origURL"] = S3 + key if full else None
    return d


def _tax_template(rate: float, compound: bool, active: bool, territory: str, excise: bool, display: str) -> dict:
    return {
        "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
        "shopId": None, "dirty": False, "taxRate": rate, "compound": compound, "active": active,
        "territory": territory, "activeExciseTax": excise, "taxOrder": "PostTaxed", "displayName": display,
        "activeDeliveryFeeTax": False, "displayAppendTax": True, "activeSurchargeTax": False,
        "activeCDTFATax": False, "taxType": None,
    }


#: (city, county, state, federal) tax templates for cannabis (True) and other goods (False)
_TAXES = {
    True: (_tax_template(10.0, False, True, "City", True, "City"),
           _tax_template(15.0, True, True, "County", False, "Excise"),
           _tax_template(9.75, True, True, "State", True, "State"),
           _tax_template(0.0, False, False, "Federal", False, "Federal")),
    False: (_tax_template(0.0, False, False, "City", False, "City"),
            _tax_template(0.0, False, False, "County", False, "Excise"),
            _tax_template(9.5, False, True, "State", False, "State"),
            _tax_template(0.0, False, False, "Federal", False, "Federal")),
}
_TAX_TABLE = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "name": "Adult Use", "active": False, "taxType": "Custom",
    "taxOrder": "PostTaxed", "consumerType": "AdultUse", "cityTax": None, "countyTax": None, "stateTax": None,
    "federalTax": None, "enableSurchargeFeeTax": False,
}


def _tax(t: dict, tid: str, ts: int, company: str, shop: str) -> dict:
    d = t.copy()
    d["id"], d["created"], d["modified"], d["companyId"], d["shopId"] = tid, ts, ts, company, shop
    return d


def tax_table(rid: str, j: int, ts: int, company: str, shop: str, cannabis: bool = True,
              name: str = "Adult Use", consumer: str = "AdultUse", surcharge: bool = False) -> dict:
    """A compound tax table: city 10 %, county "Excise" 15 %, state 9.75 % (state 9.5 % alone
    for non-cannabis goods), as the rates of ``_gen_sales.price_items``. Ids ``j``..``j+4``."""
    base = rid[:18]
    city, county, state, federal = _TAXES[bool(cannabis)]
    d = _TAX_TABLE.copy()
    d["id"], d["created"], d["modified"], d["companyId"], d["shopId"] = base + _SUFFIX[j], ts, ts, company, shop
    if name != "Adult Use":
        d["name"], d["consumerType"] = name, consumer
    d["cityTax"] = _tax(city, base + _SUFFIX[j + 1], ts, company, shop)
    d["countyTax"] = _tax(county, base + _SUFFIX[j + 2], ts, company, shop)
    d["stateTax"] = _tax(state, base + _SUFFIX[j + 3], ts, company, shop)
    d["federalTax"] = _tax(federal, base + _SUFFIX[j + 4], ts, company, shop)
    d["enableSurchargeFeeTax"] = surcharge
    return d


def cultivation() -> dict:
    return {
        "totalFlowerTax": 0.0, "totalLeafTax": 0.0, "totalFlowerOz": 0.0, "totalLeafOz": 0.0,
        "totalCultivationTax": 0.0, "leafTaxOz": 0.0, "flowerTaxOz": 0.0, "totalPlantTax": 0.0,
        "plantTaxOz": 0.0, "totalPlantOz": 0.0,
    }


def tax_result(rid: str | None, ts: int, total: float, city: float, county: float, state: float,
               mapping: bool, cult: bool = True) -> dict:
    d = new_tax_result()
    d["id"] = rid
    d["created"] = ts
    d["modified"] = ts
    d["totalPostCalcTax"] = total
    d["totalCityTax"] = city
    d["totalCountyTax"] = county
    d["totalStateTax"] = state
    d["cultivationTaxResult"] = cultivation() if cult else None
    if mapping:
        d["taxMappingInfo"] = {"City": "City", "County": "Excise", "State": "State", "Federal": "Federal"}
    return d


#: stable ids of the three tax rates (Blaze uses uuids here)
RATE_IDS = ("ee5bb130-3f89-5874-b327-85ce7991bfb6", "b1ae0bad-f4b9-50a8-a33e-e115afaa5c24",
            "61ab0fb9-8adc-599f-8f04-371af2973e9f")


def _fcm_token(dev_id: str, n: int) -> str:
    """A push-notification token as devices register them (long, opaque)."""
    core = dev_id.replace("-", "")
    return f"{core[:22]}:APA91b{core}{core[::-1]}-{n:02d}{core[3:29]}_{core[::-2]}{core[5:21]}x{core[::3]}"


def devices(dev_id: str, n_devices: int) -> list[dict]:
    """Every device ever registered on a terminal (they accumulate over the years)."""
    out = []
    for n in range(n_devices):
        ipad = n % 3 != 2
        token = f"{{length=32,bytes=0x{dev_id.replace('-', '').lower()}...{n:02x}}}" if ipad else _fcm_token(dev_id, n)
        out.append({
            "deviceId": f"{dev_id[:-4]}{n:04X}" if ipad else token, "version": f"5.{n % 9}.{n % 4}",
            "deviceToken": token, "appType": "Blaze" if ipad else "DeliveryApp", "deviceType": "iOS",
            "deviceVersion": None, "sdkVersion": None, "deviceModel": "iPad" if ipad else "iPhone",
            "deviceName": f"Register iPad ({n + 1})" if ipad else "iPhone", "active": n == 0,
        })
    return out


def terminal(tid: str, created: int, modified: int, company: str, shop: str, name: str, dev: str,
             inventory: str, employee: str, ttype: str, n_devices: int) -> dict:
    details = devices(dev, n_devices)
    d = new_terminal()
    d["id"] = tid
    d["created"] = created
    d["modified"] = modified
    d["companyId"] = company
    d["shopId"] = shop
    d["deviceId"] = dev
    d["name"] = name
    d["deviceToken"] = details[0]['deviceToken'] if details else None
    d["assignedInventoryId"] = inventory
    d["currentEmployeeId"] = employee
    d["terminalType"] = ttype
    d["deviceDetails"] = details
    return d
