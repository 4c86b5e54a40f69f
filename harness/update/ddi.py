"""The harness standing in for the vendor's update server, speaking the hawkBit Direct
Device Integration API (Eclipse hawkBit's device side, spoken by SWUpdate's suricatta and
rauc-hawkbit-updater): the unit polls its controller base, finds a deployment when one is
offered, downloads the artifact and posts its feedback (closed with success or failure).

One listener on the lab's harness_address (the lab's redirect action sends the unit's
connections to the update server here), plain or TLS with the certificate the vendor
handed over for its server; bounded: at most MAX_REQUESTS requests in all, each read with
a deadline. Every request is recorded (method, path, over TLS or not, the feedback)."""
from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.probe.standin import listen

MAX_REQUESTS, READ_TIMEOUT, POLL_SLEEP = 400, 10.0, "00:00:02"
ARTIFACT = "update.swu"
BASE = re.compile(r"^/[A-Za-z0-9_.-]{1,64}/controller/v1/[A-Za-z0-9_.:-]{1,128}")


@dataclass
class Offer:
    action: str
    image: bytes
    feedback: list[dict] = field(default_factory=list)
    downloaded: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sock: socket.socket, standin: "StandIn"):
        self.standin = standin
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock

    def get_request(self):
        conn, peer = self.socket.accept()
        conn.settimeout(READ_TIMEOUT)
        return conn, peer

    def finish_request(self, request, client_address):
        """In the connection's own thread: the TLS handshake (a unit slow to answer or
        refusing holds up no other connection), then the request."""
        ctx = self.standin.tls
        if ctx is None:
            return super().finish_request(request, client_address)
        try:
            conn = ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.standin.log("handshake", f"{client_address[0]}: "
                             f"{getattr(exc, 'reason', None) or exc}")
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    server_version, sys_version = "hawkbit-standin", ""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):         # the stand-in records what matters itself
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # one request per connection: a unit's next poll is a new connection, which the
        # lab's current redirect decides (a kept-alive one would stay with an old stand-in)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        n = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.server.standin.answer(self, "GET", b"")

    def do_POST(self):
        self.server.standin.answer(self, "POST", self._body())

    def do_PUT(self):
        self.server.standin.answer(self, "PUT", self._body())


class StandIn:
    """`cert_pem`: the server's certificate chain and key (None: plain HTTP). Any tenant
    and controller id the unit puts in its paths is answered."""

    def __init__(self, bind: str, cert_pem: str | None = None, transcript=None):
        self.transcript = transcript
        self.tls = None
        if cert_pem:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(cert_pem)
        self.sock, self.endpoint = listen(bind, 16)
        self.requests: list[dict] = []
        self.offer: Offer | None = None
        self._lock = threading.Lock()
        self._server = _Server(self.sock, self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "StandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def log(self, what: str, text: str) -> None:
        if self.transcript is not None:
            self.transcript.note(f"update-server-standin:{self.endpoint}", f"{what}: {text}")

    def _href(self, handler, path: str) -> str:
        host = handler.headers.get("Host") or self.endpoint
        return f"{'https' if self.tls else 'http'}://{host}{path}"

    def offer_image(self, image: bytes, action: str) -> Offer:
        with self._lock:
            self.offer = Offer(action, image)
            return self.offer

    def withdraw(self) -> None:
        with self._lock:
            self.offer = None

    def answer(self, h: _Handler, method: str, body: bytes) -> None:
        path = h.path.split("?", 1)[0]
        m = BASE.match(path)
        base = m.group(0) if m else None
        with self._lock:
            if len(self.requests) >= MAX_REQUESTS:
                h._send(503)
                return
            self.requests.append({"at": time.time(), "method": method, "path": path,
                                  "tls": self.tls is not None, "base": path == base})
            offer = self.offer
        self.log("request", f"{method} {path}")
        if base is None:
            return h._send(404)
        if method == "GET" and path == base:
            doc = {"config": {"polling": {"sleep": POLL_SLEEP}}, "_links": {}}
            if offer:
                doc["_links"]["deploymentBase"] = {
                    "href": self._href(h, f"{base}/deploymentBase/{offer.action}")}
            return h._send(200, json.dumps(doc).encode())
        if offer and method == "GET" and path == f"{base}/deploymentBase/{offer.action}":
            return h._send(200, json.dumps(self._deployment(h, base, offer)).encode())
        if offer and method == "GET" and path.endswith(f"/artifacts/{ARTIFACT}"):
            offer.downloaded += 1
            return h._send(200, offer.image, "application/octet-stream")
        if offer and method == "POST" and path.endswith(f"/deploymentBase/{offer.action}/feedback"):
            try:
                status = json.loads(body or b"{}").get("status", {})
            except ValueError:
                status = {"unreadable": body[:200].decode(errors="replace")}
            offer.feedback.append(status)
            self.log("feedback", json.dumps(status)[:300])
            return h._send(200)
        if method in ("PUT", "POST"):           # configData, feedback on other actions
            return h._send(200)
        return h._send(404)

    def _deployment(self, h, base: str, offer: Offer) -> dict:
        img = offer.image
        link = self._href(h, f"{base}/softwaremodules/1/artifacts/{ARTIFACT}")
        return {"id": offer.action, "deployment": {
            "download": "forced", "update": "forced", "chunks": [{
                "part": "os", "name": "firmware", "version": offer.action,
                "artifacts": [{"filename": ARTIFACT, "size": len(img), "hashes": {
                    "sha1": hashlib.sha1(img).hexdigest(), "md5": hashlib.md5(img).hexdigest(),
                    "sha256": hashlib.sha256(img).hexdigest()},
                    "_links": {"download": {"href": link}, "download-http": {"href": link}}}]}]}}

    def polled(self, since: float) -> bool:
        return any(r["base"] and r["at"] >= since for r in self.requests)

    def wait(self, until, within: float) -> bool:
        """Until `until()` holds or `within` seconds pass (checked every 0.2 s)."""
        end = time.monotonic() + within
        while time.monotonic() < end:
            if until():
                return True
            time.sleep(0.2)
        return until()

    def outcome(self, offer: Offer) -> str | None:
        """The unit's final word on the offer: success, failure, or None (none yet)."""
        for status in reversed(offer.feedback):
            if status.get("execution") == "closed":
                return (status.get("result") or {}).get("finished") or "closed"
        return None
