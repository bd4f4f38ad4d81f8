"""Activities: the only code that does I/O (Shopify calls)."""
