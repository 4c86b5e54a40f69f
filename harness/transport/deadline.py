"""A deadline for a whole operation on a socket, not only for each read: a device that
trickles one byte a second would otherwise keep a test alive for hours."""
from __future__ import annotations

import contextlib
import socket
import threading
import time


class Guard:
    def __init__(self):
        self.fired = False


@contextlib.contextmanager
def guard(sock: socket.socket, seconds: float):
    """Shut `sock` down when `seconds` have passed; a blocked read then ends at once.
    `guard.fired` tells the caller to report a timeout rather than the read's error."""
    g = Guard()

    def expire():
        g.fired = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield g
    finally:
        timer.cancel()


def read_bounded(sock: socket.socket, limit: int, seconds: float,
                 until: bytes | None = None) -> tuple[bytes, str]:
    """Read until EOF, `until`, `limit` bytes or the deadline; (data, why it stopped)."""
    end = time.monotonic() + seconds
    data = b""
    while len(data) < limit:
        left = end - time.monotonic()
        if left <= 0:
            return data, "deadline"
        sock.settimeout(min(left, 3.0))
        try:
            chunk = sock.recv(min(65536, limit - len(data)))
        except socket.timeout:
            return data, "deadline" if time.monotonic() >= end else "quiet"
        if not chunk:
            return data, "eof"
        data += chunk
        if until and until in data:
            return data, "until"
    return data, "limit"
