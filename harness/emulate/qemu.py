"""Emulated units that boot real firmware in QEMU (feature `qemu`): Debian's U-Boot as the
board's boot ROM, its environment on the second flash bank, the firmware disk (kernel and
initramfs, harness/emulate/fwbuild.py) and a data disk that keeps the unit's settings.

The unit lives in its network namespace like every other: the namespace's eth0 (the veth
to the lab bridge) and QEMU's tap are bridged inside it, and the guest's own kernel holds
the unit's address and MAC, so scope, link actions and teardown are the same. Its serial
port is a socket client of the unit's UART (harness/emulate/uart.py), which owns the pty
the profile names and stays up while the unit is off, so the harness sees every boot from
U-Boot's first line. Power: the QEMU process is the unit's power. Power-off is QMP's `quit`
on the unit's monitor socket (qmp.sock; QEMU stops at once, no guest shutdown: pulling the
plug), the recorded PID (SIGTERM) when QMP does not answer; starting it is power-on; disks
and flash persist.
"""
from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

from harness.emulate import fitboot, fwbuild, netns
from harness.emulate.variants import GATEWAY, Variant, address, address6, mac

BOOT_WAIT = 120.0           # a boot under TCG on a loaded machine: seconds until SSH answers
SERVICES = [22]
UART_WAIT = 10.0


def _flavour(v: Variant) -> fwbuild.Flavour:
    return fwbuild.Flavour(console_login=not v.has("root_console"),
                           host_keys="any" if v.has("weak_ssh") else "ed25519",
                           reset_keeps_user_data=v.has("reset_keeps_user_data"),
                           verified_boot=not v.has("unverified_boot"))


def firmware(v: Variant | None = None, version: str = fwbuild.VERSION) -> tuple[Path, dict]:
    """The model's firmware disk for the unit's flaws (None: the vendor's own, compliant)
    and its manifest: built once per flavour and version and kept beside the package cache
    while the packages stay the same."""
    f = _flavour(v) if v else fwbuild.Flavour()
    name = f.name() + ("" if version == fwbuild.VERSION else f"-{version}")
    d = fwbuild.cache_dir().parent / "firmware"
    image = d / f"firmware-{name}.img"
    return image, fwbuild.build(image, f, d / f"work-{name}", version)


# the vendor's signed update images the lab is handed: a newer release and an older one
UPDATES = {"update-valid.img": "5.0.3", "update-old.img": "5.0.1"}


def build(v: Variant, d: Path, password: str) -> dict:
    """The unit's disks and flash, and the vendor's update images; returns the firmware
    manifest."""
    image, info = firmware(v)
    fwbuild.unit_disks(d, image, name=v.name, password=password, address=address(v),
                       gateway=GATEWAY, address6=address6(v),
                       locked=not v.has("bootloader_break_in"),
                       fit=not v.has("unverified_boot"))
    for name, version in UPDATES.items():
        shutil.copyfile(firmware(None, version)[0].with_suffix(".itb"), d / name)
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
            # connected before the guest starts: with `reconnect` QEMU connects in the
            # background and, on a loaded machine, U-Boot's banner went out before it did
            "-chardev", f"socket,id=uart,path={d / 'uart.sock'}",
            "-serial", "chardev:uart",
            "-qmp", f"unix:{d / 'qmp.sock'},server=on,wait=off"]


def start(v: Variant, d: Path) -> None:
    end = time.monotonic() + UART_WAIT      # the UART was just started: it listens once
    while not (d / "console").exists() and time.monotonic() < end:     # its link is there
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


QMP_WAIT = 3.0


def qmp(d: Path, command: str, timeout: float = QMP_WAIT) -> dict:
    """One command on the unit's QMP socket: QEMU's answer ({"return": …} or {"error": …});
    OSError or ValueError when it does not answer within `timeout`."""
    end = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(d / "qmp.sock"))
        f = s.makefile("rwb")

        def answer() -> dict:
            for _ in range(64):                   # events (SHUTDOWN, …) come in between
                left = end - time.monotonic()     # one deadline for the whole exchange
                if left <= 0:
                    raise TimeoutError("QMP: no answer in time")
                s.settimeout(left)
                line = f.readline(1 << 16)
                if not line:
                    raise ConnectionError("QMP closed the connection unanswered")
                msg = json.loads(line)
                if "event" not in msg:
                    return msg
            raise ValueError("QMP sent only events")
        answer()                                  # the greeting
        for cmd in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            f.flush()
            msg = answer()
            if "error" in msg:
                break
        return msg


def quit_power(d: Path) -> str:
    """Power off through QMP: `quit`, then QEMU's exit awaited (QMP_WAIT); what happened, for
    the unit's power log (the caller stops the recorded PID whatever it says)."""
    t0 = time.monotonic()
    try:
        said = qmp(d, "quit")
    except (OSError, ValueError) as exc:
        return f"QMP quit unanswered ({exc}): stopped by its PID"
    if "error" in said:
        return f"QMP quit refused ({said['error']}): stopped by its PID"
    while not powered_off_itself(d) and time.monotonic() - t0 < QMP_WAIT:
        time.sleep(0.05)
    if not powered_off_itself(d):
        return "QMP quit answered, QEMU still running: stopped by its PID"
    return f"QMP quit: QEMU exited in {time.monotonic() - t0:.1f}s"
