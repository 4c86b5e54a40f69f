"""`harness discover ADDRESS`: a draft device type and instance from what the unit shows —
open TCP/UDP ports with nmap's service names, TLS certificates, the SSH host key, each web
port's login style, the unit's MAC and IPv6 addresses on the lab link. Facts only the
vendor's documents hold (vendor, model, firmware version, purposes, declarations) are left
for the engineer, marked; guesses are marked as guesses."""
from __future__ import annotations

import hashlib
import json
import socket
import ssl
import subprocess

from harness.errors import DeviceError
from harness.transport import net

WEB_SERVICES = ("http", "https", "http-proxy", "http-alt", "ssl/http", "https-alt")


def _service(info: dict) -> str:
    name = info.get("name", "") or "unknown"
    return f"ssl/{name}" if info.get("tunnel") == "ssl" and name != "https" else name


def _certificate(wire, address: str, port: int) -> dict | None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        sock = wire.connect(address, port, f"tls:{port}")
        with ctx.wrap_socket(sock) as tls:
            der = tls.getpeercert(binary_form=True)
    except (DeviceError, ssl.SSLError, OSError, socket.timeout):
        return None
    from cryptography import x509
    cert = x509.load_der_x509_certificate(der)
    return {"subject": cert.subject.rfc4514_string()[:120],
            "sha256": "sha256:" + hashlib.sha256(der).hexdigest()}


def _neighbour(address: str) -> str | None:
    out = subprocess.run(["ip", "-j", "neigh", "show", address], capture_output=True,
                         text=True).stdout
    try:
        entries = json.loads(out or "[]")
    except ValueError:
        return None
    return next((e["lladdr"].lower() for e in entries if e.get("lladdr")), None)


def _mac(wire, address: str, ports) -> str | None:
    """The unit's MAC from this host's neighbour table. nmap resolves addresses itself, so
    the table may hold none, or a failed one (a unit slow to answer ARP on a loaded link):
    a connection to an open port makes the kernel ask again (three times at most)."""
    for port in [None, *list(ports)[:1] * 3]:
        if port is not None:
            net.tcp_open(wire, address, port)
        mac = _neighbour(address)
        if mac:
            return mac
    return None


def gather(wire, address: str, interfaces=(), scan_timeout: float = 240) -> dict:
    """Everything the unit shows, with where each fact came from."""
    from harness.probe.ports import CONFIRM_UDP, UDP_PORTS
    from harness.discover import login
    wire.scope.check(address, "discovery target")
    six = "-6 " if ":" in address else ""
    tcp, xml_tcp = net.nmap_scan(wire, address, f"{six}-n -Pn -sS -sV --version-light -p- "
                                 "--max-retries 2", scan_timeout)
    udp, xml_udp = net.nmap_scan(wire, address, f"{six}-n -Pn -sU -p {UDP_PORTS} "
                                 "--max-retries 1", scan_timeout)
    facts = {"address": address, "tcp": {}, "udp": {}, "web": {}, "tls": {}, "ssh": None,
             "mac": None, "address6": [], "how": []}
    for port, info in sorted(tcp.get("tcp", {}).items()):
        if info.get("state") == "open":
            facts["tcp"][int(port)] = {"service": _service(info), "product": " ".join(
                x for x in (info.get("product"), info.get("version")) if x)}
    for port, info in sorted(udp.get("udp", {}).items()):
        state, port = info.get("state"), int(port)
        if state == "open" or (state == "open|filtered" and port in CONFIRM_UDP
                               and CONFIRM_UDP[port](wire, address, port)):
            facts["udp"][port] = {"service": info.get("name", "") or "unknown"}
    facts["how"].append(f"nmap -sS -sV -p- and -sU -p {UDP_PORTS} (TFTP confirmed by a read)")
    for port, s in facts["tcp"].items():
        if s["service"] == "ssh":
            from harness.transport.ssh import SSHSession
            try:
                session = SSHSession(wire, address, port)
                facts["ssh"] = {"port": port, "banner": session.transport.remote_version,
                                **session.host_key()}
                session.close()
            except DeviceError:
                pass
        cert = _certificate(wire, address, port)
        if cert:
            facts["tls"][port] = cert
        if s["service"] in WEB_SERVICES or s["service"].endswith("http") or cert and \
                "http" in s["service"]:
            try:
                facts["web"][port] = login.detect(wire, address, port, tls=bool(cert))
            except DeviceError as exc:
                facts["web"][port] = {"auth": None, "evidence": [str(exc)], "tls": bool(cert)}
    facts["mac"] = _mac(wire, address, facts["tcp"]) if ":" not in address else None
    if facts["mac"] and interfaces:
        from harness.lab import ipv6
        for iface in interfaces:
            for _ in range(3):      # a reply lost on a loaded link: ask again, twice at most
                found = ipv6.probe(iface, {facts["mac"]}).get(facts["mac"], set())
                if found:
                    break
            facts["address6"] += sorted(a for a in found if wire.scope.allows(a))
        facts["how"].append(f"IPv6: ICMPv6 echo to ff02::1 on {', '.join(interfaces)}, "
                            f"replies from MAC {facts['mac']}")
    facts["nmap_xml"] = [xml_tcp, xml_udp]
    return facts


def render(facts: dict, name: str) -> tuple[str, str]:
    """(device type text, instance text): YAML with comments; what the unit did not show is
    a marked placeholder, never invented."""
    from harness.discover.login import snippet
    todo = "  # NOT SHOWN by the unit: from the vendor's documents"
    t = [f"# Draft device type from `harness discover {facts['address']}`: confirm every line.",
         f"vendor: null{todo}", f"model: null{todo}", f"firmware_version: null{todo}",
         f"category: null{todo} (router, camera, hub, appliance, ...)",
         "declared_services:   # seen open; keep only what the vendor documents as needed"]
    for port, s in facts["tcp"].items():
        extra = f" ({s['product']})" if s["product"] else ""
        service = "https" if s["service"] == "http" and port in facts["tls"] else s["service"]
        t.append(f"  - {{port: {port}, service: {service}, purpose: null}}   # seen: "
                 f"nmap{extra}" + (", TLS" if port in facts["tls"] else ""))
    for port, s in facts["udp"].items():
        t.append(f"  - {{port: {port}, proto: udp, service: {s['service']}, purpose: null}}"
                 "   # seen")
    i = [f"# Draft instance from `harness discover {facts['address']}` ({'; '.join(facts['how'])})",
         "extends: CHANGE-ME.type.yaml", f"name: {name}", f"address: {facts['address']}"]
    if facts["mac"]:
        i.append(f"mac: '{facts['mac']}'   # seen in this host's neighbour table")
    if facts["address6"]:
        i.append(f"address6: '{facts['address6'][0]}'   # seen: answered from the unit's MAC"
                 + (f" (also {facts['address6'][1:]})" if len(facts["address6"]) > 1 else ""))
    if facts["ssh"]:
        s = facts["ssh"]
        i.append(f"ssh: {{port: {s['port']}, username: CHANGE-ME, password: {{env: CHANGE_ME}}}}"
                 f"   # seen: {s['banner']}, host key {s['type']} SHA256:{s['sha256']}")
    if facts["web"]:
        i.append("web:")
        for port, found in facts["web"].items():
            for line in snippet(port, found).rstrip("\n").splitlines():
                i.append(line.replace("web:   # seen:", f"  # {port} seen:", 1)
                         if line.startswith("web:") else line)
    for port, cert in facts["tls"].items():
        i.append(f"# TLS on {port}: certificate {cert['subject']} {cert['sha256']}")
    if 161 in facts["udp"]:
        i.append("snmp: {port: 161, version: CHANGE-ME, password: {env: CHANGE_ME}}   # seen: "
                 "SNMP answered; the version and community/user are the lab's to give")
    if 69 in facts["udp"]:
        i.append("# TFTP answered on udp/69: it has no login at all (TC-AUTH-01 asks it for "
                 "files)")
    for port in (1883, 8883):
        if port in facts["tcp"]:
            i.append(f"mqtt: {{host: {facts['address']}, port: {port}, tls: {port == 8883}, "
                     "username: CHANGE-ME, password: {env: CHANGE_ME}}   # seen: a broker")
    return "\n".join(t) + "\n", "\n".join(i) + "\n"
