"""Ingestion: Rebound pushes (authenticated receiver) and pulls (scheduled), both ending in signal-with-start."""
