"""The firmware image as evidence (`harness firmware IMAGE`): unpack (unpack.py), read the
file systems as the device sees them (rootfs.py), gather accounts, keys, software, boot
services and update checks, and say what they mean per requirement (evidence.py)."""
