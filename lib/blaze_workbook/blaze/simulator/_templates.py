"""Record templates in the key order of ``shared/blaze/samples``, and fast cloners for them.

Building a 90-key dict literal costs several times more than copying a template and setting the
keys that vary, so renderers call ``new_<name>()`` (a fresh dict whose nested constant lists and
dicts are fresh too, so callers may mutate what they get) and then set the varying keys; the
``None`` values below are placeholders for keys every renderer sets.
"""

from __future__ import annotations

from collections.abc import Callable


def cloner(template: dict) -> Callable[[], dict]:
    """A function returning a copy of ``template`` with fresh copies of its constant containers."""
    lines = ["def clone(_t=_t):", "    d = _t.copy()"]
    lines += [f"    d[{k!r}] = {v!r}" for k, v in template.items() if isinstance(v, (list, dict))]
    lines.append("    return d")
    namespace = {"_t": template}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from our own JSON constants
    return namespace["clone"]


TX = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "requestId": None, "processTime": 0, "metrcId": None,
    "metrcSaleTime": None, "traceSubmitTime": None, "traceSubmitStatus": None, "traceMessage": None,
    "complianceDeliverySaleType": "None", "tripId": None, "orderMenuType": "Standard", "transNo": None,
    "parentTransactionId": None, "priority": None, "createdById": None, "sellerId": None, "memberId": None,
    "associateCaregiver": False, "caregiverId": None, "terminalId": None, "sellerTerminalId": None,
    "overrideInventoryId": None, "checkinTime": None, "startTime": None, "endTime": None, "active": False,
    "queueType": "WalkIn", "status": None, "note": None, "memo": None, "deleteNote": None, "cart": None,
    "processedTime": None, "paid": None, "paidTime": None, "completedTime": None, "dispatchCreatedTime": None,
    "dispatchRegionId": None, "inventoryId": None, "onlineInventoryId": None, "autoAccepted": False, "loc": [],
    "transType": None, "assignedEmployeeId": None, "timeZone": None, "deliveryAddress": None, "locked": False,
    "hypurPin": None, "hypurCheckinISN": None, "entityISN": None, "fulfillmentStep": "Prepare",
    "checkoutType": "Direct", "startRouteDate": None, "routing": False, "startRouteLocation": [],
    "endRouteDate": None, "endRouteLocation": [], "pointsEarned": None, "memberSignature": None,
    "transferShopId": None, "transferRequest": None, "consumerCartId": None, "temporary": False,
    "source": None, "salesChannel": None, "internalSalesChannel": "Retail", "consumerOrderNo": None, "eta": 0,
    "trackingStatus": "NotStarted", "mileageCalculated": True, "mileage": 0.0, "paymentCardPayments": [],
    "payments": None, "previousBalance": 0.0, "balance": 0.0, "paymentReceived": None, "paidAmount": None,
    "blazeTip": 0.0, "blazeFee": 0.0, "blazeTotalCharged": 0.0, "blazeCashBack": 0.0, "member": None,
    "seller": None, "sellerTerminal": None, "assignedEmployee": None, "preparedBy": None, "preparedDate": None,
    "packedBy": None, "packedDate": None, "pickUpDate": 0, "preparedByEmployee": None,
    "packedByEmployee": None, "createdByEmployee": None, "terminal": None, "dispatchRegion": None,
    "inventory": None, "dispatchShop": None, "draftCreatedTime": None, "defaultRegionByAddress": False,
    "deferred": False, "deferredTime": 0, "deferredNote": None, "dispatchedProcessor": "",
    "integrationData": {}, "dispatched": False, "onFleetTaskId": None, "onFleetError": None,
    "createOnfleetTask": False, "onfleetTwoWaySuccess": True, "state": 0, "shortId": None,
    "onFleetTaskStatus": None, "onFleetTeamId": None, "qbSalesReceiptRef": None, "qbRefundReceipt": None,
    "qbJournalEntryRef": None, "transactionRefundStatus": None, "assigned": True, "tookanTaskId": None,
    "orderTags": [], "mtracTxnId": None, "refundVersion": None, "deliveryDate": 0, "completeBy": 0,
    "completeAfter": 0, "addressUpdate": False, "paymentEditedBy": None, "paymentEditedTime": 0,
    "dejavooTerminalConfig": None, "identifications": None, "assets": [], "metrcDeliveryId": None,
    "metrcDeliveryLedgerId": None, "metrcDeliverySubmitTime": 0, "metrcSubmissionDeleteTime": 0,
    "metrcSubmissionCompleteTime": 0, "metrcDeliverySubmitStatus": "None", "deliveryTraceMessage": None,
    "waivedStatus": False, "waivedDate": 0, "message": None, "voidDate": None, "voidedByEmployeeId": None,
    "sessionId": None, "queueBlazePayId": None, "enableBlazePayTips": False, "roundUpEnabled": False,
    "estimatedLoyaltyPoints": False, "summaryPaymentInfo": None, "cardComplianceId": None,
    "complianceId": None, "refundComplianceId": None, "compliance": False, "complianceSaleTime": 0,
    "complianceValidItems": None, "listedByElastic": False, "transferId": None, "consumerType": None,
    "purchaseType": None, "complianceDeliveryId": None, "complianceDeliveryTransactionId": None,
    "complianceLedgerId": None, "complianceSubmitStatus": "None", "inventoryProcessed": False,
    "canAutoApplyPromo": False, "processingTimeMs": None, "waitingTimeMs": None, "lastStartTimestamp": None,
    "lastHoldTimestamp": None, "externalPaymentContext": None, "caregiver": None, "activeInventoryIds": None,
    "deliveryStatus": None, "refundPaymentOptions": None, "createTookanTask": False, "deletingPayment": False,
    "preparingFulfillment": False, "fulfillingFulfillment": False, "payingWithPaymentCard": False,
    "timeCollected": None, "currentPaymentAmount": 0.0,
}

CART = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "discount": 0.0, "discountType": "Cash", "promoCode": "", "consumerType": None, "cashReceived": None,
    "changeDue": None, "paymentOption": None, "subTotal": None, "totalDiscount": None, "calcCartDiscount": 0.0,
    "subTotalDiscount": None, "total": None, "feeTotal": 0.0, "feeTotalRefunded": 0.0,
    "taxRateTotalRefunded": 0.0, "totalBeforeTaxRounding": None, "totalAfterTaxRounding": None,
    "taxTable": None, "tax": 0.08, "taxResult": None, "taxRateDetails": None, "totalCalcTax": None,
    "totalPreCalcTax": 0.0, "refundAmount": None, "enableDeliveryFee": False, "deliveryFee": 0.0,
    "deliveryDiscount": 0.0, "deliveryDiscountType": "Cash", "deliveryPromotionId": None,
    "afterTaxDiscount": 0.0, "appliedAfterTaxDiscount": 0.0, "roundAmt": None, "pointSpent": None,
    "items": None, "promotionReqs": [], "promotionReqLogs": [], "splitPayment": None,
    "blazePayRequest": {"tip": 0.0, "fee": 0.0, "cashBack": 0.0, "totalCharged": 0.0}, "paymentType": None,
    "totalExciseTax": 0.0, "totalALExciseTax": 0.0, "balanceDue": 0.0, "creditCardFee": None,
    "lastCreditCardFee": None, "currentSurchargeFeeTax": 0.0, "enableCreditCardFee": None,
    "refundOption": None, "refundOrderItemRequests": [], "requestRefundAmt": None, "finalRefundAmt": None,
    "adjustmentAmount": 0.0, "adjustmentInfoList": [], "taxRoundOffType": None, "tipAmount": 0.0,
    "nonCannabisTaxTable": None, "cartDiscountNotes": "", "afterTaxDiscountNotes": "", "cardFeesLogs": None,
    "currentAmount": 0.0, "totalFees": None, "deliveryDiscountAmount": 0.0, "origDeliveryFee": 0.0,
    "refundLog": None, "cdtfaTaxRate": None, "activeCDTFATax": False, "shopType": "Both",
    "externalPaymentProvider": None, "storageLocation": "CashDrawer",
}

PAYMENT = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "transactionId": None, "transNo": None, "paymentOption": None,
    "paymentProcessor": "None", "posDisplayName": None, "merchantDisplayName": None, "provider": None,
    "externalId": None, "amount": None, "changeDue": 0.0, "paymentReceived": None, "calculatedAmount": 0.0,
    "cashBack": 0.0, "tips": 0.0, "transactionFee": 0.0, "total": 0.0, "cardFee": None, "creditAmount": 0.0,
    "feeAmount": 0.0, "cardFeesLog": None, "surchargeTax": None, "requestId": None, "split": None,
    "manual": False, "voidT": False, "terminal": None, "posTerminal": None, "refID": None, "batchNum": 0,
    "invNum": 0, "processor": 0, "deletedBy": None, "fromIncomingOrder": False, "paymentFlowType": None,
    "cardMaskedPan": None, "cardReaderId": None, "balance": 0.0, "isBlazePay": None, "deferredCapture": False,
    "externalStatus": None, "refundedAmount": 0.0,
}

ITEM = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "parentId": None, "orderItemId": None, "quantity": None, "availableDiscountQty": 0, "activeDiscountQty": 0,
    "unitQty": 0, "useUnitQty": False, "inventoryDeducted": True, "weightKey": None, "qtyFlattened": False,
    "orderItemIdFlattened": "", "productName": None, "categoryName": None, "brandName": None,
    "productSku": None, "productType": "REGULAR", "weightPerUnit": None, "origQuantity": None,
    "discountedQty": None, "remarks": None, "productId": None, "cost": None, "unitPrice": None,
    "discount": None, "discountType": None, "propCartDiscount": 0.0, "calcDiscount": None, "finalPrice": None,
    "calcTax": None, "taxOrder": "PostTaxed", "taxInfo": None, "taxType": "Inherit", "exciseTax": 0.0,
    "taxTable": None, "taxResult": None, "taxRateTotalRefundedDetails": [], "taxRateDetails": None,
    "calcPreTax": 0.0, "status": None, "quantityLogs": None, "mixMatched": False, "ignoreMixMatch": False,
    "promotionReqs": None, "prepackageItemId": None, "batchId": None, "prepackageId": None, "prepackage": None,
    "prepackageProductItem": None, "taxEntityType": "NON_ARMS_LENGTH", "preparedQty": 0.0, "fulfilled": True,
    "totalRefundAmount": None, "totalRefundQty": None, "exchangeAmount": None, "exchangeQty": None,
    "overridePrice": 0.0, "feeTotal": 0.0, "feeTotalRefunded": 0.0, "taxRateTotalRefunded": 0.0,
    "feeTotalRefundedDetails": [], "feeDetails": [], "uomSelected": None, "cogs": None,
    "origOrderItemId": None, "txnLineID": None, "txnLineIDMap": {}, "product": None, "batchSku": None,
    "perUnitRefundAmt": 0.0, "inventoryId": None, "finalized": False, "finalizedProductId": None,
    "calcCultivationTax": 0.0, "discountNotes": None, "externalId": None, "discountEnabled": True,
    "byGram": None, "batchUniId": None, "bundleTaxResults": [], "bundle": False, "bundleParentId": None,
    "bundleParent": None, "bundleParentQty": 0, "autoApplyRequested": False, "loyaltyAccrual": True,
    "adjustmentAmount": 0.0, "adjustmentAmountDetails": {}, "minimumPennyPerQty": 0, "minimumPennies": False,
}

CARD_FEE = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "feeName": None, "feeType": "CreditCard", "enabled": True, "fee": 8.0,
    "subTotalThreshold": 0.0, "type": "Percentage", "feeAmount": None,
}

IDENT = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "verified": True, "licenseNumber": None, "expirationDate": None, "localExpirationDate": None,
    "frontPhoto": None, "assets": None, "state": "CA", "type": "Drivers License",
}

MEMBER = {
    "id": None, "created": None, "modified": None, "deleted": None, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "firstName": None, "lastName": None, "middleName": None, "address": None,
    "uppercaseCity": None, "email": None, "dob": None, "birthdate": None, "localDob": None,
    "localDobUTC": None, "primaryPhone": None, "cpn": None, "textOptIn": None, "emailOptIn": None,
    "medical": None, "searchText": None, "metadata": [], "nickname": None, "sex": None, "anonymous": False,
    "status": None, "notes": None, "contracts": None, "preferences": [], "identifications": None,
    "recommendations": [], "lastVisitDate": None, "startDate": None, "importId": None, "memberGroupId": None,
    "memberGroup": None, "recentProducts": None, "dlExpired": None, "recommendationExpired": None,
    "agreementExpired": False, "emailVerified": None, "consumerUserId": None, "marketingSource": None,
    "consumerType": None, "enableLoyalty": True, "loyaltyPoints": None, "lifetimePoints": None,
    "enabledCareGiver": False, "careGivers": [], "regionId": None, "addresses": None, "qbCustomerRef": [],
    "eligibleForFTMPromos": True, "banPatient": False, "tags": [], "recommendationExpiryLeft": 0,
    "referralCode": None, "complianceCardSessionId": None, "sbid": None, "exemptFromLimits": False,
    "listedByElastic": False, "strongholdCustomerId": None, "allotmentOverride": None, "expStatuses": [],
    "lastestRecommendation": None, "latestRecommendation": None,
}

PRODUCT = {
    "id": None, "created": None, "modified": None, "deleted": None, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "checkSum": 0, "archived": False, "importId": None, "importSrc": None,
    "categoryId": None, "sku": None, "vendorId": None, "productSaleType": "Both", "name": None,
    "description": None, "flowerType": None, "unitPrice": None, "purchasePrice": None, "weightPerUnit": None,
    "unitValue": None, "thc": None, "cbn": 0.0, "cbd": None, "cbda": None, "thca": None, "cbg": None,
    "totalCannabinoids": None, "totalTerpenes": 0.0, "terpenoids": None, "active": None, "genetics": None,
    "medicalConditions": [], "priceRanges": None, "priceBreaks": None, "assets": None, "quantities": None,
    "instock": None, "brandId": None, "category": None, "notes": [], "enableMixMatch": False,
    "enableWeedmap": True, "showInWidget": True, "taxType": "Inherit", "taxOrder": "PostTaxed",
    "customTaxInfo": None, "discountable": True, "discountEnabled": True, "vendor": None, "brand": None,
    "lowThreshold": 3.0, "lowInventoryNotification": False, "medicinal": None, "byGram": None,
    "byPrepackage": False, "enableExciseTax": False, "priceIncludesExcise": True,
    "priceIncludesALExcise": True, "cannabisType": "DEFAULT", "potencyAmount": None, "taxTables": None,
    "tags": [], "qbItemRef": None, "customWeight": 0.0, "automaticReOrder": False, "reOrderLevel": 0.0,
    "customGramType": "GRAM", "pricingTemplateId": None, "productType": "REGULAR", "bundleItems": [],
    "complianceId": None, "toleranceId": None, "producerMfg": None, "producerLicense": None,
    "producerAddress": None, "sellable": True, "wmThreshold": 0.0, "salesPrice": None, "lastWMSyncTime": None,
    "lastLeaflySyncTime": 0, "lastLeaflySyncStatus": False, "overrideMetrcCategoryId": None,
    "wmOnlineSellable": True, "totalCommittedQuantity": 0.0, "totalSellableQuantity": 0.0,
    "usableMarijuana": 0.0, "dispatchPrepackageItemId": None, "committedQuantities": {},
    "sellableQuantities": {}, "prepackageQuantities": {}, "secondaryVendors": [], "wmProductId": None,
    "wmBrandId": None, "wmTags": [], "maxThc": None, "maxCbn": None, "maxCbd": None, "maxCbda": None,
    "maxThca": None,
    "complianceInfo": {"statementIntendedUse": [], "refrigeration": None, "form": "", "ingredients": "",
                       "strain": None, "servingsPerContainer": None},
    "secondaryVendorsName": None, "totalRemaining": 0, "totalConsumerOrderQuantity": 0.0, "metadata": [],
    "secondaryShopIds": [], "vendorIds": None, "vendorName": None, "secondaryVendorsIds": None,
    "brandName": None, "shopName": None, "categoryName": None, "totalInventory": None, "armsLengthType": None,
    "purchaseLimits": None, "productInfoSourcingStrategy": "NONE", "activeBatchId": None,
    "activeBatchSku": None, "listedByElastic": False, "externalId": None, "masterId": None, "parentId": None,
    "globalProductId": None, "platformProductId": None, "shop": None, "sourceMap": {}, "shopsList": [],
    "menuApiBrandName": None, "menuApiProductName": None, "menuApiProductId": None, "menuApiBrandId": None,
    "metadataModifiedAt": 0, "component": False, "item": False, "productFamilyId": None,
    "selectedInventories": [], "trackPackageLabels": [], "provider": None, "loyaltyAccrual": True,
    "metadataMap": None, "giftCard": False, "cannabis": None, "potency": False, "childProduct": None,
    "companyLinkId": None, "syncToThirdPartyMenus": True,
}

CATEGORY = {
    "id": None, "created": None, "modified": None, "deleted": None, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "name": None, "cannabis": None, "photo": None, "blazeCategoryId": None,
    "active": None, "unitType": None, "lowThreshold": 10.0, "cannabisType": None, "complianceId": None,
    "archived": False, "topLevelCategoryId": None, "topLevelCategoryName": None, "shopIds": [],
    "parentCategoryId": None, "wmCategory": None, "wmCategoryName": None, "externalId": None, "priority": None,
    "masterId": None, "platformCategoryId": None, "platformParentCategoryId": None, "masterCategory": None,
    "sourceMap": {}, "shop": None, "labelTemplateId": None, "categoryApp": None, "unitTrackingEnabled": False,
    "giftCard": None,
}

ADDRESS = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "address": None, "city": None, "state": None, "zipCode": None, "addressLine2": "", "country": "US",
    "latitude": None, "longitude": None, "completeTransaction": False,
}

ASSET = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "name": None, "key": None, "type": "Photo", "publicURL": None, "active": True, "priority": 0,
    "secured": False, "thumbURL": None, "mediumURL": None, "largeURL": None, "largeX2URL": None,
    "origURL": None, "platformFileUrl": None, "assetType": "Photo",
}

TAX_RESULT = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "totalPreCalcTax": 0.0,
    "totalPostCalcTax": None, "totalCityTax": None, "totalCountyTax": None, "totalStateTax": None,
    "totalFedTax": 0.0, "totalCityPreTax": 0.0, "totalCountyPreTax": 0.0, "totalStatePreTax": 0.0,
    "totalFedPreTax": 0.0, "totalExciseTax": 0.0, "totalNALPreExciseTax": 0.0, "totalALExciseTax": 0.0,
    "totalALPostExciseTax": 0.0, "cultivationTaxResult": None, "totalDeliveryFeeTax": 0.0,
    "surchargeFeeTax": 0.0, "surchargeFeeExciseTax": 0.0, "totalSurchargeFeeTax": 0.0, "taxMappingInfo": {},
}

TERMINAL = {
    "id": None, "created": None, "modified": None, "deleted": False, "updated": False, "companyId": None,
    "shopId": None, "dirty": False, "active": True, "deviceId": None, "name": None, "deviceModel": "iPhone",
    "deviceVersion": "3.1.9", "deviceName": "iPhone", "appVersion": "5.7.0", "deviceToken": None,
    "deviceType": "iOS", "assignedInventoryId": None, "cvAccountId": None, "currentEmployeeId": None,
    "terminalType": None, "posTerminal": None, "regionId": None, "creditCardReader": None,
    "onPremEnabled": False, "assignSafeInventory": False, "brandIds": [], "terminalLocations": [],
    "checkoutType": "Direct", "deviceDetails": None,
}


new_tx = cloner(TX)
new_cart = cloner(CART)
new_payment = cloner(PAYMENT)
new_item = cloner(ITEM)
new_card_fee = cloner(CARD_FEE)
new_ident = cloner(IDENT)
new_member = cloner(MEMBER)
new_product = cloner(PRODUCT)
new_category = cloner(CATEGORY)
new_address = cloner(ADDRESS)
new_asset = cloner(ASSET)
new_tax_result = cloner(TAX_RESULT)
new_terminal = cloner(TERMINAL)
