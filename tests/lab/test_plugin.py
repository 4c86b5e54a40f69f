"""The same run through plain pytest with the harness plugin."""
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

# appliances share the cloud broker: the matrix borrows appliance-1 for its sibling
# appliance-noverify's tests, so a test of appliance-1 also waits until the matrix is
# done with that sibling (it holds both)
pytestmark = pytest.mark.units("router-telnet", "appliance-1", "appliance-noverify")


def test_pytest_with_profile(emulated_lab, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "pytest", "testcases/", "-q",
                           "--profile", str(emulated_lab["router-telnet"]),
                           "--out", str(out), "-k", "TC-SURF or TC-DECL-01"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-2000:]          # telnet FAILs the surface tests
    run = json.loads((out / "run.json").read_text())
    got = {r["test_id"]: r["verdict"] for r in run["devices"][0]["results"]}
    assert got == {"TC-SURF-01": "FAIL", "TC-SURF-02": "FAIL", "TC-DECL-01": "DECLARED"}
    assert (out / "junit.xml").exists() and (out / "report.html").exists()


def test_list_touches_no_device(emulated_lab):
    from tests.conftest import harness
    proc = harness("list", "--profile", emulated_lab["appliance-1"])
    assert proc.returncode == 0
    assert "destructive: needs --allow-destructive" in proc.stdout
    assert "TC-SSH-01" in proc.stdout
