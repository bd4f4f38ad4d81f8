"""The first return workflow (`ReturnWorkflow`, flow format 1), frozen: it stays registered until the returns
started on it have finished and lingered out (`returns legacy status`), and replays their recorded histories
(tests/test_replay.py). New returns start on the flow interpreter (`engine.workflow.return_workflow`). Do not change
its behaviour. Sealed: it imports nothing of the live engine, whose modules change under it; the types and rules it
needs are copied here as they were (`definitions_v1`, `types_v1`, `rules_v1`, `search_v1`;
tests/test_legacy_sealed.py)."""
