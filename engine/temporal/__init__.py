"""Temporal plumbing: dev server, client, worker, starting/signalling returns."""
