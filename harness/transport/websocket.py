"""WebSocket (RFC 6455) client that only listens: the handshake, then the server's text
frames, bounded in bytes and time. SWUpdate's web server reports an update's progress on
one (/ws)."""
from __future__ import annotations

import base64
import os
import ssl
import time

from harness.errors import DeviceError

MAX_HEAD = 16 << 10
MAX_FRAME = 256 << 10


class WebSocket:
    def __init__(self, wire, host: str, port: int, path: str, tls: bool = False,
                 authorization: str | None = None):
        self.wire, self.channel = wire, f"ws{'s' if tls else ''}:{host}:{port}{path}"
        sock = wire.connect(host, port, self.channel)
        try:
            if tls:
                from harness.transport.http import _context
                sock = _context().wrap_socket(sock)
            key = base64.b64encode(os.urandom(16)).decode()
            shown = f"[{host}]" if ":" in host else host
            head = (f"GET {path} HTTP/1.1\r\nHost: {shown}:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n")
            if authorization:
                head += f"Authorization: {authorization}\r\n"
            wire.transcript.sent(self.channel, f"GET {path} (websocket upgrade"
                                 + (", with credentials)" if authorization else ")"))
            sock.sendall((head + "\r\n").encode())
            self.buf = self._head(sock)
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise DeviceError(f"{self.channel}: {exc}") from None
        except DeviceError:
            sock.close()
            raise
        self.sock = sock

    def _head(self, sock) -> bytes:
        buf = b""
        sock.settimeout(self.wire.command_timeout)
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk or len(buf) > MAX_HEAD:
                raise DeviceError(f"{self.channel}: no websocket handshake answer")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        self.wire.transcript.received(self.channel, status)
        if " 101 " not in status + " ":
            raise DeviceError(f"{self.channel}: the upgrade was answered '{status}'")
        return rest

    def messages(self, seconds: float, stop=lambda text: False) -> list[str]:
        """Text frames received within `seconds` (until `stop(text)` is true for one)."""
        out, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            frame = self._frame(end)
            if frame is None:
                break
            opcode, payload = frame
            if opcode == 8:                               # close
                break
            if opcode == 1:
                text = payload.decode("utf-8", "replace")
                out.append(text)
                if stop(text):
                    break
        return out

    def _need(self, n: int, end: float) -> bool:
        while len(self.buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except OSError:                 # a timeout, a reset, a TLS error: no frame
                return False
            if not chunk:
                return False
            self.buf += chunk
        return True

    def _frame(self, end: float) -> tuple[int, bytes] | None:
        if not self._need(2, end):
            return None
        opcode, n, off = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
        if n == 126:
            if not self._need(4, end):
                return None
            n, off = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            if not self._need(10, end):
                return None
            n, off = int.from_bytes(self.buf[2:10], "big"), 10
        if n > MAX_FRAME:
            raise DeviceError(f"{self.channel}: a frame of {n} bytes (at most {MAX_FRAME})")
        if self.buf[1] & 0x80:
            raise DeviceError(f"{self.channel}: a masked frame from the server")
        if not self._need(off + n, end):
            return None
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return opcode, payload

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
