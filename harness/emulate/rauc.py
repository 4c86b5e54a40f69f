"""An emulated router that updates through RAUC (Debian's rauc) as a vendor ships it: two
raw root slots (A and B), the vendor's signing certificate as RAUC's keyring, a bootloader
(RAUC's `custom` backend: a file holding the primary slot, as U-Boot's BOOT_ORDER would),
RAUC's service on the unit's own D-Bus system bus, and `rauc` on the unit's shell. The
vendor's bundles are made by `rauc bundle` with the vendor's key.

A power cycle boots the primary slot: the version its image carries becomes the running
one, and RAUC's service is told which slot booted. The compliant unit refuses a bundle that
is not newer than the running firmware in a pre-install handler (RAUC itself has no such
check); the downgrade_update unit ships without one."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from harness.emulate.files import refuse_not_newer, signer_files, write

COMPATIBLE = "Emulab ER-60"
MAGIC = b"EMULAB-FW "

SYSTEM_CONF = """[system]
compatible={compatible}
bootloader=custom
mountprefix={d}/rauc/mnt
data-directory={d}/rauc/data

[keyring]
path={fs}/etc/rauc/keyring.pem

[handlers]
bootloader-custom-backend={fs}/lib/rauc/bootloader.sh
{pre_install}
[slot.rootfs.0]
device={d}/rauc/slot-a.img
type=raw
bootname=A

[slot.rootfs.1]
device={d}/rauc/slot-b.img
type=raw
bootname=B
"""
BOOTLOADER = """#!/bin/sh
# the board's boot state, as U-Boot's environment would hold it (RAUC's custom backend)
S={d}/rauc
case "$1" in
  get-primary) cat "$S/primary" ;;
  set-primary) echo "$2" > "$S/primary" ;;
  get-state) cat "$S/state-$2" 2>/dev/null || echo good ;;
  set-state) echo "$3" > "$S/state-$2" ;;
  get-current) cat "$S/booted" ;;
  *) echo "unknown command $1" >&2; exit 1 ;;
esac
"""
PRE_INSTALL = """#!/bin/sh
# the ER-60 firmware installs only bundles newer than the one running (RAUC 1.8 gives a
# handler the mounted bundle, not its version: read from its manifest)
running=$(sed -n 's/^firmware //p' {fs}/etc/sw-versions)
new=$(sed -n 's/^version=//p' "$RAUC_BUNDLE_MOUNT_POINT/manifest.raucm" | head -n 1)
"""
RUN = """#!/bin/sh
# power on: the bootloader starts the primary slot, whose image names the version; then
# RAUC's service on the unit's system bus, told which slot booted
S={d}/rauc
slot=$(cat "$S/primary")
img="$S/slot-$(echo "$slot" | tr AB ab).img"
v=$(head -c 64 "$img" | sed -n '1s/^EMULAB-FW //p' | tr -cd '0-9A-Za-z.+~-')
echo "$slot" > "$S/booted"
echo "firmware $v" > {fs}/etc/sw-versions
n=0
while [ ! -S {bus} ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
export DBUS_SYSTEM_BUS_ADDRESS=unix:path={bus}
exec rauc service --conf={fs}/etc/rauc/system.conf --override-boot-slot="$slot"
"""
WRAPPER = """#!/bin/sh
# the firmware's rauc: its configuration and system bus
DBUS_SYSTEM_BUS_ADDRESS=unix:path={bus} exec /usr/bin/rauc --conf={fs}/etc/rauc/system.conf "$@"
"""
DBUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={bus}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


def bus(fs: Path) -> Path:
    return fs / "run" / "dbus" / "system_bus_socket"


def vendor_signer(directory: Path) -> tuple[Path, Path]:
    """The vendor's RAUC signing key and certificate, one per lab (RAUC 1.8 checks the
    signer for S/MIME signing use by default: a certificate without usage limits passes)."""
    return signer_files(directory, "rauc", "Emulab firmware signing (RAUC)")


def slot_image(version: str, note: bytes = b"") -> bytes:
    return MAGIC + version.encode() + b"\n" + note + b"\n" + bytes(range(256)) * 16


def bundle(key: Path, cert: Path, version: str, out: Path, note: bytes = b"",
           fmt: str = "plain") -> None:
    """A signed bundle made with the vendor's tool (`rauc bundle`)."""
    with tempfile.TemporaryDirectory(prefix="hx-rauc-") as tmp:
        src = Path(tmp) / "content"
        write(src / "manifest.raucm", f"[update]\ncompatible={COMPATIBLE}\nversion={version}\n\n"
              f"[bundle]\nformat={fmt}\n\n[image.rootfs]\nfilename=rootfs.img\n")
        (src / "rootfs.img").write_bytes(slot_image(version, note))
        out.unlink(missing_ok=True)
        made = subprocess.run(["rauc", "bundle", f"--cert={cert}", f"--key={key}", str(src),
                               str(out)], capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise RuntimeError(f"rauc bundle: {made.stderr.strip()[-300:]}")


def prepare(v, d: Path, fs: Path, version: str, vendor_dir: Path) -> None:
    """The unit's slots, RAUC's configuration and bus, and the vendor's bundles."""
    key, cert = vendor_signer(vendor_dir)
    r = d / "rauc"
    for sub in ("mnt", "data"):
        (r / sub).mkdir(parents=True, exist_ok=True)
    (fs / "run" / "dbus").mkdir(parents=True, exist_ok=True)
    (fs / "var" / "update").mkdir(parents=True, exist_ok=True)
    (r / "slot-a.img").write_bytes(slot_image(version, b"as shipped"))
    (r / "slot-b.img").write_bytes(b"")
    write(r / "primary", "A\n")
    write(fs / "etc" / "sw-versions", f"firmware {version}\n")
    write(fs / "etc" / "rauc" / "keyring.pem", cert.read_text())
    pre = fs / "lib" / "rauc" / "pre-install.sh"
    if not v.has("downgrade_update"):
        write(pre, PRE_INSTALL.format(fs=fs) + refuse_not_newer("bundle"), 0o755)
    write(fs / "etc" / "rauc" / "system.conf", SYSTEM_CONF.format(
        compatible=COMPATIBLE, d=d, fs=fs,
        pre_install="" if v.has("downgrade_update") else f"pre-install={pre}\n"))
    write(fs / "lib" / "rauc" / "bootloader.sh", BOOTLOADER.format(d=d), 0o755)
    write(fs / "bin" / "rauc", WRAPPER.format(bus=bus(fs), fs=fs), 0o755)
    write(r / "dbus.conf", DBUS_CONF.format(bus=bus(fs)))
    write(r / "run.sh", RUN.format(d=d, fs=fs, bus=bus(fs)), 0o755)
    major, minor, patch = (int(x) for x in version.split("."))
    bundle(key, cert, f"{major}.{minor}.{patch + 1}", d / "update-valid.img",
           b"new firmware " + v.name.encode())
    bundle(key, cert, f"{major}.{max(minor - 1, 0)}.0", d / "update-old.img", b"old firmware")


def commands(d: Path) -> list[tuple[str, list[str]]]:
    fs = d / "fs"
    bus(fs).unlink(missing_ok=True)          # a power cycle starts the bus again
    return [("dbus", ["dbus-daemon", f"--config-file={d / 'rauc' / 'dbus.conf'}", "--nofork",
                      "--nopidfile"]),
            ("rauc", ["/bin/sh", str(d / "rauc" / "run.sh")])]
