"""`make chaos`: a seeded, reproducible soak of the whole product under injected faults, then a checker of the
invariants money and stock must keep (Jepsen's shape: a history of operations, a checker over the end state).

    python -m emulators.chaos --returns 1000 --seed 7 --write

The engine runs as production runs it: a Temporal dev server on a SQLite file, two `returns worker` processes and
a `returns serve` receiver, each a process of its own, against the Shopify and Rebound emulators (in this
process). While the demo's kinds of return flow through, the harness SIGKILLs workers and restarts them, stops and
restarts the dev server once, restarts the receiver, lets Shopify fail 5 % of calls (5xx, timeouts, THROTTLED,
a response lost after the write committed), duplicates or reorders Rebound's pushes, drops some (the pull must
catch them) and has staff refund 1 % of the returns by hand first.
"""
