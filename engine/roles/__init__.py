"""`returns worker`: the roles a process serves (returns, shops, registry, pull, drift, events), assembled from the
workers (`engine.workers`) and the capabilities that run their own (ingest's pull and purge, drift)."""
