"""The firmware image an emulated unit ships (`harness emulate image NAME`): test data for
`harness firmware`, flawed and compliant, built from this machine's real binaries (busybox,
dropbear, lighttpd) and packed with the real tools (mksquashfs, bsdtar, mkfs.ext4, mkimage).

What the image holds follows the unit's planted flaws, as the vendor would have built it:
a compliant image locks the admin account (each unit's password is provisioned at the
factory, outside the image) and generates its keys at first boot; a flawed one ships the
default password's hash, one host key and TLS key for every unit, a root shell on the
console, telnetd in its boot script, an updater that checks no signature, old packages.
"""
from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.emulate import files
from harness.emulate.variants import OLD_PACKAGES, Variant

FORMATS = ("squashfs", "cpio", "tar", "ext4", "uimage")
BINARIES = {"/bin/busybox": "bin/busybox", "/usr/sbin/dropbear": "usr/sbin/dropbear",
            "/usr/sbin/lighttpd": "usr/sbin/lighttpd"}
UPDATER = """#!/bin/sh
# fwupdate IMAGE: install a firmware image
set -e
{verify}tar -xzf "$1" -C /tmp/update && /tmp/update/install.sh
"""
VERIFY = ("openssl pkeyutl -verify -pubin -inkey /etc/update.pub -rawin "
          "-in \"$1.payload\" -sigfile \"$1.sig\"\n")


def rootfs(v: Variant, dest: Path, password: str, shared_keys: Path | None = None,
           vendor: Path | None = None) -> Path:
    """The unit's root file system under `dest`; `vendor`: the directory of the vendor's
    update signing key (the lab's, when it is up), whose public half the updater trusts."""
    for src, rel in BINARIES.items():
        if Path(src).exists():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / rel)
    for applet in ("sh", "login", "getty"):
        (dest / "bin" / applet).symlink_to("/bin/busybox")
    etc = dest / "etc"
    admin = "!" if not (v.has("shared_default_password") or v.has("weak_password")
                        or v.has("plaintext_storage")) else \
        files.crypt_hash(password, "1" if v.has("plaintext_storage") else "6")
    files.write(etc / "passwd", "root:x:0:0:root:/root:/bin/sh\n"
                "admin:x:1000:1000:admin:/home/admin:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    files.write(etc / "shadow", f"root:*:19000:0:99999:7:::\nadmin:{admin}:19000:0:99999:7:::\n"
                "nobody:*:19000:0:99999:7:::\n", 0o640)
    console = "ttyS0::respawn:-/bin/sh\n" if v.has("root_console") else \
        "ttyS0::respawn:/bin/getty -L ttyS0 115200 vt100\n"
    files.write(etc / "inittab", "::sysinit:/etc/init.d/rcS\n" + console)
    boot = ["#!/bin/sh", "mount -a", "dropbear -R -p 22",
            "lighttpd -f /etc/lighttpd/lighttpd.conf"]
    if v.has("telnet") or v.has("telnet_no_login") or v.has("ipv6_only_telnet"):
        boot.append("telnetd -l /bin/login")
    if v.has("ftp_anonymous"):
        boot.append("vsftpd /etc/vsftpd.conf")
    if v.has("tftp_backup"):
        boot.append("in.tftpd --listen --secure /srv/tftp")
    if v.has("snmp"):
        boot.append("snmpd -c /etc/snmp/snmpd.conf")
    if v.kind == "appliance":
        boot.append("heater-agent --broker cloud:8883")
    files.write(etc / "init.d" / "rcS", "\n".join(boot) + "\n", 0o755)
    files.write(etc / "os-release", "ID=debian\nVERSION_ID=12\n")
    files.write(dest / "usr" / "sbin" / "fwupdate", UPDATER.format(
        verify="" if v.has("unsigned_update") else VERIFY), 0o755)
    if not v.has("unsigned_update"):
        _, pub = files.vendor_key(vendor or dest / ".vendor")
        shutil.rmtree(dest / ".vendor", ignore_errors=True)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        files.write(etc / "update.pub", Ed25519PublicKey.from_public_bytes(pub).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    if v.has("shared_keys"):
        (etc / "dropbear").mkdir(parents=True, exist_ok=True)
        files.ssh_host_key(etc / "dropbear" / "dropbear_ed25519_host_key", shared_keys)
        # the key group's certificate and key (the running units' own, when the lab is up)
        pem = files.tls_cert(Path(tempfile.mkdtemp(dir=dest)), f"{v.name}.emulated",
                             "198.18.0.1", shared_keys)
        files.write(etc / "ssl" / "private" / "server.pem", pem.read_text(), 0o600)
        shutil.rmtree(pem.parent)
    if v.has("known_exploited_vuln"):               # OpenWrt-style, as the unit lists it
        files.write(dest / "usr" / "lib" / "opkg" / "status", "".join(
            f"Package: {p}\nVersion: {ver}\nStatus: install user installed\n\n"
            for p, ver in OLD_PACKAGES.items()))
    return dest


def pack(tree: Path, out: Path, fmt: str) -> Path:
    """`tree` packed as `fmt` into `out`."""
    if fmt == "squashfs":
        subprocess.run(["mksquashfs", str(tree), str(out), "-noappend", "-all-root", "-quiet",
                        "-no-progress"], check=True, capture_output=True)
    elif fmt in ("cpio", "tar"):
        subprocess.run(["bsdtar", "-c", "--format", "newc" if fmt == "cpio" else "ustar",
                        "--uid", "0", "--gid", "0", "-f", str(out), "-C", str(tree), "."],
                       check=True, capture_output=True)
    elif fmt == "ext4":
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", str(tree),
                        str(out), "24M"], check=True, capture_output=True)
    elif fmt == "uimage":           # a gzip'd cpio initramfs behind a U-Boot header
        with tempfile.TemporaryDirectory() as tmp:
            cpio = pack(tree, Path(tmp) / "initramfs.cpio", "cpio")
            gz = Path(tmp) / "initramfs.cpio.gz"
            gz.write_bytes(gzip.compress(cpio.read_bytes(), mtime=0))
            subprocess.run(["mkimage", "-A", "arm", "-O", "linux", "-T", "ramdisk", "-C",
                            "gzip", "-n", "emulab initramfs", "-d", str(gz), str(out)],
                           check=True, capture_output=True)
    else:
        raise ValueError(f"unknown image format {fmt!r} (one of {', '.join(FORMATS)})")
    return out


def build(v: Variant, out: Path, fmt: str = "squashfs", password: str = "",
          shared_keys: Path | None = None, vendor: Path | None = None) -> Path:
    # staged beside the image: a crash mid-build leaves it where `emulate down` removes it
    with tempfile.TemporaryDirectory(prefix=".hx-img-", dir=out.parent) as tmp:
        tree = rootfs(v, Path(tmp) / "root", password or "hx-unprovisioned", shared_keys,
                      vendor)
        return pack(tree, out, fmt)
