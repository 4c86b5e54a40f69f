"""What software the device runs, from every source the lab has; each entry says where it
was seen.

- network: nmap service/version detection (-sV) on the open TCP ports of the port scan,
  within the lab's scan rate, and the banners the device shows without credentials (SSH,
  FTP, telnet, the web server's Server header);
- on the device, when the profile gives a shell: the package list (opkg, apk, dpkg, rpm: the
  first that answers), `uname -r`, busybox and libc, and the version of each listening
  daemon the product table knows (ss/netstat -> process -> its version option);
- the vendor's SBOM named in the device type (CycloneDX or SPDX JSON).
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from harness.profile import applicability
from harness.errors import DeviceError, InputError
from harness.probe import exposure, ports
from harness.transport import net
from harness.vuln import sbom
from harness.vuln.match import DISTROS, Component, component, from_text, products

MAX_PACKAGES = 20000
PACKAGE_LISTS = [   # (tool, command, ecosystem); the first with output wins
    ("opkg", "opkg list-installed 2>/dev/null", "OpenWrt"),
    ("apk", "apk info -v 2>/dev/null", "Alpine"),
    ("dpkg", "dpkg-query -W -f '${Package}\\t${Version}\\t${source:Package}\\n' 2>/dev/null",
     ""),
    ("rpm", "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n' 2>/dev/null", ""),
]


def network(device, lab) -> tuple[list[Component], list[str]]:
    """(components, notes); nmap's XML is kept in the device cache for the evidence."""
    p, out, notes = device.profile, [], []
    scans = device.cached("scan", lambda: ports.scan(device, lab))
    for s in scans:
        if not s.tcp_open:
            continue
        six = "-6 " if ":" in s.address else ""
        host, xml = net.nmap_scan(
            device.wire, s.address, f"{six}-n -Pn -sS -sV --version-light -p "
            f"{','.join(map(str, sorted(s.tcp_open)))} --max-rate {lab.rate_limits.scan_max_rate}",
            lab.timeouts.scan)
        device.cache.setdefault("nmap-sV", []).append((s.address, xml))
        for port, info in sorted(host.get("tcp", {}).items()):
            product, version = info.get("product", ""), info.get("version", "")
            cpe = info.get("cpe", "")
            src = f"nmap -sV {s.address} tcp/{port}"
            if not product:
                continue
            found = from_text(f"{product}/{version}", src, "version")
            # an application CPE only (nmap also reports the OS's, cpe:/o:...)
            vp = ":".join(cpe.split(":")[2:4]) if cpe.startswith("cpe:/a:") else ""
            extra = info.get("extrainfo", "")
            if any(d in f"{version} {extra}" for d in DISTROS.values()):   # a distro build
                head, _, rev = version.partition(" ")
                out.append(component(product, head, src, cpe=vp, distro_rev=rev or extra))
            else:
                out += found or [component(product, version, src, cpe=vp)]
    for seen in device.cached("public", lambda: exposure.gather(device)):
        out += from_text(seen["text"][:4000], seen["where"])
    if not p.address:
        notes.append("no network address: no scan")
    return out, notes


def _packages(tool: str, text: str, ecosystem: str) -> list[Component]:
    out = []
    for line in text.splitlines()[:MAX_PACKAGES]:
        if tool == "opkg":
            m = re.match(r"(\S+) - (\S+)", line)
            parts = [m.group(1), m.group(2)] if m else []
        elif tool == "apk":
            m = re.match(r"(.+)-(\d[^-]*-r\d+)$", line.strip())
            parts = [m.group(1), m.group(2)] if m else []
        else:
            parts = line.split("\t")
        if len(parts) >= 2 and parts[0] and parts[1]:
            src = parts[2] if len(parts) > 2 and parts[2] else ""
            out.append(component(parts[0], parts[1], tool, ecosystem=ecosystem,
                                 source_package=src))
    return out


def _distro(shell) -> str:
    _, text = shell.run("cat /etc/os-release 2>/dev/null")
    m = re.search(r"^ID=\"?([a-z]+)", text, re.M)
    return DISTROS.get(m.group(1), "") if m else ""


def on_device(device) -> tuple[list[Component], list[str]]:
    out, notes = [], []
    shell = device.shell()
    distro = _distro(shell)
    for tool, cmd, eco in PACKAGE_LISTS:
        status, text = shell.run(cmd)
        if status == 0 and text.strip():
            pk = _packages(tool, text, eco or distro)
            out += pk
            notes.append(f"package list: {tool}, {len(pk)} packages"
                         + ("" if eco or distro else " (distribution unknown: versions "
                            "matched as upstream)"))
            break
    else:
        notes.append("package list: none of opkg, apk, dpkg, rpm answered")
    _, kernel = shell.run("uname -r")
    m = re.match(r"\d+(\.\d+)+", kernel.strip())
    if m:
        out.append(component("linux_kernel", m.group(0), "uname -r"))
    for cmd in ("busybox 2>&1 | head -n 1", "ldd --version 2>&1 | head -n 1"):
        _, text = shell.run(cmd)
        out += from_text(text, cmd.split()[0] + " (on the device)", "version")
    out += _daemons(shell)
    return out, notes


def _daemons(shell) -> list[Component]:
    """The version of each listening daemon whose binary the product table knows."""
    _, text = shell.run("(ss -ltnpH || netstat -ltnp) 2>/dev/null")
    pids = sorted(set(re.findall(r"pid=(\d+)", text)) | set(re.findall(r" (\d+)/\S+", text)))
    known = {b: opt for info in products().values() for b, opt in
             (info.get("binaries") or {}).items()}
    out, done = [], set()
    for pid in pids[:64]:
        _, exe = shell.run(f"readlink /proc/{pid}/exe")
        exe = exe.strip()
        name = exe.rsplit("/", 1)[-1]
        if name not in known or exe in done or not exe.startswith("/"):
            continue
        done.add(exe)
        _, ver = shell.run(f"{shlex.quote(exe)} {known[name]} 2>&1 | head -n 3")
        out += from_text(ver, f"{exe} {known[name]}".strip() + " (listening daemon)", "version")
    return out


def from_sbom(device) -> tuple[list[Component], list[str]]:
    path = device.profile.sbom
    if not path:
        return [], []
    full = Path(path)          # the loader made it absolute, relative to its own file
    try:
        return sbom.components(full), [f"SBOM {full.name}"]
    except InputError as exc:
        raise DeviceError(f"the vendor's SBOM cannot be read: {exc.render()}") from None


def gather(device, lab) -> dict:
    """{'components', 'sources': {name: note}, 'not_read': {name: reason}, 'failed': {name:
    error}}: not_read is a source the profile does not offer, failed one that broke."""
    found, sources, not_read, failed = {}, {}, {}, {}
    for name, fn in (("network", lambda: network(device, lab)),
                     ("device", lambda: on_device(device)),
                     ("sbom", lambda: from_sbom(device))):
        no_shell = name == "device" and applicability.shell(device.profile)
        if no_shell:
            not_read[name] = str(no_shell)
            continue
        if name == "sbom" and not device.profile.sbom:
            not_read[name] = "the device type names no SBOM (sbom:)"
            continue
        try:
            found[name], notes = fn()
        except DeviceError as exc:
            failed[name] = str(exc)
            continue
        sources[name] = "; ".join(notes) or f"{len(found[name])} components"
    # the SBOM is the vendor's statement of the firmware: kept as given
    comps = distro_builds(found.get("network", []) + found.get("device", []))
    return {"components": comps + found.get("sbom", []), "sources": sources,
            "not_read": not_read, "failed": failed}


def distro_builds(comps: list[Component]) -> list[Component]:
    """Where a distribution's package list names a product, the banners and --version
    outputs of that product are the distribution's build (Debian's sshd -V says
    'OpenSSH_9.2' while the package carries back-ported fixes): only the package is
    matched, the others are kept as inventory with that note."""
    packaged = {c.product: c.ecosystem for c in comps
                if c.product and c.ecosystem in DISTROS.values() and c.matchable}
    for c in comps:
        if c.product in packaged and c.ecosystem not in DISTROS.values() and c.matchable:
            c.matchable = False
            c.note = (f"the {packaged[c.product]} package list names {c.product}: this is its "
                      "build, matched by the package version (fixes may be back-ported)")
    return comps
