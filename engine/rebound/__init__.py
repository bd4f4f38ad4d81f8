"""Rebound side: turning Rebound's payloads into canonical events."""
