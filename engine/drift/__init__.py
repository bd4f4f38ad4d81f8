"""Drift monitor: a per-brand Temporal Schedule compares Rebound (pull API), Shopify (a bulk operation) and
the return workflows, and reports exceptions with an owner, a first-seen time and evidence.

model (plain data) -> collectors (rebound, shopify, workflows) -> compare (pure) -> report (table, CSV, JSON,
Slack) ; workflow + activities run it on a schedule (schedule), `returns drift` on demand (cli).
"""
