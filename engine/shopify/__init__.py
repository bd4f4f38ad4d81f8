"""Shopify Admin GraphQL client. Knows nothing of Temporal."""
