"""The scope allowlist: the only addresses the harness may send a packet to."""
from __future__ import annotations

import ipaddress
import socket

from harness.errors import ScopeError


class Scope:
    def __init__(self, allow: list[str], interfaces: list[str] = ()):
        self.networks = [ipaddress.ip_network(a, strict=False) for a in allow]
        self.interfaces = set(interfaces)

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if getattr(ip, "scope_id", None):
            # a zone (fe80::1%eth0) picks the interface: only one the lab config names
            if ip.scope_id not in self.interfaces:
                return False
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_unspecified or ip.is_multicast:
            return False
        return any(ip in net for net in self.networks if net.version == ip.version)

    def check(self, host: str, what: str = "target") -> str:
        """Return the IP to connect to, or raise ScopeError. Names are resolved first and
        every resolved address must be in scope (no DNS rebinding around the allowlist)."""
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
            except socket.gaierror as exc:
                raise ScopeError(f"{what} {host!r} does not resolve: {exc}") from None
            addresses = sorted({i[4][0] for i in infos})
        outside = [a for a in addresses if not self.allows(a)]
        if outside:
            allowed = ", ".join(str(n) for n in self.networks) or "nothing"
            raise ScopeError(f"{what} {host} ({', '.join(outside)}) is outside the lab's scope "
                             f"allowlist ({allowed}); refusing to send anything to it")
        return addresses[0]
