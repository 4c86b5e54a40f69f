"""The emulated devices must not endanger the host: every shell on a unit (SSH, a flawed
unit's open telnet root shell, the serial console) runs in the unit's private root — its
own files and read-only system directories — without the capabilities to leave it."""
from pathlib import Path

import pytest

from tests.conftest import REPO

# the units it uses: it runs beside the detection matrix once the matrix is done with them
pytestmark = pytest.mark.units("router-1", "router-telnetshell")


def _open(device, surface):
    if surface == "ssh":
        return device.shell()
    console = device.telnet() if surface == "telnet" else device.console()
    outcome = console.login(device.profile.ssh.username,
                            device.profile.ssh.password.get_secret_value())
    assert outcome in ("accepted", "no-login"), outcome
    return console


@pytest.mark.parametrize("name,surface", [("router-1", "ssh"),
                                          ("router-telnetshell", "telnet"),
                                          ("router-telnetshell", "serial")])
def test_a_device_shell_cannot_reach_the_host(emulated_lab, tmp_path, name, surface):
    from harness.emulate.netns import STATE
    from harness.runner.context import build_context
    device = build_context([emulated_lab[name]], out=tmp_path / "out").devices[0]
    shell = _open(device, surface)
    fs = STATE / name / "fs"
    try:
        def run(cmd):
            status, out = shell.run(cmd)
            return status, out.strip()
        assert run("id -u") == (0, "0")                  # root on the unit...
        assert run("pwd")[1] == str(fs)                  # ...in its own files
        assert run("cat etc/firmware.json")[0] == 0
        assert run(f"echo hx > {fs}/data/probe && cat {fs}/data/probe && rm {fs}/data/probe") \
            == (0, "hx")
        # ...and nothing of the host: not the repository, not the lab's password file,
        # not root's home, not the host's processes
        for path in (REPO / "README.md", STATE / name / "admin.pw", "/root", "/proc/1"):
            assert run(f"test -e {path}")[0] != 0, f"{path} is visible from the device shell"
        # system directories are read-only, and the way out is closed
        assert run("touch /usr/hx-probe")[0] != 0
        assert run("mount -o remount,rw /usr")[0] != 0
        assert run("mkdir -p /tmp/out && chroot /tmp/out /bin/true")[0] != 0
        assert run("mknod /tmp/disk b 8 0")[0] != 0
    finally:
        shell.close()


@pytest.mark.parametrize("daemon", ["ssh", "web", "agent"])
def test_a_device_daemon_sees_the_host_read_only_and_no_other_unit(emulated_lab, daemon):
    """Each daemon of a unit runs in a mount namespace where the host's files are read-only,
    the other units' directories (passwords, keys, consoles) are hidden and only the unit's
    own directory is writable. Checked from inside the running daemon's namespace."""
    import subprocess
    from harness.emulate import netns
    from harness.emulate.netns import STATE
    pid = netns._ours(STATE / "router-1" / "pids" / daemon)
    assert pid, f"router-1's {daemon} is not running"

    def inside(cmd):
        return subprocess.run(["nsenter", "-t", str(pid), "-m", "--", "/bin/sh", "-c", cmd],
                              capture_output=True, text=True, timeout=20)
    assert inside(f"touch {REPO}/hx-probe").returncode != 0             # the host: read-only
    assert not (REPO / "hx-probe").exists()
    assert inside("touch /etc/hx-probe").returncode != 0
    other = inside(f"cat {STATE}/router-2/admin.pw")                    # another unit: hidden
    assert other.returncode != 0 and not other.stdout
    own = inside(f"echo hx > {STATE}/router-1/hx-probe && cat {STATE}/router-1/hx-probe")
    assert own.stdout.strip() == "hx", own.stderr                      # its own: writable
    (STATE / "router-1" / "hx-probe").unlink()
    # the host's /tmp too is read-only; the daemon's temporary files go to its own tmp/
    assert inside("touch /tmp/hx-probe").returncode != 0
    assert not Path("/tmp/hx-probe").exists()
    tmpdir = inside(f"tr '\\0' '\\n' < /proc/{pid}/environ | grep ^TMPDIR=").stdout.strip()
    assert tmpdir == f"TMPDIR={STATE}/router-1/tmp", tmpdir
