"""What a unit sends on the lab link, listened to passively on the lab's own interfaces
(`scope.interfaces`) by the unit's MAC: nothing is sent. Used after a refused boot (TS 103
701 5.7-2-2b: a unit that found its software changed connects no wider than its alerting
needs), with a positive control: the same watch across a normal boot must see the unit.

Bounded: at most MAX_FRAMES kept, the caller's seconds.
"""
from __future__ import annotations

import contextlib
import threading

MAX_FRAMES = 200
START_WAIT = 10.0           # s for the capture socket to open


def _summary(p) -> dict:
    from scapy.all import ARP, IP, TCP, UDP, IPv6
    if p.haslayer(ARP):
        return {"kind": "arp", "to": p[ARP].pdst}
    ip = p[IP] if p.haslayer(IP) else p[IPv6] if p.haslayer(IPv6) else None
    if ip is None:
        return {"kind": f"ethertype 0x{p.type:04x}" if hasattr(p, "type") else "other"}
    port = p[TCP].dport if p.haslayer(TCP) else p[UDP].dport if p.haslayer(UDP) else None
    proto = "tcp" if p.haslayer(TCP) else "udp" if p.haslayer(UDP) else "ip"
    return {"kind": proto, "to": ip.dst, **({"port": port} if port is not None else {})}


def link_level(frame: dict, own: set[str]) -> bool:
    """Address resolution and link-local housekeeping (ARP, IPv6 multicast such as neighbour
    discovery), and answers to the lab itself (`own`: the harness's addresses) are not
    connections the unit opens to a wider network."""
    to = frame.get("to", "")
    return frame["kind"] == "arp" or to.startswith(("ff02:", "fe80:")) or to in own


@contextlib.contextmanager
def frames_from(interfaces: list[str], mac: str):
    """Yields a list that fills with the frames `mac` sends on `interfaces` until the block
    ends (a summary per frame: kind, destination, port)."""
    from scapy.all import AsyncSniffer, conf
    conf.verb = 0
    seen: list[dict] = []
    mac = mac.lower()
    sniffers = []
    try:
        for iface in interfaces:
            ready = threading.Event()
            s = AsyncSniffer(iface=iface, store=False, filter=f"ether src {mac}",
                             started_callback=ready.set,
                             prn=lambda p: seen.append(_summary(p)) if len(seen) < MAX_FRAMES
                             else None)
            s.start()
            sniffers.append(s)
            # listening before the block starts: a silence on a socket not yet open is none
            if not ready.wait(START_WAIT):
                raise OSError(f"cannot listen on {iface}: no capture within {START_WAIT:.0f}s")
        yield seen
    finally:
        for s in sniffers:
            with contextlib.suppress(Exception):
                s.stop()
