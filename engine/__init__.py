"""Rebound → Shopify returns engine."""
