"""Transports: one module each; every operation has a hard timeout and is transcribed."""
