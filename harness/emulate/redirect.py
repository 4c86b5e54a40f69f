"""A lab gateway's redirect for an emulated device: its connections to one server go to
another (the harness playing that server), by DNAT in the device's namespace."""
from __future__ import annotations

import ipaddress

from harness.emulate import netns
from harness.emulate.variants import select
from harness.errors import InputError


def redirect(name: str, target: str | None, to: str | None) -> str:
    """Send the device's connections to TARGET (host:port) to TO instead (DNAT in the
    device's namespace, like a lab gateway would); with no target, remove the redirect."""
    v = select([name])[0]
    netns.in_ns(v.ns, "nft", "delete", "table", "ip", "hxredirect", check=False)
    if not target:
        return "redirect removed"
    (th, tp), (nh, np_) = (_hostport(target), _hostport(to))
    netns.in_ns(v.ns, "nft", "-f", "-", input=(
        "table ip hxredirect {\n chain out { type nat hook output priority -100;\n"
        f"  ip daddr {th} tcp dport {tp} dnat to {nh}:{np_}\n }}\n}}\n"))
    return f"{target} -> {to}"


def _hostport(text: str | None) -> tuple[str, int]:
    host, _, port = (text or "").rpartition(":")
    try:
        return str(ipaddress.IPv4Address(host)), int(port)
    except ValueError:
        raise InputError(f"expected IPv4ADDRESS:PORT, got '{text}'", None, None,
                         "redirect") from None
