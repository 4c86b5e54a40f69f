"""Emulated units that boot real firmware in QEMU (feature `qemu`): Debian's U-Boot as the
board's boot ROM, its environment on the second flash bank, the firmware disk (kernel and
initramfs, harness/emulate/fwbuild.py) and a data disk that keeps the unit's settings.

The unit lives in its network namespace like every other: the namespace's eth0 (the veth
to the lab bridge) and QEMU's tap are bridged inside it, and the guest's own kernel holds
the unit's address and MAC, so scope, link actions and teardown are the same. Its serial
port is a socket client of the unit's UART (harness/emulate/uart.py), which owns the pty
the profile names and stays up while the unit is off, so the harness sees every boot from
U-Boot's first line. Power: the QEMU process is the unit's power; cutting it (the recorded
PID, SIGTERM) is pulling the plug, starting it is power-on; disks and flash persist.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from harness.emulate import fitboot, fwbuild, netns
from harness.emulate.variants import GATEWAY, Variant, address, address6, mac

BOOT_WAIT = 120.0           # a boot under TCG on a loaded machine: seconds until SSH answers
SERVICES = [22]
UART_WAIT = 10.0


def firmware(v: Variant) -> tuple[Path, dict]:
    """The model's firmware disk for the unit's flaws and its manifest: built once per
    flavour and kept beside the package cache while the packages stay the same."""
    f = fwbuild.Flavour(console_login=not v.has("root_console"),
                        host_keys="any" if v.has("weak_ssh") else "ed25519",
                        reset_keeps_user_data=v.has("reset_keeps_user_data"),
                        verified_boot=not v.has("unverified_boot"))
    name = f.name()
    d = fwbuild.cache_dir().parent / "firmware"
    image = d / f"firmware-{name}.img"
    return image, fwbuild.build(image, f, d / f"work-{name}")


def build(v: Variant, d: Path, password: str) -> dict:
    """The unit's disks and flash; returns the firmware manifest."""
    image, info = firmware(v)
    fwbuild.unit_disks(d, image, name=v.name, password=password, address=address(v),
                       gateway=GATEWAY, address6=address6(v),
                       locked=not v.has("bootloader_break_in"),
                       fit=not v.has("unverified_boot"))
    return info


def wire(v: Variant) -> None:
    """Inside the namespace: eth0 (the lab link) and the tap bridged, no address of its own."""
    ns = v.ns
    netns.in_ns(ns, "ip", "addr", "flush", "dev", "eth0")
    netns.in_ns(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
    netns.in_ns(ns, "ip", "link", "add", "br0", "type", "bridge")
    netns.in_ns(ns, "ip", "tuntap", "add", "tap0", "mode", "tap")
    for link in ("eth0", "tap0"):
        netns.in_ns(ns, "ip", "link", "set", link, "master", "br0")
        netns.in_ns(ns, "ip", "link", "set", link, "up")
    netns.in_ns(ns, "ip", "link", "set", "br0", "up")


def command(v: Variant, d: Path) -> list[str]:
    dtb = d / "control.dtb"          # the board's tree with the vendor's boot key
    return [shutil.which("qemu-system-aarch64") or "qemu-system-aarch64",
            *fitboot.machine_args(), *(["-dtb", str(dtb)] if dtb.exists() else []),
            "-drive", f"if=pflash,format=raw,index=1,file={d / 'flash1.img'}",
            "-drive", f"if=none,id=fw,format=raw,file={d / 'firmware.img'}",
            "-device", "virtio-blk-pci,drive=fw",
            "-drive", f"if=none,id=data,format=raw,file={d / 'data.img'}",
            "-device", "virtio-blk-pci,drive=data",
            "-netdev", "tap,id=lan,ifname=tap0,script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=lan,mac={mac(v)},romfile=",
            "-chardev", f"socket,id=uart,path={d / 'uart.sock'},reconnect=1",
            "-serial", "chardev:uart"]


def start(v: Variant, d: Path) -> None:
    end = time.monotonic() + UART_WAIT      # the UART was just started: its socket first
    while not (d / "uart.sock").exists() and time.monotonic() < end:
        time.sleep(0.1)
    netns.spawn(v.ns, command(v, d), d / "pids", "qemu", d / "log" / "qemu.log")


def powered_off_itself(d: Path) -> bool:
    """The unit's QEMU has exited on its own (U-Boot powered the board off: a FIT that does
    not verify), so waiting for its services is pointless."""
    pid = netns.recorded(d / "pids")
    if not pid:
        return True
    try:
        state = Path(f"/proc/{min(pid)}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")
