"""Which ``userErrors`` codes the emulator returns for each mutation it serves, and why it never returns the rest.

For every served mutation whose payload's user error has a ``code`` enum in Shopify's schema, each value of that
enum either appears in the modules that serve the mutation (a branch returns it) or has a written reason here.
``tests/emulators/test_error_codes.py`` enforces it for both vendored API versions, so a new mutation, or a new
code in a new schema, cannot be served silently without a decision. Reasons quote the schema's description.
"""

from __future__ import annotations

# The modules whose code produces each mutation's userErrors (resolvers.py and idempotency.py serve them all).
SERVED_BY: dict[str, tuple[str, ...]] = {
    "returnCreate": ("returns.py", "returnable.py", "reasons.py", "fees.py", "exchanges.py"),
    "returnClose": ("returns.py",),
    "returnReopen": ("returns.py",),
    "returnCancel": ("returns.py",),
    "returnRequest": ("return_requests.py", "returns.py", "returnable.py", "reasons.py", "fees.py"),
    "returnApproveRequest": ("return_requests.py",),
    "returnDeclineRequest": ("return_requests.py",),
    "returnProcess": ("return_processing.py", "return_settlement.py", "dispositions.py", "exchange_processing.py"),
    "removeFromReturn": ("return_processing.py",),
    "reverseDeliveryCreateWithShipping": ("reverse_logistics.py",),
    "reverseDeliveryShippingUpdate": ("reverse_logistics.py",),
    "reverseFulfillmentOrderDispose": ("reverse_logistics.py", "dispositions.py"),
    "metafieldsSet": ("order_annotations.py",),
    "storeCreditAccountCredit": ("store_credit.py",),
    "bulkOperationRunQuery": ("bulk.py",),
    "inventoryAdjustQuantities": ("inventory.py", "inventory_root.py"),
    "inventoryMoveQuantities": ("inventory.py", "inventory_root.py"),
    "inventorySetOnHandQuantities": ("inventory.py", "inventory_root.py"),
    "inventorySetQuantities": ("inventory.py", "inventory_root.py"),
}

_INTERNAL = "Shopify's own failure ('{}'); the emulator injects those as faults (5xx, timeouts), not as a userError"
_GENERIC = (
    "a generic validation code ('{}'); no capture shows which input of this mutation yields it, and the "
    "inputs the emulator validates answer with the codes the captures show (BLANK, INVALID, NOT_FOUND, ...)"
)
_SHOP = "a shop configuration or permission the emulated shops do not have ('{}')"
_LEDGER = (
    "ledger and reference documents are accepted as given ('{}'); the engine sends none and no capture shows the checks"
)
_IDEMPOTENCY = (
    "the emulator's idempotency store is synchronous ('{}'): a concurrent or failed earlier attempt cannot be observed"
)


def _reasons(template: str, described: dict[str, str]) -> dict[str, str]:
    return {code: template.format(text) for code, text in described.items()}


_RETURN: dict[str, str] = {
    **_reasons(_INTERNAL, {"INTERNAL_ERROR": "Unexpected internal error happened."}),
    **_reasons(
        _GENERIC,
        {
            "TOO_MANY_ARGUMENTS": "Too many arguments provided.",
            "EQUAL_TO": "The input value should be equal to the value allowed.",
            "INCLUSION": "The input value isn't included in the list.",
            "LESS_THAN": "The input value should be less than the maximum value allowed.",
            "NOT_A_NUMBER": "The input value is not a number.",
            "PRESENT": "The input value needs to be blank.",
            "TAKEN": "The input value is already taken.",
            "TOO_BIG": "The input value is too big.",
            "TOO_LONG": "The input value is too long.",
            "TOO_SHORT": "The input value is too short.",
            "WRONG_LENGTH": "The input value is the wrong length.",
        },
    ),
    **_reasons(
        _SHOP,
        {
            "ALREADY_EXISTS": "The requested resource already exists.",
            "CREATION_FAILED": "A requested resource could not be created.",
            "FEATURE_NOT_ENABLED": "A required feature is not enabled.",
            "INCOMPATIBLE_WITH_STANDARD_POLICY": "The requested configuration cannot be applied to this standard "
            "return policy",
            "MISSING_PERMISSION": "The user does not have permission to perform the operation.",
            "NOTIFICATION_FAILED": "A requested notification could not be sent.",
            "NOT_EDITABLE": "A requested item is not editable.",
        },
    ),
}

_INVENTORY: dict[str, str] = {
    **_reasons(
        _LEDGER,
        {
            "INTERNAL_LEDGER_DOCUMENT": "Internal (gid://shopify/) ledger documents are not allowed",
            "INVALID_LEDGER_DOCUMENT": "The specified ledger document is invalid.",
            "INVALID_REFERENCE_DOCUMENT": "The specified reference document is invalid.",
            "MAX_ONE_LEDGER_DOCUMENT": "All changes must have the same ledger document URI",
            "MAXIMUM_LEDGER_DOCUMENT_URIS": "Only a maximum of 2 ledger document URIs across all changes is allowed.",
        },
    ),
    **_reasons(
        _INTERNAL,
        {
            "SERVICE_UNAVAILABLE": "The service is temporarily unavailable. Try again later.",
            "ADJUST_QUANTITIES_FAILED": "The quantities couldn't be adjusted. Try again.",
            "MOVE_QUANTITIES_FAILED": "The quantities couldn't be moved. Try again.",
            "SET_ON_HAND_QUANTITIES_FAILED": "The on-hand quantities couldn't be set. Try again.",
        },
    ),
    **_reasons(_SHOP, {"NON_MUTABLE_INVENTORY_ITEM": "not allowed to be adjusted via API, e.g. a parent bundle"}),
    **_reasons(
        _IDEMPOTENCY,
        {
            "IDEMPOTENCY_CONCURRENT_REQUEST": "This request is currently in progress",
            "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED": "A previous request with this idempotency key failed.",
        },
    ),
    "SAME_QUANTITY_NAME": "moves the emulator accepts are between different quantity names by construction of its"
    " inputs; no capture shows the check ('The quantity names for each change can't be the"
    " same.')",
    "COMPARE_QUANTITY_STALE": "compareQuantity is deprecated in favour of changeFromQuantity, which the emulator"
    " checks (CHANGE_FROM_QUANTITY_STALE)",
    "COMPARE_QUANTITY_REQUIRED": "compareQuantity is deprecated in favour of changeFromQuantity; the emulator does"
    " not require it",
}

NOT_MODELLED: dict[str, dict[str, str]] = {
    "ReturnErrorCode": _RETURN,
    "InventoryAdjustQuantitiesUserErrorCode": _INVENTORY,
    "InventoryMoveQuantitiesUserErrorCode": _INVENTORY,
    "InventorySetOnHandQuantitiesUserErrorCode": _INVENTORY,
    "InventorySetQuantitiesUserErrorCode": _INVENTORY,
    "MetafieldsSetUserErrorCode": {
        **_reasons(
            _SHOP,
            {
                "CAPABILITY_VIOLATION": "The metafield violates a capability restriction.",
                "APP_NOT_AUTHORIZED": "ApiPermission metafields can only be created or updated by the app owner.",
                "MARKET_METAFIELDS_NOT_COMPATIBLE_WITH_CONDITION_TYPES": "Market metafields and condition types are not"
                " compatible",
            },
        ),
        "STALE_OBJECT": "the engine sends no compareDigest, so a metafield cannot be stale to it ('The metafield has"
        " been modified since it was loaded.')",
        "INVALID_COMPARE_DIGEST": "the engine sends no compareDigest ('The compareDigest is invalid.')",
        "INVALID_TYPE": "the emulated shops have no metafield definitions, and every type the engine writes (json,"
        " single_line_text_field) is valid ('The type is invalid.')",
        "INVALID_VALUE": "no metafield definitions with options exist in the emulated shops ('The value is invalid"
        " for the metafield type or for the definition options.')",
        **_reasons(
            _GENERIC,
            {
                "INCLUSION": "The input value isn't included in the list.",
                "TAKEN": "The input value is already taken.",
                "PRESENT": "The input value needs to be blank.",
                "TOO_LONG": "The input value is too long.",
                "TOO_SHORT": "The input value is too short.",
            },
        ),
        **_reasons(_INTERNAL, {"INTERNAL_ERROR": "An internal error occurred."}),
    },
    "StoreCreditAccountCreditUserErrorCode": {
        "CREDIT_LIMIT_EXCEEDED": "the emulated shops set no store-credit limit ('The operation would cause the"
        " account's credit limit to be exceeded.')",
        "UNSUPPORTED_CURRENCY": "every ISO currency is accepted; the emulator checks the account's own currency"
        " (MISMATCHING_CURRENCY) ('The currency provided is not currently supported.')",
    },
    "BulkOperationUserErrorCode": {
        "LIMIT_REACHED": "the emulator runs one bulk query at a time per shop (OPERATION_IN_PROGRESS) and sets no"
        " daily limit ('Bulk operations limit reached. Please try again later.')",
    },
}

# Codes of an enum the emulator returns for some mutations but not these (their modules have no such branch).
_NO_BOUNDS = (
    "no input of this mutation has a numeric range: the bounds codes are returned for a restocking fee percentage"
    " (returnCreate/returnRequest) and for money in returnProcess"
)
_BOUNDS: dict[str, str] = {"GREATER_THAN_OR_EQUAL_TO": _NO_BOUNDS, "LESS_THAN_OR_EQUAL_TO": _NO_BOUNDS}
_NO_DELIVERY_CODE = (
    "a delivery quantity of 0 or less, or over the reverse fulfillment order line's, is answered 'cannot deliver"
    " more items than are returned' without a code, as recorded (capture return-reverse-logistics-recorded)"
)

NOT_MODELLED_FOR: dict[str, dict[str, str]] = {
    "removeFromReturn": {
        "BLANK": "lines to remove are looked up one by one: a missing one is NOT_FOUND, a bad quantity INVALID",
        "GREATER_THAN": "a quantity of 0 or less is answered INVALID with the quantity message, as for returnProcess",
        **_BOUNDS,
    },
    "returnProcess": {
        "BLANK": "lines to process are looked up one by one: a missing one is NOT_FOUND, a bad quantity INVALID",
    },
    "returnClose": _BOUNDS,
    "returnReopen": _BOUNDS,
    "returnCancel": _BOUNDS,
    "returnApproveRequest": {
        "GREATER_THAN": "takes no quantity, only the return's id",
        "INVALID": "the only check is the return's status (INVALID_STATE) and its existence (NOT_FOUND)",
        **_BOUNDS,
    },
    "returnDeclineRequest": {
        "GREATER_THAN": "takes no quantity, only the return's id and reason",
        "INVALID": "the only check is the return's status (INVALID_STATE) and its existence (NOT_FOUND)",
        **_BOUNDS,
    },
    "reverseDeliveryCreateWithShipping": {
        "INVALID_STATE": "the emulator lets tracking be added to a reverse fulfillment order in any status; no"
        " capture shows Shopify refusing it for a closed one",
        "GREATER_THAN": _NO_DELIVERY_CODE,
        **_BOUNDS,
    },
    "reverseDeliveryShippingUpdate": {
        "INVALID_STATE": "the emulator lets a reverse delivery's tracking be updated in any status",
        "GREATER_THAN": "takes no quantity, only tracking and a label",
        **_BOUNDS,
    },
    "reverseFulfillmentOrderDispose": {
        "INVALID_STATE": "a disposal is refused by the quantity left to dispose (INVALID), whatever the return's"
        " status; no capture shows a status check",
        **_BOUNDS,
    },
}

# Codes chosen where no recording shows Shopify's answer: for each mutation, each code its new branches return and
# why that value of the enum (its description in quotes). ``tests/emulators/test_error_codes.py`` checks that each
# is returned by a module serving the mutation.
CHOSEN: dict[str, dict[str, str]] = {
    "returnCreate": {
        "GREATER_THAN_OR_EQUAL_TO": "restockingFee.percentage below 0 ('The input value should be greater than or"
        " equal to the minimum value allowed.'): a percentage's minimum is 0; likewise an exchange line's"
        " appliedDiscount percentage or amount below 0",
        "LESS_THAN_OR_EQUAL_TO": "restockingFee.percentage above 100 ('... less than or equal to the maximum value"
        " allowed.'): a percentage's maximum is 100; likewise an exchange line's appliedDiscount percentage above"
        " 100 or amount above the item's price",
        "INVALID": "returnShippingFee.amount not in the order's presentment currency ('The input value is"
        " invalid.'); the input's description says the amount is in that currency; an exchange line's"
        " appliedDiscount with both or neither of amount and percentage, or its amount in another currency;"
        " giftCardCodes for a variant that is not a gift card (emulated shops sell none)",
        "BLANK": "an exchange line without variantId ('The input value is blank.'): the input's variantId is"
        " nullable in the schema, yet an exchange item needs a variant",
        "NOT_FOUND": "an exchange line's variantId that names no variant of the shop ('The requested resource was"
        " not found.'), as for the recorded unknown return reason definition",
    },
    "returnRequest": {
        "GREATER_THAN_OR_EQUAL_TO": "restockingFee.percentage below 0, as for returnCreate",
        "LESS_THAN_OR_EQUAL_TO": "restockingFee.percentage above 100, as for returnCreate",
        "INVALID": "returnShippingFee.amount not in the order's presentment currency, as for returnCreate",
    },
    "returnProcess": {
        "INVALID": "a quantity of 0 or less or over what the line has unprocessed (the emulator's rule, message"
        " 'Return line item has an invalid quantity.', and for an exchange line 'Exchange line item has an invalid"
        " quantity.'); units already refunded on the order; dispositions over"
        " the units processed, RESTOCKED for a custom line, over what the RFO line has left (as"
        " reverseFulfillmentOrderDispose); a transaction or shipping amount or store credit not in the"
        " presentment currency; a parent that is not a successful SALE/CAPTURE ('The input value is invalid.')",
        "NOT_FOUND": "a return line, reverse fulfillment order line (of that return line), parent transaction,"
        " location, exchange line (of this return), duty or tip line that does not exist ('The requested resource"
        " was not found.'); the return line's is recorded",
        "GREATER_THAN": "a transaction amount of 0 or less, a disposition quantity of 0 or less ('The input value"
        " should be greater than the minimum value allowed.')",
        "GREATER_THAN_OR_EQUAL_TO": "a negative shippingRefundAmount (its minimum is 0)",
        "LESS_THAN_OR_EQUAL_TO": "a transaction over what its parent payment can still refund, shipping over what"
        " is left of the order's shipping, a refund over the order's net payment without allowOverRefunding"
        " ('The input value should be less than or equal to the maximum value allowed.'); an exchange line's"
        " quantity over the stock available for it (the maximum is the stock; distinct from the INVALID of a"
        " quantity over what is left to process, so a client tells 'out of stock' from 'already processed')",
        "INVALID_STATE": "a return that is not OPEN, as the other return mutations answer (recorded for them)",
    },
    "removeFromReturn": {
        "NOT_FOUND": "a return line or exchange line not on the return ('The requested resource was not found.')",
        "INVALID": "a quantity of 0 or less or over what the line has unprocessed (only unprocessed units can be"
        " removed) ('The input value is invalid.')",
        "INVALID_STATE": "a return that is neither OPEN nor REQUESTED (recorded: 'Return status is invalid.')",
    },
}
