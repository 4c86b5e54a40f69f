"""A small telnet client (the standard library's telnetlib is gone from current Pythons).

Option negotiation: we accept the server's ECHO and SUPPRESS-GO-AHEAD and refuse the rest,
which is what a plain line-mode client needs to reach a login prompt.
"""
from __future__ import annotations

import socket

from harness.errors import ConnectionClosed, DeviceError
from harness.transport.console import Console

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3


class TelnetConsole(Console):
    def __init__(self, wire, prompts, host: str, port: int = 23):
        super().__init__(wire, prompts)
        self.channel = f"telnet:{host}:{port}"
        self.sock = wire.connect(host, port, self.channel)
        self._pending = b""

    def _negotiate(self, data: bytes) -> bytes:
        """Strip telnet commands from data, answering negotiations."""
        data = self._pending + data
        self._pending = b""
        out, i, reply = bytearray(), 0, bytearray()
        while i < len(data):
            b = data[i]
            if b != IAC:
                out.append(b)
                i += 1
                continue
            if i + 1 >= len(data):
                self._pending = data[i:]
                break
            cmd = data[i + 1]
            if cmd == IAC:
                out.append(IAC)
                i += 2
            elif cmd in (DO, DONT, WILL, WONT):
                if i + 2 >= len(data):
                    self._pending = data[i:]
                    break
                opt = data[i + 2]
                if cmd == WILL:
                    reply += bytes([IAC, DO if opt in (ECHO, SGA) else DONT, opt])
                elif cmd == DO:
                    reply += bytes([IAC, WILL if opt == SGA else WONT, opt])
                i += 3
            elif cmd == SB:
                end = data.find(bytes([IAC, SE]), i)
                if end < 0:
                    self._pending = data[i:]
                    break
                i = end + 2
            else:
                i += 2
        if reply:
            self.sock.sendall(bytes(reply))
        return bytes(out)

    def _read(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return b""
        except OSError as exc:
            raise DeviceError(f"{self.channel}: {exc}") from None
        if not data:
            raise ConnectionClosed(f"{self.channel}: connection closed by the device")
        return self._negotiate(data)

    def _write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data.replace(bytes([IAC]), bytes([IAC, IAC])).replace(b"\n", b"\r\n"))
        except OSError as exc:
            raise DeviceError(f"{self.channel}: {exc}") from None

    def close(self) -> None:
        self.logout()
        self.sock.close()
