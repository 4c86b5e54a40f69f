"""HTTP(S) client with hard timeouts and transcripts. Device certificates are not verified
here (devices ship self-signed certificates); TLS quality is the tls probe's job."""
from __future__ import annotations

import base64
import http.client
import socket
import ssl
from dataclasses import dataclass, field

from harness.errors import DeviceError, TransportTimeout

MAX_BODY = 2 << 20


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def request(wire, host: str, port: int, path: str, method: str = "GET", tls: bool = False,
            headers: dict | None = None, body: bytes | None = None,
            basic: tuple[str, str] | None = None, timeout: float | None = None) -> Response:
    ip = wire.scope.check(host)
    channel = f"{'https' if tls else 'http'}:{ip}:{port}"
    headers = dict(headers or {})
    if basic:
        token = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    timeout = timeout or wire.command_timeout
    cls = http.client.HTTPSConnection if tls else http.client.HTTPConnection
    kwargs = {"context": _context()} if tls else {}
    conn = cls(ip, port, timeout=wire.connect_timeout, **kwargs)
    shown = {k: ("<secret>" if k.lower() == "authorization" else v) for k, v in headers.items()}
    wire.transcript.sent(channel, f"{method} {path} {shown}" + (f" body={len(body)}B" if body else ""))
    try:
        conn.connect()                       # connect (and TLS handshake) within connect_timeout
        conn.sock.settimeout(timeout)        # then the reply within the command timeout
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read(MAX_BODY)
    except (socket.timeout, TimeoutError):
        raise TransportTimeout(f"{channel}: {method} {path} got no answer in {timeout:.0f}s") \
            from None
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise DeviceError(f"{channel}: {method} {path}: {exc}") from None
    finally:
        conn.close()
    out = Response(resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, data)
    wire.transcript.received(channel, f"{out.status} {out.reason} {len(data)}B "
                                      + out.text()[:300].replace("\n", " "))
    return out
