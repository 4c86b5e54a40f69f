"""Probes gather observations from a device; they never decide a verdict."""
