"""The scope allowlist: the only addresses the harness may send a packet to.

Whatever the list says, a connect never goes to a loopback, unspecified, multicast or
broadcast address, nor to one of this machine's own addresses; IPv4-mapped IPv6 addresses
(::ffff:127.0.0.1) are judged as the IPv4 address they carry. A list entry is refused when
any such address lies anywhere in its range (126.0.0.0/7 holds loopback, 128.0.0.0/1
multicast and broadcast, 8000::/1 multicast, ::ffff:0:0/96 every IPv4 address), except
this host's own address on the lab's link (harness_address, the lab interfaces'), which a
device network always holds."""
from __future__ import annotations

import ipaddress
import json
import socket
import subprocess

from harness.errors import ScopeError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SPECIAL = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "0.0.0.0/32", "224.0.0.0/4", "255.255.255.255/32",   # IPv4
    "::1/128", "::/128", "ff00::/8", "::ffff:0:0/96")]                   # IPv6


def own_addresses() -> dict[str, str]:
    """This machine's addresses -> the interface holding each (`ip -j addr`)."""
    try:
        out = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True,
                             timeout=10).stdout
        links = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
    return {a["local"].split("%")[0]: link.get("ifname", "")
            for link in links for a in link.get("addr_info", []) if a.get("local")}


def plain(ip: Address) -> Address:
    """An IPv4-mapped IPv6 address as the IPv4 address it carries."""
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip


def forbidden(ip: Address, own=()) -> str | None:
    """Why no packet may go to `ip` whatever the allowlist says (None: it may)."""
    ip = plain(ip)
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255"):
        return "the broadcast address"
    if str(ip) in own:
        return "one of this machine's own addresses"
    return None


def entry_problem(net, own: dict[str, str], exempt=()) -> str | None:
    """Why an allowlist entry is refused (None: it is a device network)."""
    if net.prefixlen == 0:
        return "every address: name the lab's device networks"
    for special in SPECIAL:
        if special.version == net.version and net.overlaps(special):
            return f"it holds {special} ({forbidden(special.network_address) or 'IPv4-mapped addresses'})"
    mine = [a for a in own if a not in exempt
            and ipaddress.ip_address(a).version == net.version
            and ipaddress.ip_address(a) in net]
    if mine:
        return f"it holds this machine's own address {mine[0]} ({own[mine[0]]})"
    return None


class Scope:
    def __init__(self, allow: list[str], interfaces: list[str] = (), own: dict | None = None):
        self.networks = [ipaddress.ip_network(a, strict=False) for a in allow]
        self.interfaces = set(interfaces)
        self.own = own_addresses() if own is None else own

    def allows(self, address: str) -> bool:
        return self.refusal(address) is None

    def refusal(self, address: str) -> str | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return "not an IP address"
        if getattr(ip, "scope_id", None):
            # a zone (fe80::1%eth0) picks the interface: only one the lab config names
            if ip.scope_id not in self.interfaces:
                return f"zone {ip.scope_id} is not a lab interface (scope.interfaces)"
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        why = forbidden(ip, self.own)
        if why:
            return why
        ip = plain(ip)
        if any(ip in net for net in self.networks if net.version == ip.version):
            return None
        return "outside the lab's scope allowlist"

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
        refused = [(a, self.refusal(a)) for a in addresses]
        refused = [(a, why) for a, why in refused if why]
        if refused:
            allowed = ", ".join(str(n) for n in self.networks) or "nothing"
            a, why = refused[0]
            detail = "is outside the lab's scope " \
                f"allowlist ({allowed})" if why == "outside the lab's scope allowlist" else \
                f"is {why}, never a device under test"
            raise ScopeError(f"{what} {host} ({a}) {detail}; refusing to send anything to it")
        return addresses[0]
