"""HTTP(S) client with hard timeouts and transcripts. Device certificates are not verified
here (devices ship self-signed certificates); TLS quality is the tls probe's job."""
from __future__ import annotations

import base64
import hashlib
import http.client
import re
import secrets
import socket
import ssl
from dataclasses import dataclass, field

from harness.transport import deadline
from harness.errors import DeviceError, TransportTimeout

MAX_BODY = 256 << 10
BODY_SECONDS = 5.0
# bodies that never end by design: a camera's MJPEG stream, server-sent events
ENDLESS = ("multipart/x-mixed-replace", "text/event-stream", "video/", "audio/")


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookies: dict[str, str] = field(default_factory=dict)
    truncated: str = ""        # why the body was not read to its end ("" when it was)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def _context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def request(wire, host: str, port: int, path: str, method: str = "GET", tls: bool = False,
            headers: dict | None = None, body: bytes | None = None,
            basic: tuple[str, str] | None = None, digest: tuple[str, str] | None = None,
            timeout: float | None = None, max_body: int = MAX_BODY,
            body_seconds: float = BODY_SECONDS, log_body: bool = True) -> Response:
    """One request; with digest=(user, password) a second one answers the challenge (the
    first, which draws it, carries no body: a large upload is sent once, and some servers
    close an unauthenticated one unread).

    The status line and headers must arrive within `timeout` (else TransportTimeout). The
    body is read for at most `body_seconds` and `max_body` bytes: an endless stream (a
    camera's MJPEG feed) or a large download is normal, not an error — the response then
    says `truncated` and why. Decisions rest on the status, headers and the body's start.
    `log_body=False`: the transcript gets the answer's size only (a login's token)."""
    if digest:
        first = request(wire, host, port, path, method, tls, headers, b"" if body else None,
                        timeout=timeout, max_body=4096, body_seconds=1.0)
        challenge = first.headers.get("www-authenticate", "")
        if first.status != 401 or not challenge.lower().startswith("digest"):
            return first
        headers = {**(headers or {}),
                   "Authorization": digest_authorization(challenge, method, path, *digest)}
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
    shown = {k: ("<secret>" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
    wire.transcript.sent(channel, f"{method} {path} {shown}" + (f" body={len(body)}B" if body else ""))
    g = None
    try:
        conn.connect()                       # connect (and TLS handshake) within connect_timeout
        conn.sock.settimeout(timeout)        # then status line and headers within the timeout
        with deadline.guard(conn.sock, timeout) as g:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
        data, truncated = _body(resp, conn.sock, method, max_body, body_seconds)
    except (socket.timeout, TimeoutError):
        raise TransportTimeout(f"{channel}: {method} {path} got no answer in {timeout:.0f}s") \
            from None
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if g is not None and g.fired:
            raise TransportTimeout(f"{channel}: {method} {path}: no status line and headers "
                                   f"within {timeout:.0f}s") from None
        raise DeviceError(f"{channel}: {method} {path}: {exc}") from None
    finally:
        conn.close()
    cookies = {}
    for line in resp.msg.get_all("Set-Cookie") or []:
        name, _, value = line.split(";", 1)[0].partition("=")
        cookies[name.strip()] = value.strip()
    out = Response(resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, data,
                   cookies, truncated)
    cut = f" (body cut: {truncated})" if truncated else ""
    shown = out.text()[:300].replace("\n", " ") if log_body else "(body not logged: a login answer)"
    wire.transcript.received(channel, f"{out.status} {out.reason} {len(data)}B{cut} {shown}")
    return out


SECRET_HEADERS = ("authorization", "cookie", "x-auth-token", "x-api-key")


def _body(resp, sock, method: str, limit: int, seconds: float) -> tuple[bytes, str]:
    """The body's first `limit` bytes within `seconds`; (data, why it was cut or "")."""
    if method == "HEAD" or resp.status in (204, 304):
        return b"", ""
    kind = (resp.getheader("Content-Type") or "").lower()
    if any(kind.startswith(e) for e in ENDLESS):
        limit, seconds = min(limit, 64 << 10), min(seconds, 2.0)
    chunks, size, why = [], 0, ""
    with deadline.guard(sock, seconds) as g:
        try:
            while size < limit:
                chunk = resp.read1(min(65536, limit - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            else:
                why = f"read the first {limit} bytes" + (f" of a {kind.split(';')[0]} stream"
                                                         if kind else "")
        except (OSError, http.client.HTTPException, ValueError):
            if not g.fired:
                why = "the device closed the connection mid-body"
    if g.fired:
        why = f"still sending after {seconds:.0f}s ({size} bytes read)"
    return b"".join(chunks), why


def digest_authorization(challenge: str, method: str, uri: str, user: str, password: str,
                         cnonce: str | None = None) -> str:
    """The Authorization header answering an RFC 7616 Digest challenge (MD5 or SHA-256,
    plain or -sess, qop=auth or none)."""
    params = {k.lower(): (q if q else v) for k, q, v in
              re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', challenge.split(" ", 1)[1])}
    algorithm = params.get("algorithm", "MD5")
    fn = hashlib.sha256 if algorithm.upper().startswith("SHA-256") else hashlib.md5

    def h(text: str) -> str:
        return fn(text.encode()).hexdigest()
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    cnonce, nc = cnonce or secrets.token_hex(8), "00000001"
    ha1 = h(f"{user}:{realm}:{password}")
    if algorithm.lower().endswith("-sess"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    qop = "auth" if "auth" in [q.strip() for q in params.get("qop", "").split(",")] else ""
    response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}") if qop else h(f"{ha1}:{nonce}:{ha2}")
    out = (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
           f'algorithm={algorithm}, response="{response}"')
    if qop:
        out += f', qop={qop}, nc={nc}, cnonce="{cnonce}"'
    if "opaque" in params:
        out += f', opaque="{params["opaque"]}"'
    return out


def file_form(field: str, filename: str, data: bytes) -> tuple[bytes, dict]:
    """A multipart/form-data body with one file field, as a browser sends an upload form,
    and its Content-Type header."""
    import secrets
    boundary = "hx" + secrets.token_hex(12)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
