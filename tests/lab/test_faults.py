"""Fault injection in one parallel run: a unit power-cycled in the middle of its port scan,
one whose link is cut mid-scan and whose SSH daemon is killed in the middle of the
credential checks, a host whose services accept TCP and never say a word (and whose serial
console spews garbage), one that answers a byte at a time ever slower. The affected test
cases end ERROR or INCONCLUSIVE with the cause within their deadline, never PASS; the
healthy unit in the same run is unharmed."""
import json
import os
import random
import signal
import sys
import threading
import time
import tty

import pytest

from tests.conftest import REPO, harness, load_run, verdicts

# the units it uses: it runs beside the detection matrix once the matrix is done with them
pytestmark = pytest.mark.units("router-oddpw", "router-2", "camera-1")

SERVICE_TESTS = ("TC-SSH-01", "TC-CRED-01", "TC-TLS-01", "TC-ID-01")
SELECTION = "TC-SURF-01 or TC-DEBUG-01 or " + " or ".join(SERVICE_TESTS)
BUDGET = 150                          # the lab's per-test-case watchdog in this run

HOSTILE = r'''
import socket, sys, threading, time

mode, addr, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3].split(",")]
BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
def serve(conn):
    try:
        if mode == "silent":
            time.sleep(300)                       # accept, then never a word
        else:                                     # a byte at a time, each slower
            for i in range(300):
                conn.sendall(BANNER[i % len(BANNER):i % len(BANNER) + 1])
                time.sleep(min(0.5 + i * 0.5, 10))
    except OSError:
        pass
    finally:
        conn.close()
def listen(port):
    s = socket.create_server((addr, port), reuse_port=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
for p in ports:
    threading.Thread(target=listen, args=(p,), daemon=True).start()
time.sleep(900)                                   # bounded: gone after 15 minutes at most
'''


def _spew(master: int, stop: threading.Event) -> None:
    """A console that sends garbage (random bytes, 2.5 kB/s) and never a prompt; what the
    harness types is read and dropped. Bounded: 15 minutes at most."""
    rnd, end = random.Random(7), time.monotonic() + 900
    while not stop.is_set() and time.monotonic() < end:
        try:
            os.write(master, bytes(rnd.getrandbits(8) for _ in range(256)))
        except OSError:                 # nobody reads: the buffer is full
            pass
        try:
            os.read(master, 4096)
        except OSError:
            pass
        time.sleep(0.1)


@pytest.fixture
def hostile_hosts(emulated_lab, tmp_path):
    from harness.emulate import netns
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE)
    made, profiles = [], {}
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    stop = threading.Event()
    spewer = threading.Thread(target=_spew, args=(master, stop), daemon=True)
    spewer.start()
    console = f"serial: {{port: {os.ttyname(slave)}, baud: 115200, username: admin, " \
              "password: not-a-real-one}\n"
    try:
        for i, mode in ((61, "silent"), (62, "trickle")):
            ns, addr = f"hx-{mode}", f"198.18.0.{i}"
            netns.add_host(ns, i, addr, 24, "198.18.0.1")
            made.append(ns)
            netns.spawn(ns, [sys.executable, str(script), mode, addr, "22,443,8443"],
                        tmp_path / "pids", mode, tmp_path / f"{mode}.log")
            path = tmp_path / f"{mode}.yaml"
            path.write_text(f"""extends: {REPO}/device_profiles/types/emulab-er100.yaml
name: {mode}-1
address: {addr}
has_ipv6: false
ssh: {{port: 22, username: admin, password: not-a-real-one}}
web:
  - {{port: 443, tls: true, auth: basic, admin_paths: [/admin/], username: admin, password: not-a-real-one}}
""" + (console if mode == "silent" else ""))
            profiles[mode] = path
        yield profiles
    finally:
        stop.set()
        spewer.join(5)
        os.close(master)
        os.close(slave)
        netns.stop_recorded(tmp_path / "pids")
        for ns in made:
            netns.remove_namespace(ns)


def _link_cut(name, seconds):
    from harness.emulate import lab
    lab.link(name, "down")
    try:
        time.sleep(seconds)
    finally:
        lab.link(name, "up")


def _kill_ssh_mid_session(name):
    """Once the unit's SSH daemon has taken a connection of the credential checks: kill the
    daemon and its sessions (its process group, by its recorded PID). Bounded wait."""
    from harness.emulate import netns
    from harness.emulate.netns import STATE
    log, pid_file = STATE / name / "log" / "ssh.log", STATE / name / "pids" / "ssh"
    size, end = log.stat().st_size, time.monotonic() + 60
    while log.stat().st_size == size and time.monotonic() < end:
        time.sleep(0.05)
    pid = netns._ours(pid_file)
    assert pid, "the SSH daemon of the unit is not running"
    os.killpg(pid, signal.SIGKILL)


def _inject(journal, stop: threading.Event, done: list):
    """As soon as a unit's test case starts: power-cycle router-2 (off 15 s) and cut
    camera-1's link for 20 s in their TC-SURF-01; kill camera-1's SSH daemon in the
    middle of its TC-CRED-01. Bounded wait."""
    from harness.emulate import lab
    faults = {("router-2", "TC-SURF-01"): lambda: lab.power_cycle("router-2", off_seconds=15),
              ("camera-1", "TC-SURF-01"): lambda: _link_cut("camera-1", 20),
              ("camera-1", "TC-CRED-01"): lambda: _kill_ssh_mid_session("camera-1")}
    deadline, running = time.monotonic() + 900, []
    while faults and not stop.is_set() and time.monotonic() < deadline:
        events = map(json.loads, journal.read_text().splitlines()) if journal.exists() else []
        for e in events:
            key = (e.get("device"), e.get("test_id"))
            if e.get("type") == "test-start" and key in faults:
                # each fault in its own thread: a 20 s link cut must not delay the other
                fault = faults.pop(key)
                t = threading.Thread(target=lambda f=fault: (time.sleep(0.3), f()))
                t.start()
                running.append(t)
                done.append(key)
        time.sleep(0.1)
    for t in running:
        t.join(timeout=120)


def test_faults_end_error_or_inconclusive_and_spare_the_others(emulated_lab, hostile_hosts,
                                                                tmp_path):
    lab = tmp_path / "lab.yaml"
    lab.write_text((REPO / "lab_config" / "emulated.yaml").read_text().replace(
        "  scan: 240", f"  scan: 60\n  test_case: {BUDGET}", 1))
    out = tmp_path / "out"
    stop, cycled = threading.Event(), []
    watcher = threading.Thread(target=_inject,
                               args=(out / "journal.jsonl", stop, cycled))
    watcher.start()
    try:
        proc = harness("run", "--lab", lab, "--out", out, "--workers", "5", "-k", SELECTION,
                       "--profile", emulated_lab["router-oddpw"], "--profile",
                       emulated_lab["router-2"], "--profile", emulated_lab["camera-1"],
                       "--profile", hostile_hosts["silent"],
                       "--profile", hostile_hosts["trickle"], timeout=1500)
    finally:
        stop.set()
        watcher.join(timeout=120)
        # the lab is shared by the session: camera-1's SSH daemon, killed above, comes back
        # with a power cycle (which waits until its services answer)
        from harness.emulate import lab as emulated
        emulated.power_cycle("camera-1")
    assert "Traceback" not in proc.stderr and proc.returncode == 1, proc.stderr[-2000:]
    assert sorted(cycled) == [("camera-1", "TC-CRED-01"), ("camera-1", "TC-SURF-01"),
                              ("router-2", "TC-SURF-01")], cycled
    run = load_run(out)
    got = verdicts(run)
    reasons = {(d["name"], r["test_id"]): r["reason"] for d in run["devices"]
               for r in d["results"]}
    # the healthy unit: as if alone
    assert all(got["router-oddpw"][t] == "PASS"
               for t in ("TC-SURF-01", "TC-DEBUG-01", *SERVICE_TESTS)), got
    # power-cycled mid-scan: the scan is incomplete, never a clean bill
    assert got["router-2"]["TC-SURF-01"] in ("INCONCLUSIVE", "ERROR"), got["router-2"]
    why = reasons[("router-2", "TC-SURF-01")]
    assert "mid-scan" in why or "did not answer" in why, why
    # link cut mid-scan: nmap may ride out a 20 s outage (its retransmissions); then PASS
    # only with every port answered, else ERROR or INCONCLUSIVE
    v = got["camera-1"]["TC-SURF-01"]
    if v == "PASS":
        r = next(r for d in run["devices"] if d["name"] == "camera-1" for r in d["results"]
                 if r["test_id"] == "TC-SURF-01")
        scans = [e["observed"] for e in r["evidence"] if e["check"].startswith("open ports")]
        assert scans and all(sc["tcp_unanswered"] == 0 for sc in scans), scans
    else:
        assert v in ("INCONCLUSIVE", "ERROR"), got["camera-1"]
    # SSH daemon killed in the middle of the credential checks: never a clean bill
    assert got["camera-1"]["TC-CRED-01"] in ("INCONCLUSIVE", "ERROR"), got["camera-1"]
    assert "ssh" in reasons[("camera-1", "TC-CRED-01")], reasons[("camera-1", "TC-CRED-01")]
    # a console that spews garbage: no login prompt, no shell; never PASS, never FAIL
    assert got["silent-1"]["TC-DEBUG-01"] in ("ERROR", "INCONCLUSIVE"), got["silent-1"]
    assert reasons[("silent-1", "TC-DEBUG-01")]
    # silent and ever slower services: every test case that needs them, with a cause
    for dev in ("silent-1", "trickle-1"):
        for t in SERVICE_TESTS:
            assert got[dev][t] in ("ERROR", "INCONCLUSIVE"), (dev, t, got[dev][t])
            assert reasons[(dev, t)], (dev, t)
    # each ended by its own deadline (connect/command timeouts), not by the watchdog
    for d in run["devices"]:
        for r in d["results"]:
            assert "watchdog" not in r["reason"] and r["duration_s"] < BUDGET, \
                (d["name"], r["test_id"], r["duration_s"], r["reason"])
