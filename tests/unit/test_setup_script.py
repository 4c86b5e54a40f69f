"""The install path of scripts/setup.sh, without touching this machine: stand-ins for the
package manager (apt-get, dpkg-query), sudo, id and the commands that write system files
come first on PATH and record what would have run; the venv's python is a stand-in too."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

STUB = """#!/bin/sh
echo "{name} $*" >> "$STUB_LOG"
{body}
"""
BODIES = {
    # nothing is installed on this "machine"
    "dpkg-query": "exit 1",
    "apt-get": "exit 0",
    # sudo runs what it is given (still through the stand-ins on PATH)
    "sudo": 'exec "$@"',
    "tee": "cat >/dev/null",
    "chmod": "exit 0",
    "rm": "exit 0",
    "node": "exit 0",
    "npm": "exit 0",
    # a fresh machine's package index knows only its own architecture
    "dpkg": '[ "$1" = --print-foreign-architectures ] && exit 0; exit 0',
}


def _machine(tmp: Path, uid: int, **override) -> tuple[Path, dict]:
    repo = tmp / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", repo / "scripts" / "setup.sh")
    venv_bin = repo / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    stubs = tmp / "stubs"
    stubs.mkdir()
    bodies = {**BODIES, "id": f'[ "$1" = "-u" ] && echo {uid} && exit 0; exec /usr/bin/id "$@"',
              **override}
    for name, body in bodies.items():
        (stubs / name).write_text(STUB.format(name=name, body=body))
        (stubs / name).chmod(0o755)
    (venv_bin / "python").write_text(STUB.format(name="venv-python", body="exit 0"))
    (venv_bin / "python").chmod(0o755)
    labgrid_bin = repo / ".venv-labgrid" / "bin"
    labgrid_bin.mkdir(parents=True)
    (labgrid_bin / "python").write_text(STUB.format(name="labgrid-python", body="exit 0"))
    (labgrid_bin / "python").chmod(0o755)
    log = tmp / "calls.log"
    log.touch()
    # its scratch directory here: rm is a stand-in, so the script's own clean-up does nothing
    env = {"PATH": f"{stubs}:{os.environ['PATH']}", "STUB_LOG": str(log), "HOME": str(tmp),
           "TMPDIR": str(tmp)}
    return repo, env


def _run(tmp_path, uid):
    # no Node.js on this machine either: Debian's is installed, then Node-RED with npm
    repo, env = _machine(tmp_path, uid, node="exit 1")
    proc = subprocess.run(["bash", str(repo / "scripts" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=900)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    return proc, calls


@pytest.mark.parametrize("uid", [0, 1000], ids=["root", "sudo-user"])
def test_fresh_machine_installs_every_package(tmp_path, uid):
    proc, calls = _run(tmp_path, uid)
    assert proc.returncode == 0, proc.stderr
    assert "command not found" not in proc.stderr
    apt = [c for c in calls if c.startswith(("apt-get", "sudo env", "sudo apt-get"))]
    installs = [c for c in calls if c.startswith("apt-get") and " install " in c]
    assert len(installs) == 1, calls
    for package in ("nmap", "dropbear-bin", "openssh-server", "mosquitto", "lighttpd",
                    "busybox", "vsftpd", "socat", "inetutils-telnetd", "nftables", "ser2net",
                    "motion", "tftpd-hpa", "snmpd", "snmp", "swupdate", "rauc", "dbus",
                    "mender-client", "mender-artifact", "nodejs",
                    "npm", "squashfs-tools",
                    "libarchive-tools", "u-boot-tools", "qemu-system-arm", "u-boot-qemu",
                    "cpio", "device-tree-compiler"):
        assert f" {package}" in installs[0], (package, installs[0])
    assert any(c.startswith("apt-get update") for c in calls)
    # the QEMU units' firmware: arm64 added to the index, its packages fetched while online
    added = [i for i, c in enumerate(calls) if c.endswith("dpkg --add-architecture arm64")]
    assert added and any(c.startswith(("apt-get update", "sudo env")) and "update" in c
                         for c in calls[added[0]:]), calls
    assert "venv-python -m harness.emulate.fwbuild" in calls, calls
    # labgrid in its own venv (it brings a pyserial fork), pinned
    assert "labgrid-python -m pip install -q labgrid==26.0.1" in calls, calls
    # the emulated hubs' Node-RED, pinned, into the checkout (not the system)
    assert any(c.startswith("npm install --prefix .node-red") and c.endswith("node-red@4.1.8")
               for c in calls), calls
    sudo = [c for c in calls if c.startswith("sudo ")]
    if uid == 0:
        assert not sudo, "root runs apt-get directly"
    else:
        # as a user, every system change goes through sudo
        assert any(c.startswith("sudo env DEBIAN_FRONTEND=noninteractive apt-get install")
                   for c in sudo), sudo
        if not Path("/usr/sbin/policy-rc.d").exists():
            assert any(c.startswith("sudo tee /usr/sbin/policy-rc.d") for c in sudo), sudo
    assert apt
    if not Path("/usr/sbin/policy-rc.d").exists():
        # the packages' own services are kept from starting, and the guard removed again
        assert any(c.startswith(("tee /usr/sbin/policy-rc.d", "sudo tee")) for c in calls)
        assert any(c.startswith(("rm -f /usr/sbin/policy-rc.d", "sudo rm")) for c in calls)
    assert any(c.startswith("venv-python -m pip install -q -e .[test]") for c in calls), calls
    assert "setup: ready" in proc.stdout


def _run_with(tmp_path, name, body):
    repo, env = _machine(tmp_path, 0)
    (Path(env["PATH"].split(":")[0]) / name).write_text(STUB.format(name=name, body=body))
    proc = subprocess.run(["bash", str(repo / "scripts" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=900)
    return proc, (tmp_path / "calls.log").read_text().splitlines()


def test_nothing_to_install_runs_no_package_manager(tmp_path):
    repo, env = _machine(tmp_path, 0, **{"dpkg-query": "printf 'install ok installed'",
                                         "dpkg": "echo arm64"})
    proc = subprocess.run(["bash", str(repo / "scripts" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=900)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if c.startswith(("apt-get", "sudo"))], calls


def test_failing_package_manager_fails_setup(tmp_path):
    proc, _ = _run_with(tmp_path, "apt-get",
                        '[ "$1" = update ] && exit 0; echo "E: no" >&2; exit 100')
    assert proc.returncode != 0
    assert "setup: ready" not in proc.stdout


def test_a_failing_install_beside_the_others_fails_setup_and_shows_its_log(tmp_path):
    """The venv, Node-RED and labgrid install side by side: one failing fails the set-up,
    naming it and showing its log; the others still ran to their end."""
    proc, calls = _run_with(tmp_path, "npm", 'echo "npm ERR! registry unreachable"; exit 1')
    assert proc.returncode == 1 and "setup: ready" not in proc.stdout
    assert "npm ERR! registry unreachable" in proc.stderr
    assert "setup: node_red failed (log above: .node-red/npm.log)" in proc.stderr
    assert "venv-python -m harness.emulate.fwbuild" in calls, calls
    assert "labgrid-python -m pip install -q labgrid==26.0.1" in calls, calls
