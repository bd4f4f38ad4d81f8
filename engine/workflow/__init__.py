"""The return workflow: a deterministic interpreter of a flow definition."""
