"""The emulated devices must not endanger the host: every shell on a unit (SSH, a flawed
unit's open telnet root shell, the serial console) runs in the unit's private root — its
own files and read-only system directories — without the capabilities to leave it."""
import pytest

from tests.conftest import REPO


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
    from harness.run import build_context
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
