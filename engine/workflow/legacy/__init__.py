"""The first return workflow (`ReturnWorkflow`, flow format 1), frozen: it stays registered until the returns
started on it have finished and lingered out, and replays their recorded histories (tests/test_replay.py). New
returns start on the flow interpreter (`engine.workflow.return_workflow`). Do not change its behaviour."""
