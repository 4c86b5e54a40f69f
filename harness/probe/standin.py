"""The harness as a stand-in for a device's server: a listener on the lab's
harness_address (the lab's redirect action sends the device's connection there)."""
from __future__ import annotations

import socket

from harness.errors import DeviceError


def listen(bind: str, backlog: int) -> tuple[socket.socket, str]:
    """A TCP listener on `bind`, an ephemeral port; returns it and its HOST:PORT."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, 0))
    except OSError as exc:
        sock.close()
        raise DeviceError(f"cannot listen on the lab's harness_address {bind}: "
                          f"{exc.strerror or exc}") from None
    sock.listen(backlog)
    host, port = sock.getsockname()[:2]
    return sock, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
