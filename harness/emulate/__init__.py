"""Emulated devices: real daemons in Linux network namespaces, reached over veth and a bridge."""
