"""In-process emulators of third-party services (Shopify, ...) used by the demo and the tests."""
