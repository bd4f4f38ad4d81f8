"""The search attributes the first workflow upserts (copied from `engine.workflow.search`): the names and types
are the server's, so they stay as they are."""

from temporalio.common import SearchAttributeKey

BRAND = SearchAttributeKey.for_keyword("Brand")
RETURN_STATE = SearchAttributeKey.for_keyword("ReturnState")
REBOUND_RETURN_ID = SearchAttributeKey.for_keyword("ReboundReturnId")
SHOPIFY_ORDER = SearchAttributeKey.for_keyword("ShopifyOrder")
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")
MAPPING_VERSION = SearchAttributeKey.for_keyword("MappingVersion")
