"""The device-as-TLS-client test beyond the detection matrix: what it does when nothing
or something strange connects (never a PASS), and the redirect action's bad input."""
import subprocess
import sys

import pytest

from harness.probe.tls_client import StandIn
from tests.conftest import REPO, harness, load_run, verdicts

# appliance-1 (and its sibling on the cloud broker, whose matrix tests borrow it)
pytestmark = pytest.mark.units("appliance-1", "appliance-noverify")

CLIENT = """
import socket, sys, ssl
host, port = sys.argv[2].split(":")
s = socket.create_connection((host, int(port)), timeout=5)
if sys.argv[1] == "garbage":
    s.send(b"GET / HTTP/1.0\\r\\n\\r\\n")
elif sys.argv[1] in ("hangup", "reset"):   # a ClientHello, then gone before any verdict
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    o = ssl.MemoryBIO(); i = ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname=None)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        s.send(o.read())
    if sys.argv[1] == "reset":             # wait for the server's reply, then a TCP reset
        import struct, time
        s.recv(1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
"""


def _connect_from_device(kind: str, endpoint: str) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", "hx-appliance-1", sys.executable, "-c",
                             CLIENT, kind, endpoint])


def test_garbage_hangups_and_resets_decide_nothing(emulated_lab):
    """Only the client's own TLS alert is a refusal: a reset in the middle of the handshake
    (a crash, a timeout) was once read as one."""
    with StandIn("198.18.0.1", "198.18.0.2") as server:
        server.start(wait=15, max_connections=3)
        for kind in ("garbage", "hangup", "reset"):
            _connect_from_device(kind, server.endpoint).wait(timeout=10)
        attempts = server.result()
    # a hang-up after the ClientHello ends the server's handshake in an EOF ("failed") or,
    # when its ServerHello reaches the closed socket first, a reset: either decides nothing
    outcomes = [a.outcome for a in attempts]
    assert outcomes[0] == "not-tls" and outcomes[1] in ("failed", "reset") \
        and outcomes[2] == "reset", attempts
    assert "without a TLS alert" in attempts[2].detail


def test_no_connection_is_inconclusive(emulated_lab, tmp_path):
    """The profile names an endpoint the device never connects to: INCONCLUSIVE, not PASS."""
    profile = tmp_path / "appliance-1-other-endpoint.yaml"
    text = open(emulated_lab["appliance-1"]).read()
    text = text.replace("extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
    text = text.replace("tls_clients:\n  - {host: 198.18.0.2, port: 8883,",
                        "tls_clients:\n  - {host: 198.18.0.2, port: 9999, trigger: null, wait: 3,")
    assert "port: 9999" in text
    profile.write_text(text)
    out = tmp_path / "out"
    proc = harness("run", "--profile", profile, "-k", "TC-TLS-02", "--out", out)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    run = load_run(out)
    assert verdicts(run)["appliance-1"] == {"TC-TLS-02": "INCONCLUSIVE"}
    reason = run["devices"][0]["results"][0]["reason"]
    assert "no connection arrived within 3s" in reason


def test_redirect_bad_argument(emulated_lab):
    proc = harness("emulate", "redirect", "appliance-1", "cloud:8883", "198.18.0.1:1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "IPv4ADDRESS:PORT" in proc.stderr and "cloud:8883" in proc.stderr
