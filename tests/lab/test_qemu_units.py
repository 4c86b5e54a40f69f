"""The units that boot real firmware in QEMU, beyond the detection matrix: the console
shows the whole boot from U-Boot's first line; the flash decides whether autoboot can be
stopped; power goes off through QMP; a password set on the unit survives a power cycle (the
data disk), and a factory reset brings the factory partition's password back. The time a
boot takes is printed."""
import shlex
import time

import pytest

from harness.lab.actions import run_action
from harness.lab.config import load_lab
from harness.runner.context import build_context

pytestmark = pytest.mark.units("fw-router", "fw-router-open")


def _device(emulated_lab, tmp_path, name):
    return build_context([emulated_lab[name]], out=tmp_path / name).devices[0]


@pytest.mark.parametrize("name", ["fw-router", "fw-router-open"])
def test_the_console_shows_a_real_boot_and_only_the_open_unit_counts_down(
        emulated_lab, tmp_path, name):
    device = _device(emulated_lab, tmp_path, name)
    console = device.console()
    try:
        t0 = time.monotonic()
        run_action(load_lab(None)[0], device.profile, "power_cycle", timeout=150)
        prompt = "# ?$" if name == "fw-router-open" else "login: ?$"
        _, text = console.expect([prompt], timeout=120)
        print(f"{name}: power cycle to its prompt in {time.monotonic() - t0:.1f}s")
    finally:
        console.close()
    from harness.emulate.netns import STATE
    power = (STATE / name / "log" / "power.log").read_text().splitlines()
    assert power[-1].split(" ", 1)[1].startswith("power off: QMP quit: QEMU exited in"), power
    assert "U-Boot 2023.01" in text and "Starting kernel" in text, text[-2000:]
    assert "rcS: up in" in text and "firmware 5.0.2" in text
    # bootdelay 2 on the open unit's flash; -2 (no countdown, no stop) on the locked one
    assert ("Hit any key to stop autoboot" in text) == (name == "fw-router-open")


def _session(device, password):
    """An SSH session logged in with `password`, or None when the unit refuses it."""
    from harness.transport.ssh import SSHSession
    p = device.profile
    s = SSHSession(device.wire, p.address, p.ssh.port)
    if s.auth_password(p.ssh.username, password):
        return s
    s.close()
    return None


def _login(device, password) -> bool:
    s = _session(device, password)
    if s:
        s.close()
    return s is not None


def test_a_password_survives_a_power_cycle_and_a_factory_reset_brings_the_factory_one_back(
        emulated_lab, tmp_path):
    device = _device(emulated_lab, tmp_path, "fw-router")
    lab = load_lab(None)[0]
    factory = device.profile.ssh.password.get_secret_value()
    new = "Hx-qemu-" + str(time.time_ns())[-8:]
    shell = device.shell()
    try:
        status, out = shell.run(f"set-password admin {shlex.quote(new)}")
    finally:
        shell.close()
    assert status == 0 and "password changed" in out, out
    try:
        run_action(lab, device.profile, "power_cycle", timeout=150)
        assert _login(device, new) and not _login(device, factory)   # kept on the data disk
    finally:                          # whatever happened: back to the factory password
        s = _session(device, new) or _session(device, factory)
        try:
            status, out = s.run("factory-reset")
        finally:
            s.close()
    assert status == 0 and "factory reset done" in out, out
    assert _login(device, factory) and not _login(device, new)
