"""Namespaces, links and processes of the emulated lab; nothing here knows about devices.

Everything we create carries a prefix (namespaces `hx-`, links `hxv`/`hxbr`) and every
process we start has its PID and start time recorded, so `down` can remove exactly what
we made — also after a crash — and never touches anything else.
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

DEFAULT_STATE = "/run/harness-emulate"


def _state_problem(raw: str | None) -> str | None:
    """`emulate down` deletes the state directory as root: only an absolute path that is
    not a system directory will do (an empty value once meant '.', the current directory)."""
    if raw is None:
        return None
    p = Path(raw)
    if not raw or not p.is_absolute():
        return f"HARNESS_EMULATE_STATE must be an absolute path (got {raw!r})"
    if len(p.resolve().parts) < 3:
        return f"HARNESS_EMULATE_STATE must not be a top-level directory (got {raw!r})"
    return None


STATE_PROBLEM = _state_problem(os.environ.get("HARNESS_EMULATE_STATE"))
STATE = Path(DEFAULT_STATE if STATE_PROBLEM else
             os.environ.get("HARNESS_EMULATE_STATE", DEFAULT_STATE))
NS_PREFIX = "hx-"
BRIDGE = "hxbr0"
LINK_PREFIX = "hxv"


class EmulateError(Exception):
    pass


MARKER = ".made-by-harness-emulate"     # in the state directory the tool made: its licence
#                                        to fill it and to remove it again


def check_state() -> None:
    """The state directory is the tool's own: absent, empty, or marked as made by it. An
    existing directory of someone else's (HARNESS_EMULATE_STATE=/var/lib) is never used,
    and `emulate down` never removes it."""
    if STATE_PROBLEM:
        raise EmulateError(STATE_PROBLEM)
    if STATE.is_symlink() or STATE.exists() and not STATE.is_dir():
        raise EmulateError(f"{STATE} is not a directory of ours (a link or a file): "
                           "refusing to use or remove it (HARNESS_EMULATE_STATE)")
    if STATE.is_dir() and not (STATE / MARKER).is_file() and not _older_state_of_ours():
        raise EmulateError(f"{STATE} exists and was not made by `harness emulate` (no "
                           f"{MARKER} in it): refusing to use or remove it; choose another "
                           "HARNESS_EMULATE_STATE")


def _older_state_of_ours() -> bool:
    """Empty, or a state directory an earlier version made (before the marker): only our
    units' directories and our `_` entries in it."""
    from harness.emulate.variants import BY_NAME
    return all(p.name in BY_NAME or p.name.startswith("_") for p in STATE.iterdir())


def make_state() -> None:
    check_state()
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / MARKER).write_text("made by harness emulate; removed by harness emulate down\n")


def need_root() -> None:
    if os.geteuid() != 0:
        raise EmulateError("emulated devices need root (network namespaces, veth, nftables); "
                           "run as root or with sudo")
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            raise EmulateError(f"'{tool}' is not installed; run the README's set-up command")


def sh(*cmd: str, check: bool = True, timeout: float = 20, input: str | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise EmulateError(f"{' '.join(cmd)}: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def in_ns(ns: str, *cmd: str, check: bool = True, timeout: float = 20,
          input: str | None = None) -> str:
    return sh("ip", "netns", "exec", ns, *cmd, check=check, timeout=timeout, input=input)


# ---------------------------------------------------------------- subnet and links
LAB_RANGES = {4: "198.18.0.0/15", 6: "2001:2::/48"}     # the benchmarking ranges


def check_subnet(subnet: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Refuse a subnet outside the benchmarking range of its family or overlapping a route
    we did not make (the default route, link-local and multicast routes are ignored)."""
    net = ipaddress.ip_network(subnet, strict=False)
    allowed = LAB_RANGES[net.version]
    if not net.subnet_of(ipaddress.ip_network(allowed)):
        raise EmulateError(f"emulated devices live in {allowed} (benchmarking range); "
                           f"{subnet} is outside it")
    routes = json.loads(sh("ip", "-j", f"-{net.version}", "route", "show", "table", "all")
                        or "[]")
    for r in routes:
        dst, dev = r.get("dst", ""), r.get("dev", "")
        if dst in ("default", "") or dev == BRIDGE or dev.startswith(LINK_PREFIX):
            continue
        try:
            other = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if not (other.is_link_local or other.is_multicast) and other.overlaps(net):
            raise EmulateError(f"subnet {net} overlaps the route {dst} dev {dev} on this "
                               f"machine; choose another subnet in {allowed}")
    return net


def links() -> list[str]:
    data = json.loads(sh("ip", "-j", "link", "show") or "[]")
    return [d["ifname"] for d in data]


def namespaces() -> list[str]:
    out = sh("ip", "netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines()
            if line.split() and line.split()[0].startswith(NS_PREFIX)]


HOST_TABLE = "hxlab"


def ensure_bridge(gateway: str, prefixlen: int, gateway6: str | None = None) -> None:
    if BRIDGE not in links():
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{gateway}/{prefixlen}", "dev", BRIDGE)
        if gateway6:
            sh("ip", "-6", "addr", "add", f"{gateway6}/64", "dev", BRIDGE, "nodad")
        # flawed devices offer root shells: only root on this host (the harness) may open
        # connections into the lab, not every local user
        sh("nft", "-f", "-", input=(
            f"table inet {HOST_TABLE} {{\n chain out {{ type filter hook output priority 0;\n"
            f'  oifname "{BRIDGE}" meta skuid != 0 ct state new drop\n }}\n}}\n'))
    sh("ip", "link", "set", BRIDGE, "up")


def add_host(ns: str, index: int, address: str, prefixlen: int, gateway: str,
             address6: str | None = None, gateway6: str | None = None,
             mac: str | None = None) -> str:
    """A namespace with eth0 on the bridge (its MAC `mac`, as the unit's label gives it);
    returns the host-side link name."""
    host_if = f"{LINK_PREFIX}{index}"
    if ns in namespaces():
        raise EmulateError(f"namespace {ns} already exists; run 'harness emulate down' first")
    sh("ip", "netns", "add", ns)
    peer = ["address", mac] if mac else []
    sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", *peer, "netns", ns)
    sh("ip", "link", "set", host_if, "master", BRIDGE, "up")
    in_ns(ns, "ip", "link", "set", "lo", "up")
    in_ns(ns, "ip", "addr", "add", f"{address}/{prefixlen}", "dev", "eth0")
    in_ns(ns, "ip", "link", "set", "eth0", "up")
    in_ns(ns, "ip", "route", "add", "default", "via", gateway)
    if address6:
        in_ns(ns, "ip", "-6", "addr", "add", f"{address6}/64", "dev", "eth0", "nodad")
        in_ns(ns, "ip", "-6", "route", "add", "default", "via", gateway6)
    return host_if


def set_link(host_if: str, up: bool) -> None:
    sh("ip", "link", "set", host_if, "up" if up else "down")


def degrade_link(ns: str, host_if: str, loss_pct: float = 0, delay_ms: int = 0) -> str:
    """Packet loss and delay on a device's link; returns how it was applied. netem where
    the kernel has it; otherwise random drops in nftables plus a tbf shaper (queueing
    delay under load, no fixed delay)."""
    sh("tc", "qdisc", "del", "dev", host_if, "root", check=False)
    in_ns(ns, "nft", "delete", "table", "inet", "hxlink", check=False)
    if not loss_pct and not delay_ms:
        return "clean"
    try:
        sh("tc", "qdisc", "add", "dev", host_if, "root", "netem", "loss", f"{loss_pct}%",
           "delay", f"{delay_ms}ms")
        return "netem"
    except EmulateError:
        pass
    how = []
    if loss_pct:
        rule = "drop" if loss_pct >= 100 else f"numgen random mod 100 < {int(loss_pct)} drop"
        proc = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], text=True,
                              capture_output=True, input=(
            "table inet hxlink {\n"
            f" chain i {{\n  type filter hook input priority -10;\n  {rule}\n }}\n"
            f" chain o {{\n  type filter hook output priority -10;\n  {rule}\n }}\n}}\n"))
        if proc.returncode:
            raise EmulateError(f"nft loss rule: {proc.stderr.strip()}")
        how.append(f"nftables {int(loss_pct)}% random loss")
    if delay_ms:
        sh("tc", "qdisc", "add", "dev", host_if, "root", "tbf", "rate", "512kbit", "burst",
           "16kbit", "latency", f"{max(delay_ms, 1)}ms")
        how.append("tbf shaping at 512 kbit/s (this kernel has no netem for a fixed delay)")
    return "; ".join(how)


# ---------------------------------------------------------------- processes
def _starttime(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def spawn(ns: str, cmd: list[str], pid_dir: Path, name: str, log: Path,
          env: dict | None = None, stdin=subprocess.DEVNULL) -> int:
    """Start a process in a namespace, recording PID and start time in pid_dir/name."""
    return spawn_host(["ip", "netns", "exec", ns, *cmd], pid_dir, name, log, env, stdin)


def spawn_host(cmd: list[str], pid_dir: Path, name: str, log: Path,
               env: dict | None = None, stdin=subprocess.DEVNULL) -> int:
    """Start a process of ours on the host (its own session), recorded like spawn()."""
    pid_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
    (pid_dir / name).write_text(f"{proc.pid} {_starttime(proc.pid)}\n")
    return proc.pid


def _ours(pid_file: Path) -> int | None:
    try:
        pid_s, start = pid_file.read_text().split()
        pid = int(pid_s)
    except (OSError, ValueError):
        return None
    return pid if _starttime(pid) == start else None


def stop_recorded(pid_dir: Path, grace: float = 3.0) -> None:
    """Stop the processes recorded in pid_dir (TERM, then KILL), by PID only."""
    if not pid_dir.is_dir():
        return
    _terminate(sorted(recorded(pid_dir)), grace)
    for f in pid_dir.iterdir():
        f.unlink()


def stop_recorded_one(pid_dir: Path, name: str, grace: float = 3.0) -> None:
    """Stop the one process recorded as pid_dir/name (if it is still ours)."""
    pid = _ours(pid_dir / name)
    if pid:
        _terminate([pid], grace)
    (pid_dir / name).unlink(missing_ok=True)


def _terminate(pids: list[int], grace: float) -> None:
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM) if os.getpgid(pid) == pid else os.kill(
                pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.monotonic() + grace
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def recorded(pid_dir: Path) -> set[int]:
    """PIDs recorded in pid_dir that are still the processes we started."""
    return {p for p in (_ours(f) for f in pid_dir.iterdir()) if p} if pid_dir.is_dir() else set()


def stop_namespace_processes(ns: str, keep: set[int] = frozenset()) -> None:
    """Every process still inside one of our namespaces (e.g. shells of SSH sessions),
    except `keep`."""
    out = sh("ip", "netns", "pids", ns, check=False)
    pids = [int(p) for p in out.split()
            if p.isdigit() and int(p) != os.getpid() and int(p) not in keep]
    _terminate(pids, 2.0)


def remove_namespace(ns: str) -> None:
    stop_namespace_processes(ns)
    sh("ip", "netns", "del", ns, check=False)
    shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


def teardown_all() -> list[str]:
    """Remove every namespace, link, process and state file of ours; returns what was removed."""
    check_state()
    removed = []
    if f"inet {HOST_TABLE}" in sh("nft", "list", "tables", check=False):
        sh("nft", "delete", "table", "inet", HOST_TABLE, check=False)
        removed.append(f"nft table inet {HOST_TABLE}")
    if STATE.is_dir():
        for pid_dir in STATE.glob("*/*pids"):          # pids (device), uart-pids (lab)
            stop_recorded(pid_dir)
    for ns in namespaces():
        remove_namespace(ns)
        removed.append(f"netns {ns}")
    for link in links():
        if link.startswith(LINK_PREFIX) or link == BRIDGE:
            sh("ip", "link", "del", link.split("@")[0], check=False)
            removed.append(f"link {link}")
    etc = Path("/etc/netns")
    if etc.is_dir():
        for d in etc.glob(f"{NS_PREFIX}*"):
            shutil.rmtree(d, ignore_errors=True)
        if not any(etc.iterdir()):
            etc.rmdir()
    if (STATE / "_created_run_sshd").exists():
        try:
            Path("/run/sshd").rmdir()
        except OSError:
            pass
    if STATE.exists():
        shutil.rmtree(STATE, ignore_errors=True)
        removed.append(f"state {STATE}")
    return removed
