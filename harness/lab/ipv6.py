"""IPv6 addresses found on the lab link: a lab engineer rarely knows a unit's IPv6 address,
but the unit's MAC is on its label. On each lab interface the lab config names
(`scope.interfaces`), one ICMPv6 echo request goes to the all-nodes group (ff02::1) from
each of the interface's own addresses; every reply carries its sender's MAC and address.
A unit whose profile gives a MAC but no address6 gets the in-scope global addresses that
answered from its MAC — said in its evidence as found, and how. Link-level discovery on a
link the lab names, not a connection: the scope allowlist still decides what is probed."""
from __future__ import annotations

import ipaddress
import secrets
import threading
import time

WAIT = 2.0               # seconds replies are collected per interface (one request each)
START_WAIT = 10.0        # seconds for the capture socket to open
WANT_WAIT = 10.0         # seconds for the reply of the one unit asked about


def _own_addresses(iface: str) -> list[str]:
    from scapy.arch.linux import in6_getifaddr
    return [a for a, _scope, dev in in6_getifaddr() if dev == iface]


def probe(iface: str, want: set[str] = frozenset()) -> dict[str, set[str]]:
    """MAC -> IPv6 addresses that answered an echo to ff02::1 on `iface` (bounded: one
    request per own address, WAIT seconds; with the MACs of the units asked about, `want`,
    until each has answered from a global address (its link-local one may come first) or
    WANT_WAIT seconds: on a loaded machine every unit answers at once and the capture falls
    behind)."""
    from scapy.all import AsyncSniffer, Ether, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, conf
    from scapy.all import sendp
    conf.verb = 0
    ident = secrets.randbelow(0xFFFF)
    ready, got = threading.Event(), threading.Event()
    out: dict[str, set[str]] = {}

    def seen(p) -> None:
        mac = p[Ether].src.lower()
        out.setdefault(mac, set()).add(p[IPv6].src)
        if want and all(any(not ipaddress.ip_address(a).is_link_local
                            for a in out.get(m, ())) for m in want):
            got.set()               # each unit asked about has shown a global address
    # echo replies only, chosen in the kernel (BPF): the lab link carries the scans too
    sniffer = AsyncSniffer(iface=iface, store=False, prn=seen, started_callback=ready.set,
                           filter="icmp6 and ip6[40] == 129",
                           lfilter=lambda p: p.haslayer(ICMPv6EchoReply)
                           and p[ICMPv6EchoReply].id == ident)
    sniffer.start()
    # the request only once the capture listens (a fixed 0.2 s lost the replies under load)
    if not ready.wait(START_WAIT):
        sniffer.stop()
        raise OSError(f"no capture on {iface} within {START_WAIT:.0f}s")
    for src in _own_addresses(iface):
        sendp(Ether(dst="33:33:00:00:00:01") / IPv6(src=src, dst="ff02::1")
              / ICMPv6EchoRequest(id=ident, data=b"harness"), iface=iface)
    if want:
        got.wait(WANT_WAIT)
    else:
        time.sleep(WAIT)
    sniffer.stop()
    return {mac: set(found) for mac, found in out.items()}


def discover(ctx) -> None:
    """For each unit with a MAC and no address6 (and not stated IPv6-less), look for its
    addresses on the lab's interfaces; record what was found, or why nothing was."""
    wanted = [d for d in ctx.devices if d.profile.mac and not d.profile.address6
              and d.profile.has_ipv6 is not False and d.profile.address]
    interfaces = ctx.lab.scope.interfaces
    if not wanted:
        return
    seen: dict[str, tuple[str, set[str]]] = {}
    errors = []
    for iface in interfaces:
        try:
            for mac, addrs in probe(iface, {d.profile.mac.lower() for d in wanted}).items():
                seen.setdefault(mac, (iface, set()))[1].update(addrs)
        except (OSError, ValueError, RuntimeError) as exc:
            errors.append(f"{iface}: {exc}")
    scope = ctx.lab.scope_checker()
    for d in wanted:
        mac = d.profile.mac.lower()
        iface, addrs = seen.get(mac, ("", set()))
        globals_ = sorted(a for a in addrs if not ipaddress.ip_address(a).is_link_local)
        usable = [a for a in globals_ if scope.allows(a)]
        record = {"mac": mac, "interfaces": list(interfaces), "answered": sorted(addrs),
                  "how": f"ICMPv6 echo to ff02::1 on {iface or ', '.join(interfaces)}; "
                         f"replies from MAC {mac}"}
        if usable:
            record["address6"] = usable[0]
            d.profile = d.profile.model_copy(update={"address6": usable[0]})
        else:
            record["why_none"] = (
                "the lab config names no lab interface (scope.interfaces)" if not interfaces
                else "; ".join(errors) if errors and not seen
                else f"addresses {globals_} answered but are outside the scope allowlist"
                if globals_ else f"no global IPv6 address answered from MAC {mac}")
        d.wire.transcript.note("lab", f"IPv6 discovery: {record}")
        ctx.record_identity(d, {"ipv6_discovery": record})
