"""Custom search attributes, so `Brand = 'castore' AND ReturnState = 'received'` works in the UI and CLI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

BRAND = SearchAttributeKey.for_keyword("Brand")
RETURN_STATE = SearchAttributeKey.for_keyword("ReturnState")
REBOUND_RETURN_ID = SearchAttributeKey.for_keyword("ReboundReturnId")
SHOPIFY_ORDER = SearchAttributeKey.for_keyword("ShopifyOrder")
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")
MAPPING_VERSION = SearchAttributeKey.for_keyword("MappingVersion")
# When the return's SLA (its state's, or a late parcel's) falls due; the SLA sweep finds returns by it (unset: none).
SLA_DUE_AT = SearchAttributeKey.for_datetime("SlaDueAt")

ALL = (BRAND, RETURN_STATE, REBOUND_RETURN_ID, SHOPIFY_ORDER, NEEDS_ATTENTION, MAPPING_VERSION, SLA_DUE_AT)

# The returns' workflow types: the flow interpreter, and the first workflow while its returns drain.
RETURN_WORKFLOW_TYPES = ("Return", "ReturnWorkflow")
RETURNS_QUERY = "WorkflowType IN (" + ", ".join(f"'{name}'" for name in RETURN_WORKFLOW_TYPES) + ")"
