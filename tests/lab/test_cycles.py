"""`harness emulate up` / `down` leave nothing behind, ten times in a row, and after a crash."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, harness, lab_leftovers, need_root

CYCLE_DEVICES = ["router-1", "router-telnet", "appliance-open"]


def _our_processes() -> list[int]:
    """PIDs whose command line points into our state directory (ours by construction)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = open(f"/proc/{d}/cmdline", "rb").read()
            except OSError:
                continue
            if b"/run/harness-emulate/" in cmd:
                out.append(int(d))
    return out


@pytest.mark.exclusive_lab
def test_ten_up_down_cycles_leave_nothing():
    need_root()
    harness("emulate", "down")
    for i in range(10):
        up = harness("emulate", "up", *CYCLE_DEVICES, timeout=120)
        assert up.returncode == 0, up.stderr
        assert len(up.stdout.split()) == len(CYCLE_DEVICES)
        status = harness("emulate", "status")
        assert all(name in status.stdout for name in CYCLE_DEVICES)
        down = harness("emulate", "down", timeout=120)
        assert down.returncode == 0, down.stderr
        assert lab_leftovers() == [], f"cycle {i}: {lab_leftovers()}"
        assert _our_processes() == [], f"cycle {i}: processes left"
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout \
        .count("hx-") == 0


@pytest.mark.exclusive_lab
def test_down_cleans_up_after_a_crash():
    """Kill `emulate up` halfway (SIGKILL: no cleanup code runs); `down` still removes all."""
    need_root()
    harness("emulate", "down")
    proc = subprocess.Popen([sys.executable, "-m", "harness", "emulate", "up"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_our_processes()) < 6:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lab_leftovers(), "the crash left nothing: the test proves nothing"
    down = harness("emulate", "down", timeout=120)
    assert down.returncode == 0, down.stderr
    assert lab_leftovers() == []
    assert _our_processes() == []


@pytest.mark.units()
def test_up_refuses_without_root_or_overlap(monkeypatch):
    """The subnet check refuses a subnet outside 198.18.0.0/15."""
    from harness.emulate import netns
    with pytest.raises(netns.EmulateError, match="198.18.0.0/15"):
        netns.check_subnet("10.0.0.0/24")  # never sent: a string check, no socket
