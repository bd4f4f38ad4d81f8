"""Rebound emulator: realistic return populations and the pushes Rebound would send for them."""
