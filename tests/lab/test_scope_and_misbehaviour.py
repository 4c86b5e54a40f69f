"""Scope enforcement on the wire, and devices that misbehave (garbage, silence, absence)."""
import time

import pytest
from scapy.all import AsyncSniffer, conf

from harness.emulate import netns
from tests.conftest import harness, load_run, verdicts

pytestmark = pytest.mark.units("router-1", "camera-open")

SMALL_SCOPE_LAB = """lab: {name: narrow lab}
scope: {allow: [198.18.0.0/28, "2001:2::/64"], interfaces: [hxbr0]}
timeouts: {connect: 2, command: 5, scan: 60}
"""


def test_out_of_scope_refused_before_any_packet(emulated_lab, tmp_path):
    """camera-open (198.18.0.21) is outside 198.18.0.0/28: the run is refused (exit 2) and
    not one packet to or from that address crosses the lab bridge."""
    lab = tmp_path / "lab.yaml"
    lab.write_text(SMALL_SCOPE_LAB)
    conf.ifaces.reload()                 # the lab bridge appeared after scapy was imported
    sniffer = AsyncSniffer(iface=netns.BRIDGE, filter="host 198.18.0.21", store=True)
    sniffer.start()
    time.sleep(0.5)
    proc = harness("run", "--lab", lab, "--out", tmp_path / "out",
                   "--profile", emulated_lab["router-1"], "--profile", emulated_lab["camera-open"])
    time.sleep(0.5)
    packets = sniffer.stop()
    assert proc.returncode == 2, proc.stderr
    assert "outside the lab's scope allowlist" in proc.stderr and "camera-open" in proc.stderr
    assert len(packets) == 0
    # the sniffer does see traffic when there is some: the check above can fail
    sniffer = AsyncSniffer(iface=netns.BRIDGE, filter="host 198.18.0.21", store=True)
    sniffer.start()
    time.sleep(0.5)
    from harness.lab.scope import Scope
    from harness.transport import net
    from harness.transport.transcript import Transcript
    from harness.transport.wire import Wire
    assert net.tcp_open(Wire(Scope(["198.18.0.21/32"]), Transcript(None)), "198.18.0.21", 22)
    time.sleep(0.5)
    assert len(sniffer.stop()) > 0


@pytest.fixture
def garbage_device(emulated_lab, tmp_path):
    """A host whose SSH, HTTPS and update ports answer with random bytes, and whose
    serial console is absent."""
    ns, addr = "hx-garbage", "198.18.0.60"
    netns.add_host(ns, 60, addr, 24, "198.18.0.1")
    pid_dir = tmp_path / "pids"
    for port in (22, 443, 8443):
        netns.spawn(ns, ["socat", f"TCP-LISTEN:{port},bind={addr},reuseaddr,fork",
                         "SYSTEM:head -c 3000 /dev/urandom"], pid_dir, f"p{port}",
                    tmp_path / f"{port}.log")
    for _ in range(50):
        if all(net_open(addr, p) for p in (22, 443, 8443)):
            break
        time.sleep(0.1)
    profile = tmp_path / "garbage.yaml"
    profile.write_text(f"""extends: {emulated_lab['router-1'].parent.parent.parent}/types/emulab-er100.yaml
name: garbage-1
address: {addr}
ssh: {{port: 22, username: admin, password: not-a-real-one}}
web:
  - {{port: 443, tls: true, auth: basic, admin_paths: [/admin/], username: admin, password: not-a-real-one}}
""")
    yield profile
    netns.stop_recorded(pid_dir)
    netns.remove_namespace(ns)


def net_open(addr, port):
    import socket
    try:
        socket.create_connection((addr, port), timeout=0.3).close()
        return True
    except OSError:
        return False


def test_garbage_is_never_a_pass(garbage_device, tmp_path):
    out = tmp_path / "out"
    proc = harness("run", "--profile", garbage_device, "--out", out,
                   "-k", "not TC-SURF", timeout=600)
    assert proc.returncode == 1, proc.stderr
    got = verdicts(load_run(out))["garbage-1"]
    network_tests = {"TC-CRED-01", "TC-SSH-01", "TC-TLS-01", "TC-ID-01", "TC-UNIQ-02",
                     "TC-STORE-01", "TC-UPD-01"}
    for t in network_tests:
        assert got[t] in ("ERROR", "INCONCLUSIVE"), (t, got[t])
    run = load_run(out)
    reasons = [r["reason"] for r in run["devices"][0]["results"] if r["verdict"] == "ERROR"]
    assert all(reasons)


def test_absent_device_fails_once(emulated_lab, tmp_path):
    """Nothing at the address: the first test finds out, the rest are ERROR with that cause
    instead of each timing out."""
    profile = tmp_path / "absent.yaml"
    profile.write_text(f"""extends: {emulated_lab['router-1'].parent.parent.parent}/types/emulab-er100.yaml
name: absent-1
address: 198.18.0.99
ssh: {{port: 22, username: admin, password: not-a-real-one}}
""")
    out = tmp_path / "out"
    proc = harness("run", "--profile", profile, "--out", out, timeout=600)
    assert proc.returncode == 1
    run = load_run(out)
    results = run["devices"][0]["results"]
    errors = [r for r in results if r["verdict"] == "ERROR"]
    assert len(errors) >= 8
    assert not [r for r in results if r["verdict"] in ("PASS", "FAIL") and
                not r["test_id"].startswith(("TC-DECL", "TC-UNIQ-01"))]
    later = [r for r in errors if "stopped answering earlier" in r["reason"]]
    assert len(later) >= len(errors) - 2


def test_only_root_on_this_host_reaches_the_lab(emulated_lab):
    """A flawed emulated device offers a root shell; another local user must not reach it.
    (Connects to our own emulated router only.)"""
    import subprocess
    import sys
    probe = ("import socket,sys\ntry:\n socket.create_connection(('198.18.0.11', 22), 3)"
             "\n print('connected')\nexcept OSError as e:\n print('refused', e)\n")
    as_nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                sys.executable, "-c", probe], capture_output=True, text=True,
                               timeout=30)
    assert as_nobody.stdout.startswith("refused"), as_nobody.stdout + as_nobody.stderr
    as_root = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             timeout=30)
    assert as_root.stdout.startswith("connected"), as_root.stdout + as_root.stderr
