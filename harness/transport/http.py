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
import urllib.parse
from dataclasses import dataclass, field

from harness.transport import deadline
from harness.errors import DeviceError, TransportTimeout

MAX_BODY = 2 << 20


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookies: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def request(wire, host: str, port: int, path: str, method: str = "GET", tls: bool = False,
            headers: dict | None = None, body: bytes | None = None,
            basic: tuple[str, str] | None = None, digest: tuple[str, str] | None = None,
            timeout: float | None = None) -> Response:
    """One request; with digest=(user, password) a second one answers the challenge."""
    if digest:
        first = request(wire, host, port, path, method, tls, headers, body, timeout=timeout)
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
    shown = {k: ("<secret>" if k.lower() == "authorization" else v) for k, v in headers.items()}
    wire.transcript.sent(channel, f"{method} {path} {shown}" + (f" body={len(body)}B" if body else ""))
    g = None
    try:
        conn.connect()                       # connect (and TLS handshake) within connect_timeout
        conn.sock.settimeout(timeout)        # then the whole reply within the command timeout
        with deadline.guard(conn.sock, timeout) as g:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read(MAX_BODY)
    except (socket.timeout, TimeoutError):
        raise TransportTimeout(f"{channel}: {method} {path} got no answer in {timeout:.0f}s") \
            from None
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if g is not None and g.fired:
            raise TransportTimeout(f"{channel}: {method} {path}: the reply did not finish in "
                                   f"{timeout:.0f}s") from None
        raise DeviceError(f"{channel}: {method} {path}: {exc}") from None
    finally:
        conn.close()
    cookies = {}
    for line in resp.msg.get_all("Set-Cookie") or []:
        name, _, value = line.split(";", 1)[0].partition("=")
        cookies[name.strip()] = value.strip()
    out = Response(resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, data,
                   cookies)
    wire.transcript.received(channel, f"{out.status} {out.reason} {len(data)}B "
                                      + out.text()[:300].replace("\n", " "))
    return out


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


def login(wire, host: str, web, user: str, password: str) -> bool:
    """Log in to a web surface as the profile describes it (basic, digest or form) and
    prove it: the first admin path must then answer 2xx. A form login's session cookie is
    sent with that request; a login that sets no cookie is a refusal."""
    path = web.admin_paths[0]
    if web.auth == "basic":
        r = request(wire, host, web.port, path, tls=web.tls, basic=(user, password))
    elif web.auth == "digest":
        r = request(wire, host, web.port, path, tls=web.tls, digest=(user, password))
    elif web.auth == "form":
        form = urllib.parse.urlencode({web.user_field: user, web.password_field: password})
        posted = request(wire, host, web.port, web.login_path, "POST", tls=web.tls,
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         body=form.encode())
        if not posted.cookies:
            return False
        cookie = "; ".join(f"{k}={v}" for k, v in posted.cookies.items())
        r = request(wire, host, web.port, path, tls=web.tls, headers={"Cookie": cookie})
    else:
        raise ValueError(f"no login on a web surface with auth '{web.auth}'")
    return 200 <= r.status < 300
