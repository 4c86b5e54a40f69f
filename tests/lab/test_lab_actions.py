"""Lab actions through the lab config's commands: power-cycle, link down/up, degrade."""
import time

from harness.errors import DeviceError
from harness.lab.actions import run_action
from harness.lab.config import load_lab
from harness.profile.loader import load_profile
from harness.transport import net
from harness.run import build_context


def test_power_cycle_and_link(emulated_lab, tmp_path):
    lab, _ = load_lab(None)
    ctx = build_context([emulated_lab["router-2"]], out=tmp_path / "out")
    device = ctx.devices[0]
    addr = device.profile.address

    console = device.console()
    console.close()
    run_action(lab, device.profile, "power_cycle", timeout=90)
    console = device.console()                    # a new boot: the console is back
    try:
        assert console.login("admin", device.profile.serial.password.get_secret_value()) \
            == "accepted"
    finally:
        console.close()
    assert net.tcp_open(device.wire, addr, 22)

    run_action(lab, device.profile, "link_down")
    try:
        assert not net.tcp_open(device.wire, addr, 22, timeout=2)
        assert not device.check_alive() or device.profile.serial   # console still answers
    finally:
        run_action(lab, device.profile, "link_up")
    deadline = time.monotonic() + 10
    while not net.tcp_open(device.wire, addr, 22, timeout=1) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert net.tcp_open(device.wire, addr, 22)

    from harness.emulate import lab as emulated
    try:
        how = emulated.link("router-2", "degrade", 100, 0)         # total loss: provably applied
        assert "loss" in how or how == "netem"
        assert not net.tcp_open(device.wire, addr, 22, timeout=2)
        out = run_action(lab, device.profile, "link_degrade")     # the lab config's 20 % loss
        assert "20% random loss" in out or "netem" in out
    finally:
        assert emulated.link("router-2", "degrade", 0, 0) == "clean"
    assert net.tcp_open(device.wire, addr, 22, timeout=5)


def test_missing_action_is_an_error(emulated_lab, tmp_path):
    import pytest
    lab_file = tmp_path / "lab.yaml"
    lab_file.write_text("lab: {name: x}\nscope: {allow: [198.18.0.0/24]}\n")
    lab, _ = load_lab(lab_file)
    profile, _ = load_profile(emulated_lab["router-2"])
    with pytest.raises(DeviceError, match="no 'power_cycle' action"):
        run_action(lab, profile, "power_cycle")


def test_a_second_session_cannot_take_the_lab_from_under_a_first(emulated_lab, tmp_path):
    """This test session uses the emulated lab (its fixture holds the lab's user lock): a
    second run's `emulate down` or `up` refuses with a clear message naming the user, and
    leaves every device up; a run on the same lab is no collision."""
    import os
    from harness.emulate import guard, netns
    from tests.conftest import harness
    before = netns.namespaces()
    assert any(f"PID {os.getpid()}" in u for u in guard.users())
    for cmd in (("emulate", "down"), ("emulate", "up", "router-1")):
        proc = harness(*cmd, timeout=120)
        assert proc.returncode == 1, (cmd, proc.stdout, proc.stderr)
        assert "in use by PID" in proc.stderr and "test session" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert netns.namespaces() == before
    proc = harness("run", "--profile", emulated_lab["router-1"], "-k", "TC-SURF-02", "--out",
                   tmp_path / "run")
    assert proc.returncode == 0, proc.stderr[-2000:]
