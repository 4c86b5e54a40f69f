"""The device as TLS client: the harness stands in for the server the device connects to,
presenting a certificate for the right host name from a CA the device cannot trust.

A compliant client aborts the handshake (usually with an unknown_ca/bad_certificate
alert); a client that completes it would talk to anyone. Bounded: one listener, at most
`max_connections` connections, `wait` seconds in all; the application data a client sends
after a completed handshake is counted, never stored (it may carry credentials).
"""
from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from harness.certs import issue_cert, pem_text
from harness.errors import DeviceError
from harness.probe.standin import listen

HANDSHAKE_TIMEOUT = 10.0


@dataclass
class Attempt:
    peer: str
    outcome: str                  # rejected | completed | failed | not-tls | stalled
    detail: str = ""
    sni: str | None = None
    app_bytes: int = 0
    first_app_byte: str = ""

    def to_dict(self):
        return self.__dict__


@dataclass
class StandIn:
    """A TLS server on the harness host with an untrusted certificate for `host`."""
    bind: str
    host: str
    transcript: object = None
    sock: socket.socket | None = None
    attempts: list[Attempt] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory | None = None
    endpoint: str = ""                      # HOST:PORT of the listener, once entered

    def __enter__(self) -> "StandIn":
        ca = issue_cert("Harness Untrusted Test CA", "", ca=True)
        leaf = issue_cert(self.host, self.host, issuer=ca)
        self._tmp = tempfile.TemporaryDirectory(prefix="hx-standin-")
        pem = Path(self._tmp.name) / "server.pem"
        from cryptography.hazmat.primitives import serialization
        pem.write_bytes(pem_text(*leaf) + ca[1].public_bytes(serialization.Encoding.PEM))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pem)
        try:                          # take old clients too: the question is trust, not version
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.ctx.minimum_version = ssl.TLSVersion.TLSv1
            self.ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass
        self.ctx.sni_callback = self._sni
        self._last_sni = None
        try:
            self.sock, self.endpoint = listen(self.bind, 4)
        except DeviceError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.sock:
            self.sock.close()
        if self._tmp:
            self._tmp.cleanup()

    def _sni(self, sslobj, name, ctx):
        self._last_sni = name

    def _note(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.note(f"tls-standin:{self.endpoint}", text)

    def start(self, wait: float, max_connections: int = 3) -> "StandIn":
        """Observe in the background, so a connection made while the lab action that
        triggers it is still running is answered at once."""
        self._thread = threading.Thread(target=self.observe, args=(wait, max_connections),
                                        daemon=True)
        self._thread.start()
        return self

    def result(self) -> list[Attempt]:
        self._thread.join()
        return self.attempts

    def observe(self, wait: float, max_connections: int = 3) -> list[Attempt]:
        """Accept connections until one is decisive (rejected or completed), at most
        max_connections, within wait seconds."""
        end = time.monotonic() + wait
        while len(self.attempts) < max_connections:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                conn, peer = self.sock.accept()
            except (socket.timeout, TimeoutError):
                break
            except OSError:           # the listener was closed: the test is over
                break
            attempt = self._handle(conn, f"{peer[0]}:{peer[1]}")
            self.attempts.append(attempt)
            self._note(f"{attempt.peer}: {attempt.outcome} {attempt.detail}")
            if attempt.outcome in ("rejected", "completed"):
                break
        return self.attempts

    def _handle(self, conn: socket.socket, peer: str) -> Attempt:
        conn.settimeout(HANDSHAKE_TIMEOUT)
        self._last_sni = None
        try:
            head = conn.recv(5, socket.MSG_PEEK)
            if not head or head[0] != 0x16:
                conn.close()
                return Attempt(peer, "not-tls", f"first bytes {head.hex() or 'none'}")
            tls = self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        except (socket.timeout, TimeoutError):
            conn.close()
            return Attempt(peer, "stalled", "no ClientHello")
        except OSError as exc:
            conn.close()
            return Attempt(peer, "not-tls", str(exc))
        try:
            tls.do_handshake()
        except ssl.SSLError as exc:
            tls.close()
            reason = exc.reason or str(exc)
            # an alert from the client is its refusal; a hang-up without one (a client timing
            # out, a reboot) or no shared version or cipher decides nothing
            outcome = "rejected" if "ALERT" in reason else "failed"
            return Attempt(peer, outcome, reason, self._last_sni)
        except (socket.timeout, TimeoutError):
            tls.close()
            return Attempt(peer, "stalled", "handshake did not finish", self._last_sni)
        except OSError as exc:
            # a reset or hang-up is no proof of refusal: a crash or a timeout looks the same;
            # only the client's own TLS alert says it rejected the certificate
            tls.close()
            return Attempt(peer, "reset", f"connection closed during the handshake without "
                           f"a TLS alert ({exc})", self._last_sni)
        attempt = Attempt(peer, "completed", f"{tls.version()} {tls.cipher()[0]}",
                          self._last_sni)
        try:
            tls.settimeout(3.0)
            data = tls.recv(4096)
            attempt.app_bytes = len(data)
            attempt.first_app_byte = data[:1].hex()
        except (OSError, ssl.SSLError):
            pass
        finally:
            tls.close()
        return attempt
