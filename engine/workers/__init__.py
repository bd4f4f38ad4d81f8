"""How the returns run on Temporal: the workers that host the return workflows (with the Shopify activities on each
shop's queue) and the registries, and the starter that hands a return's events to its workflow. Above the
capabilities they assemble (workflow, activities, registry), below those that use them (ingest, drift, roles)."""
