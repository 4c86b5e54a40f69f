"""How the detection matrix runs (started by tests/conftest.py, asserted by
tests/lab/test_matrix.py): what cannot run on a unit of the built-in lab and why, which units
are slowest, and the run itself."""
import collections
import functools
import re
from pathlib import Path

from harness.emulate.variants import VARIANTS
from tests.background import BackgroundRun
from tests.conftest import REPO, harness

# what cannot run on a unit of the built-in lab, and why (every other test case must run)
EXPECTED_NOT_RUN = {
    ("appliance-open", "TC-SMARK-05"): "second unit",   # the only unit on its broker
    # the login the vendor's manual describes does not exist (Node-RED as shipped): no
    # positive control, so that surface is not tested — never PASS
    ("hub-open", "TC-CRED-01"): "http-oauth2:1880: the lab's own credential was refused",
    ("hub-open", "TC-PWCHG-01"): "http-oauth2:1880: the current password is refused",
    # services the scan sees outside the profile: no lab account proves a login there
    ("router-ipv6telnet", "TC-CRED-01"): "telnet on 2001:2::27 tcp/23: not in the profile",
    ("camera-open", "TC-CRED-01"): "ftp on 198.18.0.21 tcp/21: not in the profile",
    # RAUC, Mender and the ER-50's fw-upgrade install what reaches the unit: how images get
    # there is not this kind's, so TC-UPD-01 has no channel to check (TC-UPD-02 checks them)
    **{(u, "TC-UPD-01"): "there is no channel to check here"
       for u in ("router-rauc", "router-rauc-downgrade", "router-mender",
                 "router-mender-nosig", "fw-router", "fw-router-open")},
    # units of daemons in a namespace boot no firmware: the lab has no boot medium to write
    **{(v.name, "TC-BOOT-01"): "the lab cannot write the unit's boot medium"
       for v in VARIANTS if not v.has("qemu")},
}


# units whose whole suite takes the longest (remote-operation tests taking turns on a shared
# broker, Node-RED, boots in QEMU, A/B updates): the matrix starts them first, and the lab
# tests that use them wait for them last (tests/conftest.py orders them so)
SLOW_UNITS = frozenset(v.name for v in VARIANTS if v.kind in ("appliance", "hub")
                       or v.has("qemu") or v.has("rauc"))


@functools.cache
def matrix_order() -> list[str]:
    """The order the matrix takes the units in: the slow ones first (they end last even so),
    then those the other lab tests name, the most often named first (each of those tests
    waits until the matrix is done with its units), the units only it tests last. With the
    slow units in nine of its workers, the rest share the others: the last of them is done
    minutes after the first."""
    names = {v.name for v in VARIANTS}
    wanted = collections.Counter(w for f in (REPO / "tests" / "lab").glob("test_*.py")
                                 if not f.name.startswith("test_matrix")
                                 for w in re.findall(r'"([a-z0-9-]+)"', f.read_text())
                                 if w in names)
    return sorted((v.name for v in VARIANTS),
                  key=lambda n: (n not in SLOW_UNITS, -wanted[n]))      # stable


def start_matrix(emulated_lab, out: Path) -> BackgroundRun:
    """The matrix run, started now (tests/conftest.py starts it before the unit tests, which
    touch no device, and they go on while it works)."""
    # the lab's vulnerability database: the fixture feeds (tests/data/vulnfeeds)
    lab = out.parent / "matrix-lab.yaml"
    lab.write_text((REPO / "lab_config" / "emulated.yaml").read_text().replace(
        "scope:", f"vulnerabilities: {{database: {out.parent / 'matrix-vulndb'}}}\nscope:", 1))
    imp = harness("vulndb", "import", "--lab", lab,
                  *sorted((REPO / "tests" / "data" / "vulnfeeds").glob("*.json")))
    assert imp.returncode == 0, imp.stderr
    # no PDF here: the report tests check it (26 units' evidence laid out takes minutes)
    args = ["run", "--allow-destructive", "--no-pdf", "--lab", lab, "--out", out,
            "--workers", "16"]
    for name in (n for n in matrix_order() if n in emulated_lab):
        args += ["--profile", emulated_lab[name]]
    return BackgroundRun.start(args, out.parent / "matrix-output", timeout=3000)
