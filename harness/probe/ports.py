"""Attack surface: full TCP scan and a curated UDP list with nmap, per configured address."""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import Inconclusive
from harness.transport import net

# the UDP services labs meet on routers, cameras and hubs: DNS, DHCP, TFTP, NTP, SNMP and
# its traps, IKE, syslog, RIP, IPMI, SSDP/UPnP, WS-Discovery (ONVIF cameras), NAT-PMP,
# mDNS, CoAP, vendor discovery (Ubiquiti), BACnet
UDP_PORTS = "53,67,69,123,161,162,500,514,520,623,1900,3702,5351,5353,5683,10001,47808"
CLEARTEXT = {23: "telnet", 21: "ftp", 69: "tftp", 2323: "telnet (alt)", 513: "rlogin",
             514: "rsh", 512: "rexec"}


def _tftp_answers(wire, addr: str, port: int) -> bool:
    """A TFTP server answers a read request (a file that does not exist: an error packet)."""
    from harness.transport import tftp
    return tftp.read_first_block(wire, addr, port, "hx-probe-none.bin")["answer"] != "none"


CONFIRM_UDP = {69: _tftp_answers}


@dataclass
class Scan:
    address: str
    tcp_open: dict[int, str] = field(default_factory=dict)      # port -> service name
    udp_open: dict[int, str] = field(default_factory=dict)
    xml: list[str] = field(default_factory=list)
    tcp_unanswered: int = 0         # TCP ports with no answer at all (filtered)
    tcp_rescanned: bool = False

    def to_dict(self):
        out = {"address": self.address, "tcp_open": self.tcp_open, "udp_open": self.udp_open,
               "tcp_unanswered": self.tcp_unanswered}
        if self.tcp_rescanned:
            out["tcp_rescanned"] = "some ports went unanswered although the device answers "\
                                   "closed ports: scanned a second time"
        return out


def _states(xml: str) -> dict[str, int]:
    """How many TCP ports the scan found in each state (listed ports and nmap's extraports)."""
    import xml.etree.ElementTree as ET
    counts: dict[str, int] = {}
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return counts
    for e in root.iter("extraports"):
        counts[e.get("state", "")] = counts.get(e.get("state", ""), 0) + int(e.get("count", 0))
    for e in root.iter("state"):
        counts[e.get("state", "")] = counts.get(e.get("state", ""), 0) + 1
    return counts


def _open(host: dict, proto: str, states=("open",)) -> dict[int, str]:
    return {int(port): info.get("name", "") for port, info in host.get(proto, {}).items()
            if info.get("state") in states}


def scan(device, lab, udp: bool = True) -> list[Scan]:
    """Each address, TCP then UDP. A declared TCP service that answered just before the scan
    but not during it means the device restarted (or lost the service) mid-scan: the scan
    then shows fewer open ports than there are, so the result is INCONCLUSIVE, never a
    clean bill."""
    p = device.profile
    rate = lab.rate_limits.scan_max_rate
    out = []
    declared = sorted(p.declared_ports("tcp"))
    addresses = [a for a in (p.address, p.address6) if a]
    answered = {addr: [port for port in declared if net.tcp_open(device.wire, addr, port)]
                for addr in addresses}      # all before the first scan starts
    for addr in addresses:
        six = "-6 " if ":" in addr else ""
        s = Scan(addr)
        before = answered[addr]
        args = f"{six}-n -Pn -sS -p- --max-rate {rate} --max-retries 2"
        host, xml = net.nmap_scan(device.wire, addr, args, lab.timeouts.scan)
        s.tcp_open, s.xml = _open(host, "tcp"), [xml]
        states = _states(xml)
        s.tcp_unanswered = states.get("filtered", 0)
        if s.tcp_unanswered and states.get("closed", 0):
            # a device that answers closed ports yet left some unanswered: packets were lost
            # (a link flap, an overloaded device) or a partial firewall. Once more: a
            # firewall gives the same count again; lost packets do not.
            first = s.tcp_unanswered
            host, xml2 = net.nmap_scan(device.wire, addr, args, lab.timeouts.scan)
            s.tcp_open.update(_open(host, "tcp"))
            s.tcp_unanswered, s.tcp_rescanned = _states(xml2).get("filtered", 0), True
            s.xml = [xml2]
            if s.tcp_unanswered and s.tcp_unanswered != first:
                raise Inconclusive(f"{addr}: {first}, then {s.tcp_unanswered} TCP ports gave "
                                   "no answer in two full scans although the device answers "
                                   "closed ports: probes are being lost, the scan is "
                                   "incomplete; re-test")
        if udp:
            host, xml = net.nmap_scan(device.wire, addr,
                                      f"{six}-n -Pn -sU -p {UDP_PORTS} --max-retries 1 "
                                      f"--max-rate {rate}", lab.timeouts.scan)
            # open|filtered is what a silent UDP port looks like: only 'open' counts, unless
            # a protocol the harness speaks answers it (TFTP answers from a port of its own,
            # which nmap cannot match to its probe)
            s.udp_open = _open(host, "udp")
            for port in _open(host, "udp", ("open|filtered",)):
                confirm = CONFIRM_UDP.get(port)
                if confirm and confirm(device.wire, addr, port):
                    s.udp_open[port] = f"{CLEARTEXT.get(port, 'udp')} (answered the harness)"
            s.xml.append(xml)
        lost = [port for port in before if port not in s.tcp_open]
        if lost:
            back = [port for port in lost if net.tcp_open(device.wire, addr, port)]
            raise Inconclusive(
                f"{addr}: declared tcp/{', tcp/'.join(map(str, lost))} answered just before "
                f"the port scan but not during it{' and answer again now' if back else ''}: "
                "the device restarted or lost a service mid-scan, so the scan is incomplete; "
                "re-test")
        out.append(s)
    return out
