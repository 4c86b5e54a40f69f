"""A wheel that works: `pip install` of the built wheel (not editable) into a fresh venv,
then `harness list`, `harness coverage` and a `harness run` (plan only: no device in reach)
from a directory outside the checkout. The fresh venv borrows the dependencies of the
project's venv through a path entry (no download), never its editable `harness`."""
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import REPO

PROFILE = """vendor: V
model: M
firmware_version: '1.0'
category: router
name: unit-1
address: 198.18.0.50
has_ipv6: false
ssh: {port: 22, username: admin, password: 'x-Unique-Passw0rd'}
"""


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps",
                            "-q", "-w", str(wheels)], capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(wheels.glob("iot_conformance_harness-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies: the project venv's site-packages as a plain path entry (its .pth
    # files, the editable install among them, are not read from there)
    (site / "zz-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    inst = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                           "install", "--no-deps", "--no-index", "-q", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert inst.returncode == 0, inst.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "unit.yaml").write_text(PROFILE)
    (work / "lab.yaml").write_text("lab: {name: Bench}\nscope: {allow: [198.18.0.0/24], "
                                   "interfaces: [hxbr0]}\nunit_claims: {directory: claims}\n")
    harness = str(venv / "bin" / "harness")
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import harness, harness.runner.suite as s; print(harness.__file__); "
                            "print(s.SUITE_DIR)"], cwd=work, capture_output=True, text=True)
    assert str(site) in where.stdout and str(REPO) not in where.stdout, where.stdout
    listed = subprocess.run([harness, "list", "--profile", "unit.yaml"], cwd=work,
                            capture_output=True, text=True, timeout=900)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "TC-CRED-01" in listed.stdout and "test cases apply" in listed.stdout
    cov = subprocess.run([harness, "coverage"], cwd=work, capture_output=True, text=True,
                         timeout=900)
    assert cov.returncode == 0 and "jcstar" in cov.stdout.lower(), cov.stderr[-2000:]
    nolab = subprocess.run([harness, "run", "--profile", "unit.yaml"], cwd=work,
                           capture_output=True, text=True, timeout=900)
    assert nolab.returncode == 2 and "--lab" in nolab.stderr, nolab.stderr[-2000:]
