"""What an image starts at boot and how it updates itself, read from its init system:
busybox/sysvinit inittab and rc scripts, systemd units, inetd; debug switches (a root shell
on the console, telnetd, adbd, gdbserver); update tools and whether they verify a
signature. Every finding names the file and line it was read from."""
from __future__ import annotations

import re

DAEMONS = {                     # daemon -> service kind (the names TC-SURF-01 uses)
    "telnetd": "telnet", "utelnetd": "telnet", "dropbear": "ssh", "sshd": "ssh",
    "lighttpd": "http", "httpd": "http", "uhttpd": "http", "nginx": "http", "mini_httpd": "http",
    "mosquitto": "mqtt", "vsftpd": "ftp", "ftpd": "ftp", "tftpd": "tftp", "in.tftpd": "tftp",
    "snmpd": "snmp", "adbd": "adb", "gdbserver": "gdbserver", "upnpd": "upnp",
    "miniupnpd": "upnp", "node-red": "http", "motion": "http",
}
DEBUG = {"adb", "gdbserver"}            # debug interfaces; telnet is a cleartext shell
BOOT_FILES = ("/etc/inittab", "/etc/rc.local", "/etc/inetd.conf")
BOOT_DIRS = ("/etc/init.d", "/etc/rc.d", "/etc/rcS.d", "/etc/rc2.d", "/etc/rc3.d",
             "/etc/rc5.d", "/etc/systemd/system", "/lib/systemd/system",
             "/usr/lib/systemd/system", "/etc/xinetd.d", "/etc/runit", "/etc/sv")
UPDATE_TOOLS = ("sysupgrade", "fwupdate", "fw_update", "firmware-update", "update-firmware",
                "rauc", "swupdate", "mender", "ota", "fwupd")
VERIFY = re.compile(r"openssl\s+(?:dgst|pkeyutl|rsautl|smime|cms)\b[^\n]*-verify|"
                    r"\busign\s+-V\b|\bsignify(?:-openbsd)?\s+-V\b|\bgpgv\b|gpg\s+--verify|"
                    r"\bminisign\s+-V\b|\brauc\s+install\b|\bswupdate\b[^\n]*\s-k\s|"
                    r"ArtifactVerifyKey|\bverify[-_]signature\b")
ROOT_SHELL = re.compile(r"^[^#:]*:[^:]*:(?:respawn|askfirst|once|sysinit):\s*-?(?:/bin/)?(?:a?sh|bash)\b"
                        r"|getty\b[^\n]*\s-n\s[^\n]*-l\s*/bin/(?:a?sh|bash)|--autologin\s+root")
MAX_SCRIPT = 256 << 10


def _lines(fs, path):
    text = fs.text(path, MAX_SCRIPT)
    if text is None:
        return []
    return [(i, line) for i, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def _boot_files(fs) -> list[str]:
    out = [p for p in BOOT_FILES if fs.resolve(p) and fs.read(p, 1) is not None]
    for d in BOOT_DIRS:
        for path, _real, st in fs.files(d, 2000):
            if st.st_size <= MAX_SCRIPT:
                out.append(path)
    return sorted(set(out))


def boot(fs) -> dict:
    started, debug = [], []
    for path in _boot_files(fs):
        for n, line in _lines(fs, path):
            where = f"{path}:{n}"
            if ROOT_SHELL.search(line):
                debug.append({"what": "root shell on the console without a login",
                              "where": where, "line": line.strip()[:160]})
            for word in re.findall(r"[A-Za-z0-9_.-]+", line):
                kind = DAEMONS.get(word.rsplit("/", 1)[-1])
                if kind and not _is_stop(line):
                    port = _port(word, line)
                    started.append({"daemon": word, "service": kind, "where": where,
                                    **({"port": port} if port else {})})
                    if kind in DEBUG:
                        debug.append({"what": f"{word} started at boot", "where": where,
                                      "line": line.strip()[:160]})
                    break
    return {"boot_files": _boot_files(fs)[:200], "started": _dedup(started), "debug": debug}


def _is_stop(line: str) -> bool:
    return bool(re.search(r"\b(?:kill|killall|pkill|stop|disable|rm)\b", line))


def _port(daemon: str, line: str) -> int | None:
    m = re.search(r"\s-p\s*(?:[\d.]+:)?(\d{1,5})\b", line)
    return int(m.group(1)) if m and daemon.endswith(("dropbear", "telnetd", "httpd")) else None


def _dedup(rows):
    seen, out = set(), []
    for r in rows:
        key = (r["daemon"], r["where"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def update(fs) -> dict:
    """Update tools and the signature checks around them."""
    tools, verifies = [], []
    for top in ("/sbin", "/usr/sbin", "/bin", "/usr/bin", "/etc/init.d", "/usr/libexec",
                "/lib/upgrade", "/etc"):
        for path, _real, st in fs.files(top, 5000):
            name = path.rsplit("/", 1)[-1].lower()
            if any(t in name for t in UPDATE_TOOLS):
                tools.append(path)
            if st.st_size > MAX_SCRIPT:
                continue
            head = fs.read(path, 2) or b""
            if head != b"#!" and not path.endswith((".conf", ".json", ".cfg")):
                continue
            for n, line in _lines(fs, path):
                if VERIFY.search(line):
                    verifies.append({"where": f"{path}:{n}", "line": line.strip()[:160]})
    return {"tools": sorted(set(tools))[:100], "verify_calls": verifies[:100]}
