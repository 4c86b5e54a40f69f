"""The software an image ships, in the form TC-VULN-01 matches: package databases (dpkg,
opkg, apk), the kernel (its module directory), and the version strings inside the daemon
and library binaries the product table knows (busybox, dropbear, lighttpd, libc, ...)."""
from __future__ import annotations

import re

from harness.vuln.match import DISTROS, Component, component, products

BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/lib", "/usr/lib")
MAX_BINARY = 16 << 20
MAX_BINARIES = 3000
STRINGS = re.compile(rb"[\x20-\x7e]{5,}")
DB = (("/var/lib/dpkg/status", "dpkg"), ("/usr/lib/opkg/status", "opkg"),
      ("/var/lib/opkg/status", "opkg"), ("/lib/apk/db/installed", "apk"))


def _stanzas(text: str, key: str, ver: str, src: str = ""):
    """RFC 822-like package databases: (name, version, source) per stanza."""
    for block in re.split(r"\n\s*\n", text):
        f = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", block, re.M)) if key.endswith(":") \
            else dict(re.findall(r"^([A-Z]):(.*)$", block, re.M))
        k, v = key.rstrip(":"), ver.rstrip(":")
        if f.get(k) and f.get(v) and "not-installed" not in f.get("Status", ""):
            yield f[k].strip(), f[v].strip(), (f.get(src.rstrip(":"), "") or "").split(" ")[0]


def _distro(fs) -> str:
    m = re.search(r"^ID=\"?([a-z]+)", fs.text("/etc/os-release") or
                  fs.text("/usr/lib/os-release") or "", re.M)
    return DISTROS.get(m.group(1), "") if m else ""


def inventory(fs) -> tuple[list[Component], list[str]]:
    out, notes = [], []
    distro = _distro(fs)
    for path, tool in DB:
        text = fs.text(path, 64 << 20)
        if not text:
            continue
        if tool == "apk":
            rows = list(_stanzas(text, "P", "V"))
        else:
            rows = list(_stanzas(text, "Package:", "Version:", "Source:"))
        eco = "OpenWrt" if tool == "opkg" else ("Alpine" if tool == "apk" else distro)
        for name, version, src in rows[:20000]:
            out.append(component(name, version, f"image {path}", ecosystem=eco,
                                 source_package=src))
        notes.append(f"package database {path}: {len(rows)} packages")
        break
    else:
        notes.append("no package database (dpkg, opkg, apk) in the image")
    for mod in fs.listdir("/lib/modules"):
        m = re.match(r"\d+(\.\d+)+", mod)
        if m:
            out.append(component("linux_kernel", m.group(0), f"image /lib/modules/{mod}"))
    out += _binaries(fs, notes)
    return out, notes


def _named(text: str, path: str) -> list[Component]:
    """Components a binary's strings name: a product's banner pattern anywhere (specific:
    'SSH-2.0-dropbear_2022.83'); its version-output pattern ('version 3.0.5', generic) only
    in the product's own binary or library."""
    base, out = path.rsplit("/", 1)[-1], []
    for product, info in products().items():
        own = base in (info.get("binaries") or {}) or base.startswith(("lib" + product,
                                                                        product))
        for kind in ("banner", "version_output") if own else ("banner",):
            rx = info.get(kind)
            m = re.search(rx, text) if rx else None
            if m:
                g = m.groupdict()
                rev = " ".join(x for x in (g.get("distro"), g.get("rev")) if x)
                out.append(component(product, g["v"], f"image {path} (strings)",
                                     distro_rev=rev))
                break
    return out


def _binaries(fs, notes) -> list[Component]:
    out, seen, count, walked = [], set(), 0, set()
    for top in BIN_DIRS:
        real_top = fs.resolve(top)
        if real_top is None or real_top in walked:        # merged /usr: /lib -> usr/lib
            continue
        walked.add(real_top)
        for path, real, st in fs.files(top, 20000):
            if st.st_size > MAX_BINARY or st.st_size < 64:
                continue
            head = fs.read(path, 4)
            if head != b"\x7fELF":
                continue
            count += 1
            if count > MAX_BINARIES:
                notes.append(f"more than {MAX_BINARIES} binaries: the rest not read")
                return out
            text = b"\n".join(STRINGS.findall(fs.read(path, MAX_BINARY) or b"")).decode()
            for c in _named(text, path):
                key = (c.product or c.name, c.version)
                if key not in seen:
                    seen.add(key)
                    out.append(c)
    notes.append(f"{count} binaries read for version strings")
    return out
