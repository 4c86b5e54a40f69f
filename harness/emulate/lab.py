"""Bring emulated devices up and down; power-cycle; link down/up/degrade.

Layout: a bridge hxbr0 (198.18.0.1/24, the harness side), one namespace per device
(198.18.0.10+n), and a cloud namespace (198.18.0.2) with each appliance's broker.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from harness.emulate import daemons, files, guard, netns, profiles, qemu, thirdparty
from harness.emulate.unitbuild import FIRMWARE, build, unit_dir as _dir
from harness.emulate.profiles import MQTT_PORTS, WEB_AUTH, mqtt_users
from harness.emulate.netns import STATE, EmulateError
from harness.emulate.variants import (CLOUD, CLOUD_NS, GATEWAY, GATEWAY6, OLD_LIGHTTPD,
                                      SUBNET, SUBNET6, Variant, address,
                                      address6, mac, select)

BOOT_DELAY = 2.0


def profile_path(v: Variant) -> Path:
    return profiles.PROFILE_DIR / f"{v.name}.yaml"


# ------------------------------------------------------------------ processes
def start_uart(v: Variant) -> None:
    """The serial adapter: lab equipment, not stopped by a power cycle. It runs in the
    device's namespace only so that teardown finds it even without its PID record."""
    d = _dir(v)
    netns.spawn(v.ns, [sys.executable, "-m", "harness.emulate.uart", str(d)], d / "uart-pids",
                "uart", d / "log" / "uart.log",
                env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])})


def start_processes(v: Variant) -> None:
    d, addr = _dir(v), address(v)
    if v.has("qemu"):                  # the firmware starts its own daemons
        return qemu.start(v, d)
    pids, log = d / "pids", d / "log"
    group = STATE / "_groups" / v.key_group if v.has("shared_keys") else None

    accounts = sorted(f"/etc/{f.name}" for f in (Path("/etc/netns") / v.ns).iterdir())

    def spawn(cmd, *args, **kw):          # every daemon confined (daemons.CONFINE)
        return netns.spawn(v.ns, daemons.confined(d, cmd, accounts), *args, **kw)

    if v.has("weak_ssh"):
        key = d / "ssh_host_rsa_key"
        if not key.exists():
            files.openssh_host_key(key)
        spawn(daemons.openssh(d, addr, key, address6(v)), pids, "ssh", log / "ssh.log")
    else:
        key = d / "dropbear_ed25519_host_key"
        if not key.exists():
            files.ssh_host_key(key, group)
        spawn(daemons.dropbear(d, addr, key, address6(v)), pids, "ssh", log / "ssh.log")
    if v.kind != "hub":
        spawn(daemons.lighttpd(
            d, addr, d / "server.pem", tls=not v.has("plain_http_login"),
            weak_tls=v.has("weak_tls"), users=fs_users(d), auth=WEB_AUTH[v.kind],
            throttle=not v.has("no_throttle"), info_leak=_wifi(d) if v.has("info_leak") else None,
            firmware=FIRMWARE[v.kind], tag=OLD_LIGHTTPD if v.has("known_exploited_vuln")
            else "lighttpd"), pids, "web", log / "web.log")
    password = (d / "admin.pw").read_text().strip()
    for name, cmd in thirdparty.commands(v, d, addr, password):
        spawn(cmd, pids, name, log / f"{name}.log")
    if v.has("rate_limit"):
        netns.in_ns(v.ns, "nft", "-f", "-", input=thirdparty.RATE_LIMIT)
    if v.has("telnet"):
        spawn(daemons.telnetd(d, addr, not v.has("telnet_no_login")), pids, "telnet",
              log / "telnet.log")
    if v.has("ipv6_only_telnet"):
        spawn(daemons.telnetd(d, address6(v), ipv6_only=True), pids, "telnet6",
              log / "telnet6.log")
    if v.has("ftp_anonymous"):
        spawn(daemons.vsftpd(d, addr), pids, "ftp", log / "ftp.log")
    spawn([sys.executable, "-m", "harness.emulate.agent", str(d / "agent.json")], pids,
          "agent", log / "agent.log",
          env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])})


def fs_users(d: Path) -> Path:
    etc = d / "fs" / "etc"
    return next((f for f in (etc / "web-users", etc / "web-htdigest") if f.exists()),
                etc / "web-htpasswd")


def _wifi(d: Path) -> str:
    return (d / "fs" / "etc" / "wifi.conf").read_text().split("psk=")[1].strip()


def _ports(v: Variant) -> list[int]:
    if v.has("qemu"):
        return qemu.SERVICES
    # the agent's JSON update API, unless a framework updates the unit; SWUpdate's web
    # server takes that port
    ports = [22] + ([] if any(v.has(f) for f in ("ota", "rauc", "mender")) else [8443]) + \
        thirdparty.tcp_ports(v)
    if v.kind != "hub":
        ports.append(80 if v.has("plain_http_login") else 443)
    if v.has("telnet"):
        ports.append(23)
    if v.has("ftp_anonymous"):
        ports.append(21)
    if v.kind == "camera":
        ports.append(554)
    return ports


def wait_ready(v: Variant, timeout: float | None = None) -> None:
    """Bounded wait until every service listens and the console exists."""
    import socket
    want = set(_ports(v))
    timeout = timeout or (qemu.BOOT_WAIT if v.has("qemu") else      # a boot under TCG
                          60.0 if v.kind == "hub" else 20.0)       # Node-RED starts slowly
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for port in list(want):
            try:
                socket.create_connection((address(v), port), timeout=0.5).close()
                want.discard(port)
            except OSError:
                pass
        if not want and (_dir(v) / "console").exists():
            return
        if v.has("qemu") and qemu.powered_off_itself(_dir(v)):
            raise EmulateError(f"{v.name}: the board powered itself off during the boot "
                               "(its console shows why)")
        time.sleep(0.1)
    last = []
    for log in sorted((_dir(v) / "log").iterdir()):
        lines = log.read_text(errors="replace").strip().splitlines()
        if lines:
            last.append(f"{log.name}: {lines[-1]}")
    raise EmulateError(f"{v.name}: ports {sorted(want)} not listening after {timeout:.0f}s; "
                       f"last log lines: {'; '.join(last) or 'none'}")


# ------------------------------------------------------------------ lab-level operations
def up(names=None) -> list[Path]:
    netns.need_root()
    with guard.changing("bring emulated devices up"):
        return _up(names)


def _up(names) -> list[Path]:
    variants = select(names)
    net = netns.check_subnet(SUBNET)
    netns.check_subnet(SUBNET6)
    netns.make_state()
    netns.ensure_bridge(GATEWAY, net.prefixlen, GATEWAY6)
    started = []
    try:
        appliances = [v for v in variants if v.kind == "appliance"]
        if appliances and CLOUD_NS not in netns.namespaces():
            netns.add_host(CLOUD_NS, 0, CLOUD, net.prefixlen, GATEWAY)
        for v in variants:
            if v.ns in netns.namespaces():
                raise EmulateError(f"{v.name} is already up")
            build(v)
            (STATE / "_links").mkdir(exist_ok=True)
            host_if = netns.add_host(v.ns, v.index, address(v), net.prefixlen, GATEWAY,
                                     address6(v), GATEWAY6,
                                     None if v.has("qemu") else mac(v))  # qemu: the guest's
            if v.has("qemu"):
                qemu.wire(v)
            (STATE / "_links" / v.name).write_text(host_if)
            if v.kind == "appliance":
                _start_broker(v)
            start_uart(v)
            start_processes(v)
            started.append(v)
        for v in started:
            wait_ready(v)
    except BaseException:
        for v in started:
            _stop_device(v)
        if not status():
            netns.teardown_all()
        raise
    return [profiles.write(v) for v in started]


def _start_broker(v: Variant) -> None:
    """The unit's cloud broker: units of one model that share a port share one broker (the
    vendor's cloud), each with its own accounts; a later unit is added to the running one."""
    d = STATE / "_cloud"
    d.mkdir(exist_ok=True)
    port = MQTT_PORTS[v.name]
    name = f"broker-{port}"
    running = netns._ours(d / "pids" / name)
    passwd = None if v.has("anonymous_mqtt") else d / f"{name}.passwd"
    if passwd and not running:
        passwd.unlink(missing_ok=True)          # a stale file from an earlier lab
    if passwd:
        pw = (_dir(v) / "admin.pw").read_text().strip()
        for user in mqtt_users(v).values():
            daemons.mosquitto_user(passwd, user, pw)
    if running:
        os.kill(running, signal.SIGHUP)          # ours, by PID: read the accounts again
        return
    tls = not v.has("plaintext_mqtt")
    ca_key, ca_cert, _ = files.cloud_ca(d)
    pem = files.tls_cert(d / name, "cloud.emulated", CLOUD, None, issuer=(ca_key, ca_cert)) \
        if tls else None
    cmd = daemons.mosquitto(d, name, CLOUD, port, pem, passwd)
    netns.spawn(CLOUD_NS, cmd, d / "pids", name, d / f"{name}.log")


def _stop_device(v: Variant) -> None:
    netns.stop_recorded(_dir(v) / "pids")
    netns.stop_recorded(_dir(v) / "uart-pids")
    netns.remove_namespace(v.ns)


def down() -> list[str]:
    netns.need_root()
    with guard.changing("take the emulated lab down"):
        return netns.teardown_all()


def status() -> list[dict]:
    out = []
    for v in select(None):
        pid_dir = _dir(v) / "pids"
        running = sorted(f.name for f in pid_dir.iterdir() if netns._ours(f)) \
            if pid_dir.is_dir() else []
        if v.ns in netns.namespaces() or running:
            out.append({"name": v.name, "address": address(v), "processes": running,
                        "flaws": sorted(v.flaws), "profile": str(profile_path(v))})
    return out


def power_cycle(name: str, off_seconds: float = BOOT_DELAY, wait: bool = True) -> None:
    """Power off (every process of the device stops), wait, boot. wait=False behaves like a
    lab PDU: it returns once the power is off; the device comes back `off_seconds` later on
    its own, and whoever switched it must find out when it is ready."""
    power_off(name)
    if not wait:
        return boot_later(name, off_seconds)
    time.sleep(off_seconds)
    power_on(name)


def power_off(name: str) -> None:
    v = select([name])[0]
    netns.stop_recorded(_dir(v) / "boot-pids")     # a boot still pending from a PDU cycle
    if v.has("qemu") and netns.recorded(_dir(v) / "pids"):
        with open(_dir(v) / "log" / "power.log", "a") as log:
            log.write(f"{time.strftime('%H:%M:%S')} power off: {qemu.quit_power(_dir(v))}\n")
    netns.stop_recorded(_dir(v) / "pids")
    netns.stop_namespace_processes(v.ns, keep=netns.recorded(_dir(v) / "uart-pids"))


def boot_later(name: str, after: float = 0.0) -> None:
    """Boot in the background (a recorded process of ours), `after` seconds from now."""
    netns.spawn_host([sys.executable, "-m", "harness", "emulate", "power-on", name,
                      "--after", str(after)], _dir(name) / "boot-pids", "boot",
                     _dir(name) / "log" / "boot.log",
                     env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])})


def write_boot_medium(name: str, source: str) -> str:
    """A QEMU unit's firmware disk replaced by `source` (whole, by rename: the running board
    keeps the disk it opened; the next power-on loads the new one)."""
    v = select([name])[0]
    if not v.has("qemu"):
        raise EmulateError(f"{name} has no boot medium the lab can write (it boots no "
                           "firmware disk: a unit of daemons in a namespace)")
    src = Path(source)
    if not src.is_file() or src.stat().st_size > MAX_BOOT_IMAGE:
        raise EmulateError(f"{source}: not a file of at most {MAX_BOOT_IMAGE >> 20} MiB")
    d = _dir(v)
    tmp = d / ".firmware.img.new"
    shutil.copyfile(src, tmp)
    tmp.replace(d / "firmware.img")
    return f"{name}: boot medium written ({src.stat().st_size} bytes from {src})"


MAX_BOOT_IMAGE = 1 << 30


def recover(name: str) -> str:
    """The unit's recovery mode, the vendor's way back to the shipped firmware (a TFTP
    recovery flash on a real router): the firmware's version files as shipped; a unit whose
    update framework reads the running version at its start (SWUpdate's -N) boots again; a
    QEMU unit's firmware disk is the vendor's again (both slots), and it boots."""
    v = select([name])[0]
    if v.has("rauc"):
        raise EmulateError(f"{name} has no recovery mode in the emulated lab: RAUC's other "
                           "slot is its way back")
    if v.has("qemu"):                  # the vendor's firmware disk flashed again, booted
        said = write_boot_medium(name, str(_dir(v) / "vendor-firmware.img"))
        power_cycle(name)
        return f"{said}; booted"
    etc, shipped = _dir(v) / "fs" / "etc", _dir(v) / "initial" / "etc"
    if not (shipped / "firmware.json").is_file():
        raise EmulateError(f"{name} is not up (harness emulate up {name})")
    for f in ("firmware.json", "sw-versions"):
        if (shipped / f).exists():
            shutil.copyfile(shipped / f, etc / f)
    if v.has("mender"):                # Mender's state names the shipped artifact again
        state = Path("var", "lib", "mender")
        shutil.rmtree(etc.parent / state, ignore_errors=True)
        shutil.copytree(shipped.parent / state, etc.parent / state)
    if v.has("swupdate") or v.has("ota"):
        power_cycle(name)
    shipped_version = json.loads((etc / "firmware.json").read_text())["version"]
    return f"{name}: shipped firmware {shipped_version} restored"


def powered(name: str) -> bool:
    return bool(netns.recorded(_dir(name) / "pids") or netns.recorded(_dir(name) / "boot-pids"))


def power_on(name: str) -> None:
    v = select([name])[0]
    start_processes(v)
    wait_ready(v)


def button(name: str, state: str) -> str:
    """The appliance's local button: the agent picks the press up within half a second."""
    v = select([name])[0]
    if v.kind != "appliance":
        raise EmulateError(f"{name} has no local button (not an appliance)")
    files.write(_dir(v) / "button", state + "\n")
    return f"{name}: local button {state}"


def link(name: str, state: str, loss: float = 0, delay_ms: int = 0) -> str:
    v = select([name])[0]
    host_if = (STATE / "_links" / v.name).read_text().strip()
    if state == "degrade":
        return netns.degrade_link(v.ns, host_if, loss, delay_ms)
    netns.set_link(host_if, state == "up")
    return state
