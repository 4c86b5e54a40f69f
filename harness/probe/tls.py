"""TLS versions and cipher suites on every TLS port, through sslyze, 1-2 connections at a time."""
from __future__ import annotations

import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field

from harness.errors import DeviceError, TransportTimeout

SCAN_BOUND_PER_PORT = 300.0      # seconds: an outer bound (sslyze has its own timeouts)

VERSIONS = {"ssl_2_0_cipher_suites": "SSLv2", "ssl_3_0_cipher_suites": "SSLv3",
            "tls_1_0_cipher_suites": "TLSv1.0", "tls_1_1_cipher_suites": "TLSv1.1",
            "tls_1_2_cipher_suites": "TLSv1.2", "tls_1_3_cipher_suites": "TLSv1.3"}


@dataclass
class TLSObservation:
    port: int
    versions: dict[str, list[str]] = field(default_factory=dict)   # version -> accepted suites
    error: str = ""

    def to_dict(self):
        return self.__dict__


def tls_ports(profile) -> list[int]:
    ports = {w.port for w in profile.web if w.tls}
    ports |= {s.port for s in profile.declared_services
              if s.service in ("https", "mqtts", "tls", "rtsps", "ftps")}
    if profile.update and profile.update.tls and profile.update.serves_port:
        ports.add(profile.update.port)
    return sorted(ports)


def _client_hello() -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def check_speaks_tls(device, ip: str, port: int) -> None:
    """A ClientHello, and the first record header back within the command timeout for the
    whole exchange (not per read). A port that accepts TCP and then stalls, trickles or
    answers with something else would keep sslyze's many connections busy for as long as
    it likes: DeviceError (TransportTimeout) naming it instead."""
    wire = device.wire
    deadline = time.monotonic() + wire.command_timeout
    sock = wire.connect(ip, port, "tls")
    try:
        sock.sendall(_client_hello())
        head = b""
        while len(head) < 5:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportTimeout(f"tls: {ip}:{port} sent {len(head)} of a record "
                                       f"header's 5 bytes within {wire.command_timeout:.0f}s")
            sock.settimeout(left)
            try:
                chunk = sock.recv(5 - len(head))
            except socket.timeout:
                continue
            except OSError as exc:
                raise DeviceError(f"tls: {ip}:{port}: {exc}") from None
            if not chunk:
                return                 # closed at once: sslyze reports what it can reach
            head += chunk
    finally:
        sock.close()
    if not (head[0] in (0x15, 0x16) and head[1] == 3) and not head[0] & 0x80:   # SSLv2
        raise DeviceError(f"tls: {ip}:{port} does not answer a ClientHello with TLS "
                          f"(first bytes {head!r})")


def scan(device, ports: list[int], connections: int = 2) -> list[TLSObservation]:
    """sslyze's scan, in a process of its own (harness.runner.isolate): its memory goes with it."""
    from harness.runner.isolate import forked
    bound = SCAN_BOUND_PER_PORT * max(1, len(ports))
    return forked(f"sslyze scan of {device.name}", _scan, device, ports, connections,
                  timeout=bound)


def _scan(device, ports: list[int], connections: int) -> list[TLSObservation]:
    from sslyze import (Scanner, ScanCommand, ServerNetworkLocation, ServerScanRequest,
                        ServerScanStatusEnum)
    ip = device.wire.scope.check(device.profile.address, "TLS scan target")
    for port in ports:
        check_speaks_tls(device, ip, port)
    commands = {getattr(ScanCommand, n.upper()) for n in VERSIONS}
    requests = [ServerScanRequest(server_location=ServerNetworkLocation(
        hostname=ip, port=port, ip_address=ip), scan_commands=commands) for port in ports]
    scanner = Scanner(per_server_concurrent_connections_limit=connections,
                      concurrent_server_scans_limit=1)
    device.wire.transcript.sent("sslyze", f"scan {ip} ports {ports} "
                                          f"(≤{connections} connections at a time)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scanner.queue_scans(requests)
        results = list(scanner.get_results())
    out = []
    for r in results:
        obs = TLSObservation(r.server_location.port)
        if r.scan_status != ServerScanStatusEnum.COMPLETED or r.scan_result is None:
            obs.error = f"no TLS connection: {r.connectivity_error_trace or r.scan_status}"
        else:
            for attr, version in VERSIONS.items():
                attempt = getattr(r.scan_result, attr)
                if attempt.result is None:
                    obs.error += f"{version}: {attempt.error_reason}; "
                    continue
                suites = [c.cipher_suite.name for c in attempt.result.accepted_cipher_suites]
                if suites:
                    obs.versions[version] = suites
        out.append(obs)
        device.wire.transcript.received("sslyze", f"port {obs.port}: "
                                        f"{ {v: len(s) for v, s in obs.versions.items()} } {obs.error}")
    if not out:
        raise DeviceError("sslyze returned no results")
    return out
