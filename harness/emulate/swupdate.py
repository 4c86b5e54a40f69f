"""An emulated router that updates through SWUpdate (Debian's swupdate) as a vendor ships
it: SWUpdate's own web server on 8443 over TLS behind a digest login (the unit's admin
account), images verified against the vendor's signing certificate (CMS), the hardware
revision checked, and downgrades refused (-N, the running version) unless the unit has
the downgrade_update flaw. A successful install writes the raw image to the unit's B slot
and the post-update command "boots" it: the version it carries becomes the unit's.

The `ota` units pull instead: SWUpdate's hawkBit client (suricatta) polls the vendor's
update server (OTA_SERVER, trusted through the vendor's own CA; the ota_plain_http unit
polls in plain HTTP, as Debian's example configuration has it; the ota_nocheckcert unit
is started with suricatta's `-x`, "do not abort on flawed server certificates"). After an install the unit reboots into the new slot (SWUpdate is
started again) and confirms the update to the server (`-c 2`)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from harness.emulate.files import signer_files, write
from harness.update import swu

BOARD, REVISION = "emulab-er200", "1.0"
PORT = 8443
REALM = "emulab"
MAGIC = b"EMULAB-FW "

RUN = """#!/bin/sh
# SWUpdate as the ER-200 firmware starts it (its /etc/swupdate/conf.d); a restart (power
# cycle) reads the running version again
v=$(sed -n 's/^firmware //p' {fs}/etc/sw-versions)
exec swupdate -v -H {board}:{rev} -k {d}/swupdate/vendor.crt {no_downgrade} \\
  -p "/bin/sh {d}/swupdate/postupdate.sh" \\
  -w "-r {d}/swupdate/www -p {port} -s -C {pem} -K {pem} --auth-domain {realm} --global-auth-file {d}/swupdate/htdigest"
"""
POSTUPDATE = """#!/bin/sh
# the new slot boots: its header names the version
v=$(head -c 64 {d}/slot-b | sed -n '1s/^EMULAB-FW //p' | tr -cd '0-9A-Za-z.+~-')
[ -n "$v" ] || exit 1
echo "firmware $v" > {fs}/etc/sw-versions
printf '{{"version": "%s"}}\\n' "$v" > {fs}/etc/firmware.json
"""


def vendor_signer(directory: Path):
    """The vendor's SWUpdate signing key and certificate (one per lab, kept in `directory`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    key_file, cert_file = signer_files(directory, "swupdate",
                                       "Emulab firmware signing (SWUpdate)")
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    return key, x509.load_pem_x509_certificate(cert_file.read_bytes()), cert_file


def image(key, cert, version: str, slot: Path, note: bytes = b"") -> bytes:
    """A signed .swu: one raw image for the B slot, its first line naming the version."""
    payload = MAGIC + version.encode() + b"\n" + note + b"\n" + bytes(range(256)) * 16
    desc = (f'software =\n{{\n  version = "{version}";\n'
            f'  hardware-compatibility: [ "{REVISION}" ];\n'
            f'  images: (\n    {{\n      filename = "rootfs.img";\n'
            f'      device = "{slot}";\n      type = "raw";\n'
            f'      sha256 = "{hashlib.sha256(payload).hexdigest()}";\n    }}\n  );\n}}\n'
            ).encode()
    return swu.write([(swu.DESCRIPTION, desc), (swu.SIGNATURE, swu.sign(desc, key, cert)),
                      ("rootfs.img", payload)])


def prepare(v, d: Path, fs: Path, version: str, vendor_dir: Path, password: str,
            pem: Path) -> None:
    """Everything the unit's SWUpdate needs, and the vendor's valid and older images."""
    key, cert, cert_file = vendor_signer(vendor_dir)
    sw = d / "swupdate"
    (sw / "www").mkdir(parents=True, exist_ok=True)
    write(sw / "www" / "index.html", "<html><body>ER-200 firmware update</body></html>\n")
    write(sw / "vendor.crt", cert_file.read_text())
    ha1 = hashlib.md5(f"admin:{REALM}:{password}".encode()).hexdigest()
    write(sw / "htdigest", f"admin:{REALM}:{ha1}\n", 0o600)
    write(fs / "etc" / "sw-versions", f"firmware {version}\n")
    write(fs / "etc" / "hwrevision", f"{BOARD} {REVISION}\n")
    (d / "slot-b").write_bytes(b"")
    write(sw / "postupdate.sh", POSTUPDATE.format(d=d, fs=fs), 0o755)
    write(sw / "run.sh", RUN.format(
        d=d, fs=fs, board=BOARD, rev=REVISION, port=PORT, pem=pem, realm=REALM,
        no_downgrade="" if v.has("downgrade_update") else '-N "$v"'), 0o755)
    major, minor, patch = (int(x) for x in version.split("."))
    (d / "update-valid.img").write_bytes(image(
        key, cert, f"{major}.{minor}.{patch + 1}", d / "slot-b", b"new firmware " + v.name.encode()))
    (d / "update-old.img").write_bytes(image(
        key, cert, f"{major}.{max(minor - 1, 0)}.0", d / "slot-b", b"old firmware"))


def command(d: Path) -> list[str]:
    return ["/bin/sh", str(d / "swupdate" / "run.sh")]


OTA_SERVER = ("198.18.0.2", 8444)        # the vendor's update server, in the cloud namespace
RUN_OTA = """#!/bin/sh
# SWUpdate as the ER-300 firmware starts it: suricatta polls the vendor's update server; an
# install ends in a reboot into the new slot (SWUpdate started again), which confirms it
mkdir -p {fs}/var/log
n=0
while [ $n -lt 100 ]; do
  n=$((n + 1))
  v=$(sed -n 's/^firmware //p' {fs}/etc/sw-versions)
  confirm=""
  if [ -f {d}/swupdate/booted-new ]; then rm -f {d}/swupdate/booted-new; confirm="-c 2"; fi
  swupdate -v -f {d}/swupdate/swupdate.cfg -H {board}:{rev} -k {d}/swupdate/vendor.crt \
    -N "$v" -p "/bin/sh {d}/swupdate/postupdate.sh" -u "$confirm{nocheck}" \
    >> {fs}/var/log/swupdate.log 2>&1 &
  echo $! > {d}/swupdate/pid
  wait $!
  sleep 1
done
"""
REBOOT = """touch {d}/swupdate/booted-new
( sleep 2; kill $(cat {d}/swupdate/pid) ) >/dev/null 2>&1 &
"""
OTA_CFG = """globals: {{ verbose = true; loglevel = 5; }};
suricatta: {{ tenant = "default"; id = "{name}"; url = "{url}"; polldelay = 3; retry = 2;
  retrywait = 3; connection-timeout = 5; cafile = "{ca}"; }};
"""


def ota_server_cert(directory: Path) -> tuple[Path, Path]:
    """The vendor's CA for its update server (the units trust it) and the server's
    certificate chain and key, as the vendor hands them to the lab."""
    from harness.certs import issue_cert, pem_text
    from cryptography.hazmat.primitives import serialization
    ca_file, server = directory / "ota-ca.pem", directory / "ota-server.pem"
    if not server.exists():
        ca = issue_cert("Emulab update server CA", "", ca=True)
        leaf = issue_cert(OTA_SERVER[0], OTA_SERVER[0], issuer=ca)
        write(ca_file, ca[1].public_bytes(serialization.Encoding.PEM).decode())
        write(server, (pem_text(*leaf) + ca[1].public_bytes(serialization.Encoding.PEM)
                       ).decode(), 0o600)
    return ca_file, server


def prepare_ota(v, d: Path, fs: Path, version: str, vendor_dir: Path) -> None:
    """An ota unit: the web mode's images and slot, suricatta instead of the web server."""
    prepare(v, d, fs, version, vendor_dir, "-", d / "unused.pem")
    ca = d / "swupdate" / "ota-ca.pem"       # the vendor's CA, in the unit's own files
    write(ca, ota_server_cert(vendor_dir)[0].read_text())
    scheme = "http" if v.has("ota_plain_http") else "https"
    write(d / "swupdate" / "swupdate.cfg", OTA_CFG.format(
        name=v.name, url=f"{scheme}://{OTA_SERVER[0]}:{OTA_SERVER[1]}", ca=ca))
    write(d / "swupdate" / "run.sh", RUN_OTA.format(
        d=d, fs=fs, board=BOARD, rev=REVISION,
        nocheck=" -x" if v.has("ota_nocheckcert") else ""), 0o755)
    post = d / "swupdate" / "postupdate.sh"
    write(post, post.read_text() + REBOOT.format(d=d), 0o755)
