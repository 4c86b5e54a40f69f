"""Lab actions through the lab config's commands: power-cycle, link down/up, degrade."""
import time

import pytest

from harness.errors import DeviceError
from harness.lab.actions import run_action
from harness.lab.config import load_lab
from harness.profile.loader import load_profile
from harness.transport import net
from harness.runner.context import build_context


@pytest.mark.units("router-2")
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


@pytest.mark.units("router-2")
def test_missing_action_is_an_error(emulated_lab, tmp_path):
    import pytest
    lab_file = tmp_path / "lab.yaml"
    lab_file.write_text("lab: {name: x}\nscope: {allow: [198.18.0.0/24], interfaces: [hxbr0]}\n")
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


def _pdu_lab(tmp_path):
    """The emulated lab with a power switch like a PDU: power_cycle returns once the power
    is off, and the unit boots 6 s later on its own."""
    from tests.conftest import REPO
    lab = tmp_path / "pdu-lab.yaml"
    lab.write_text((REPO / "lab_config" / "emulated.yaml").read_text().replace(
        'power-cycle {device}"', 'power-cycle {device} --no-wait --off 6"', 1))
    return lab


@pytest.mark.units("router-2")
def test_lifecycle_proves_readiness_after_a_pdu_power_cycle(emulated_lab, tmp_path):
    from harness.errors import DeviceError
    from harness.runner.lifecycle import Lifecycle
    labfile = _pdu_lab(tmp_path)
    ctx = build_context([emulated_lab["router-2"]], lab_path=labfile, out=tmp_path / "out")
    device, lab = ctx.devices[0], ctx.lab
    addr = device.profile.address
    # the bare action: it returns while the unit is still off (what hid behind the
    # emulator's waiting power cycle): nothing answers yet
    run_action(lab, device.profile, "power_cycle", timeout=30)
    assert not net.tcp_open(device.wire, addr, 22, timeout=1)
    Lifecycle(device, lab).wait_ready([22, 443], why="the bare power cycle")
    # through the lifecycle owner: when act() returns the unit is ready, a shell works
    log = []
    lc = Lifecycle(device, lab, record=log.append)
    lc.act("power_cycle", timeout=30)
    assert net.tcp_open(device.wire, addr, 22, timeout=1)
    shell = device.shell()
    try:
        assert shell.run("echo ready")[1].strip() == "ready"
    finally:
        shell.close()
    assert [e["action"] for e in log] == ["power_cycle", "ready"]
    assert log[1]["seconds"] > 0                  # it did have to wait for the boot
    text = (tmp_path / "out" / "logs" / "router-2.log").read_text()
    assert "lab # action power_cycle: start" in text and "ready after" in text
    # a declared boot time the unit does not keep: ERROR naming the silent services
    quick = device.profile.model_copy(update={"boot_time": 1.0})
    impatient = Lifecycle(type(device)(quick, device.wire), lab)
    try:
        impatient.act("power_cycle", timeout=30)
        raise AssertionError("a 1 s boot time was accepted")
    except DeviceError as exc:
        assert "not ready within its boot_time of 1s" in str(exc) and "22" in str(exc)
    Lifecycle(device, lab).wait_ready([22], why="the end of this test")


@pytest.mark.units("router-2")
def test_lifecycle_restores_always_run_newest_first(emulated_lab, tmp_path):
    from harness.runner.lifecycle import Lifecycle
    ctx = build_context([emulated_lab["router-2"]], out=tmp_path / "out")
    device = ctx.devices[0]
    lc, order = Lifecycle(device, ctx.lab), []
    lc.on_exit("first registered", lambda: order.append("first"))
    try:
        lc.act("link_down")
        lc.on_exit("link up", lambda: (lc.act("link_up"), order.append("link up")))
        lc.on_exit("a restore that fails", lambda: 1 / 0)
        raise RuntimeError("the test case broke half-way")
    except RuntimeError:
        pass
    finally:
        failed = lc.close()
    assert order == ["link up", "first"]
    assert failed and "a restore that fails" in failed[0]
    assert net.tcp_open(device.wire, device.profile.address, 22)     # proven ready again
