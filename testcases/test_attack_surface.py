"""Attack surface: only the declared services are open; no cleartext admin protocols.
First of the test cases that probe the network (the file sorts before the others): the
port scan it makes is the one the later test cases read (TC-CRED-01: login services seen
outside the profile)."""
from harness.profile import applicability as a
from harness.errors import DeviceError, NotRun
from harness.model import testcase
from harness.probe import ports


def _scans(device, run_context, evidence):
    scans = device.cached("scan", lambda: ports.scan(device, run_context.lab))
    if device.profile.declared_services and not any(s.tcp_open for s in scans):
        raise DeviceError("the scan found no open TCP port although the vendor declares "
                          "services: the device did not answer")
    for i, s in enumerate(scans):
        for j, xml in enumerate(s.xml):
            name = f"nmap-{s.address.replace(':', '_')}-{'tcp' if j == 0 else 'udp'}.xml"
            if not any(x.endswith(name) for x in evidence.artifacts):
                evidence.attach(name, xml)
    return scans


def _ipv6_tested(device, evidence, ipv4_finding: str) -> None:
    """A device may listen on IPv6 where an IPv4 scan never looks: without its address6
    (given, or found on the lab link) and no statement that the product has no IPv6, this
    test is not complete."""
    p, found = device.profile, device.identity.get("ipv6_discovery")
    if found and found.get("address6"):
        evidence.record("IPv6 address found on the lab link", found)
    if p.address6 or p.has_ipv6 is False or not p.address or ":" in p.address:
        return
    why = found["why_none"] if found else "the profile gives no MAC to look for"
    evidence.record("IPv6 side", {"not tested": "no address6 in the profile, none found",
                                  "discovery": found or why})
    raise NotRun(f"not run on IPv6: {ipv4_finding} (IPv4), but the profile gives no address6 "
                 f"and none was found on the lab link ({why}; has_ipv6: false in the device "
                 "type when the product has no IPv6)")


@testcase("TC-SURF-01", "Only the services the vendor declares are open",
          steps=["nmap full TCP port scan (-p-) and a curated UDP list on each address, IPv4 "
                 "and IPv6 (address6)",
                 "compare each open port with the profile's declared services"],
          applies=[a.network])
def test_only_declared_ports(device, evidence, run_context):
    scans = _scans(device, run_context, evidence)
    declared_tcp, declared_udp = device.profile.declared_ports("tcp"), \
        device.profile.declared_ports("udp")
    extra = []
    for s in scans:
        evidence.record(f"open ports on {s.address}", s.to_dict())
        extra += [f"{s.address} tcp/{p} ({n})" for p, n in s.tcp_open.items()
                  if p not in declared_tcp]
        extra += [f"{s.address} udp/{p} ({n})" for p, n in s.udp_open.items()
                  if p not in declared_udp]
    evidence.expect("no undeclared open port", not extra,
                    {"tcp": sorted(declared_tcp), "udp": sorted(declared_udp)}, extra,
                    reason="undeclared open ports: " + ", ".join(extra))
    _ipv6_tested(device, evidence, "no undeclared open port on " + device.profile.address)


@testcase("TC-SURF-02", "No cleartext administration protocol (telnet, FTP, TFTP)",
          steps=["from the same scan, flag telnet, FTP, TFTP and the r-services"],
          applies=[a.network])
def test_no_cleartext_protocols(device, evidence, run_context):
    found = []
    for s in _scans(device, run_context, evidence):
        found += [f"{s.address} tcp/{p} {ports.CLEARTEXT[p]}" for p in s.tcp_open
                  if p in ports.CLEARTEXT]
        found += [f"{s.address} udp/{p} {ports.CLEARTEXT[p]}" for p in s.udp_open
                  if p in ports.CLEARTEXT]
    evidence.expect("no cleartext admin protocol", not found, "none", found,
                    reason="cleartext protocols open: " + ", ".join(found))
    _ipv6_tested(device, evidence, "no cleartext protocol on " + device.profile.address)
