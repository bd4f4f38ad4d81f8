"""Temporal plumbing: the connection, the payload codec and its server, the dev server and binaries, the workflow
sandbox, schedules. It imports none of the engine's capabilities (tests/test_layers.py)."""
