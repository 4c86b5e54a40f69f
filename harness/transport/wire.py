"""What every transport needs: the scope to check, the transcript, and hard timeouts."""
from __future__ import annotations

import socket
from dataclasses import dataclass

from harness.errors import DeviceError, TransportTimeout
from harness.lab.scope import Scope
from harness.transport.transcript import Transcript


@dataclass(frozen=True)
class Wire:
    scope: Scope
    transcript: Transcript
    connect_timeout: float = 5.0
    command_timeout: float = 20.0

    def connect(self, host: str, port: int, channel: str) -> socket.socket:
        """A TCP connection to an in-scope target, or DeviceError/TransportTimeout."""
        ip = self.scope.check(host)
        self.transcript.note(channel, f"connect {ip}:{port}")
        try:
            return socket.create_connection((ip, port), timeout=self.connect_timeout)
        except socket.timeout:
            raise TransportTimeout(f"{channel}: no answer from {ip}:{port} within "
                                   f"{self.connect_timeout:.0f}s") from None
        except OSError as exc:
            raise DeviceError(f"{channel}: cannot connect to {ip}:{port}: "
                              f"{exc.strerror or exc}") from None
