"""How a device reconnects to its cloud: the harness stands in for the cloud endpoint (the
lab's redirect action sends the device's connections there), accepts each connection and
closes it at once — a cloud that is reachable but refuses — and counts the attempts.

Bounded: one listener, at most `cap` connections, stopped by the caller; nothing the
device sends is read or kept.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from harness.probe.standin import listen


@dataclass
class Counter:
    bind: str
    transcript: object = None
    cap: int = 5000
    attempts: list[tuple[float, str]] = field(default_factory=list)   # (monotonic, peer)
    endpoint: str = ""
    sock: socket.socket | None = None

    def __enter__(self) -> "Counter":
        self.sock, self.endpoint = listen(self.bind, 64)
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set() and len(self.attempts) < self.cap:
            try:
                conn, peer = self.sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:                   # the listener was closed
                return
            self.attempts.append((time.monotonic(), peer[0]))
            conn.close()

    def between(self, start: float, end: float, peer: str | None = None) -> int:
        """Attempts that arrived in [start, end) (monotonic), from `peer` if given."""
        return sum(1 for t, p in list(self.attempts)
                   if start <= t < end and (peer is None or p == peer))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.sock:
            self.sock.close()
        self._thread.join(2.0)
        if self.transcript is not None:
            self.transcript.note(f"cloud-standin:{self.endpoint}",
                                 f"{len(self.attempts)} connection attempts, each closed at once")
