"""Key material a unit shows on the network: SSH host key and TLS certificate fingerprints."""
from __future__ import annotations

import hashlib
import socket
import ssl

from harness.errors import DeviceError
from harness.probe.tls import tls_ports
from harness.transport.ssh import SSHSession


def ssh_host_key(device) -> dict | None:
    p = device.profile
    if not p.ssh:
        return None
    s = SSHSession(device.wire, p.address, p.ssh.port)
    try:
        return s.host_key()
    finally:
        s.close()


def tls_certificates(device) -> dict[int, str]:
    out = {}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    for port in tls_ports(device.profile):
        sock = device.wire.connect(device.profile.address, port, f"tls:{port}")
        try:
            with ctx.wrap_socket(sock) as tls:
                der = tls.getpeercert(binary_form=True)
        except (ssl.SSLError, OSError, socket.timeout) as exc:
            raise DeviceError(f"tls:{port}: handshake failed: {exc}") from None
        out[port] = "sha256:" + hashlib.sha256(der).hexdigest()
        device.wire.transcript.received(f"tls:{port}", f"certificate {out[port]}")
    return out
