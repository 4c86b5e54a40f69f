"""The labgrid backend against a real labgrid: a coordinator, an exporter publishing two
emulated units' consoles (ser2net on their USB-serial ptys) and power outlets (an emulated
network PDU, labgrid's simplerest model), one place per unit (`harness emulate labgrid`).
A run through the places gives the verdicts of a run on the units' own consoles; a place
another user holds makes only that unit ERROR, naming the holder; a run killed with
kill -9 keeps its places and `--resume` takes them back."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, harness, load_run, verdicts

UNITS = ["router-3", "camera-open"]            # camera-open: bootloader break-in (FAIL)
# the units it uses: it runs beside the detection matrix once the matrix is done with them
pytestmark = pytest.mark.units(*UNITS)


@pytest.fixture(scope="module")
def places(emulated_lab):
    """As the README shows it: `harness emulate labgrid NAME...` prints the profiles."""
    proc = harness("emulate", "labgrid", *UNITS)
    assert proc.returncode == 0, proc.stderr
    paths = [Path(line) for line in proc.stdout.split()]
    assert [p.name for p in paths] == [f"{u}.labgrid.yaml" for u in UNITS]
    return {p.name.split(".")[0]: p for p in paths}


def lg(*args, user="harness-tests"):
    from harness.emulate.bench import COORDINATOR
    from harness.lab.labgrid import client_path
    return subprocess.run([client_path(None), "-x", COORDINATOR, *args], capture_output=True,
                          text=True, timeout=30, env={**os.environ, "LG_USERNAME": user})


def holder_of(place: str) -> str:
    out = lg("-p", place, "show").stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                if line.strip().startswith("acquired:"))


def pdu_requests() -> list[str]:
    from harness.emulate.netns import STATE
    return [line for line in (STATE / "_bench" / "pdu.log").read_text().splitlines()
            if "GET /outlet/" in line]


def test_units_through_their_places_give_the_same_verdicts(emulated_lab, places, tmp_path):
    direct = harness("run", "--out", tmp_path / "direct", "-k", "TC-DEBUG",
                     *[a for u in UNITS for a in ("--profile", emulated_lab[u])])
    before = len(pdu_requests())
    via = harness("run", "--out", tmp_path / "labgrid", "-k", "TC-DEBUG",
                  *[a for u in UNITS for a in ("--profile", places[u])])
    assert via.returncode == direct.returncode == 1, via.stderr[-2000:]
    run = load_run(tmp_path / "labgrid")
    assert verdicts(run) == verdicts(load_run(tmp_path / "direct"))
    assert verdicts(run)["camera-open"]["TC-DEBUG-02"] == "FAIL"
    assert verdicts(run)["router-3"] == {"TC-DEBUG-01": "PASS", "TC-DEBUG-02": "PASS"}
    for d in run["devices"]:
        events = [e["event"] for e in d["labgrid"]]
        assert events == ["acquired", "released"], d["labgrid"]
        assert d["labgrid"][0]["serial"].startswith("rfc2217://198.18.0.3:")
        log = (tmp_path / "labgrid" / "logs" / f"{d['name']}.log").read_text()
        assert "serial:rfc2217://198.18.0.3:" in log and "U-Boot" in log
        assert holder_of(f"emu-{d['name']}") == "None"          # released
    # the power cycles went through labgrid's power driver to the PDU: off, then on
    switched = pdu_requests()[before:]
    from harness.emulate.variants import BY_NAME
    for index in (str(BY_NAME[u].index) for u in UNITS):
        assert any(f"/outlet/{index}/0" in r for r in switched), switched
        assert any(f"/outlet/{index}/1" in r for r in switched), switched


def test_a_place_held_by_someone_else_errors_only_its_unit(places, tmp_path):
    lab = tmp_path / "lab.yaml"
    lab.write_text((REPO / "lab_config" / "emulated.yaml").read_text()
                   .replace("acquire_timeout: 60", "acquire_timeout: 4"))
    assert lg("-p", "emu-camera-open", "acquire", user="alice").returncode == 0
    try:
        proc = harness("run", "--out", tmp_path / "out", "--lab", lab, "-k", "TC-DEBUG-01",
                       *[a for u in UNITS for a in ("--profile", places[u])])
    finally:
        lg("-p", "emu-camera-open", "release", user="alice")
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    run = load_run(tmp_path / "out")
    assert verdicts(run) == {"camera-open": {"TC-DEBUG-01": "ERROR"},
                             "router-3": {"TC-DEBUG-01": "PASS"}}
    cam = next(d for d in run["devices"] if d["name"] == "camera-open")
    reason = cam["results"][0]["reason"]
    assert "emu-camera-open is held by" in reason and "/alice" in reason, reason
    assert cam["labgrid"][0]["event"] == "acquire-failed"


def _events(out):
    path = out / "journal.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")] \
        if path.exists() else []


def test_a_killed_run_keeps_its_place_and_resume_takes_it_back(places, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--no-pdf", "--out",
                             str(out), "-k", "TC-DEBUG", "--profile", str(places["router-3"])], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:       # the power-cycling test case is under way
            if any(e["type"] == "test-start" and e["test_id"] == "TC-DEBUG-02"
                   for e in _events(out)):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the run never reached TC-DEBUG-02")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    run_id = next(e["run_id"] for e in _events(out) if e["type"] == "run-start")
    assert holder_of("emu-router-3").endswith(f"/harness-{run_id}")     # still held by it
    resumed = harness("run", "--resume", out)
    assert (out / "run.json").exists(), (resumed.stdout[-1500:], resumed.stderr[-1500:])
    run = load_run(out)
    why = [(r["test_id"], r["verdict"], r.get("reason", "")) for r in run["devices"][0]["results"]]
    log = (out / "logs" / "router-3.log").read_text()
    assert verdicts(run) == {"router-3": {"TC-DEBUG-01": "PASS", "TC-DEBUG-02": "PASS"}}, (
        why, resumed.stdout[-1500:], resumed.stderr[-1500:], log[-3000:])
    assert resumed.returncode == 0, (resumed.stdout[-1500:], resumed.stderr[-1500:])
    assert holder_of("emu-router-3") == "None"


@pytest.mark.units("fw-router-open")
def test_a_qemu_unit_through_its_place(emulated_lab, tmp_path):
    """A unit that boots firmware in QEMU (real U-Boot, open to a break-in; a root shell on
    its console) held through its own place: its console through ser2net, its power
    through labgrid's power driver to the PDU; the verdicts are the matrix's."""
    from harness.emulate.variants import BY_NAME, DETECTED_BY
    proc = harness("emulate", "labgrid", "fw-router-open")
    assert proc.returncode == 0, proc.stderr
    profile = Path(proc.stdout.split()[0])
    before = len(pdu_requests())
    via = harness("run", "--out", tmp_path / "lg", "-k", "TC-DEBUG", "--profile", profile)
    assert via.returncode == 1, via.stderr[-2000:]
    run = load_run(tmp_path / "lg")
    v = BY_NAME["fw-router-open"]
    flawed = set().union(*(DETECTED_BY[f] for f in v.flaws))
    assert verdicts(run)["fw-router-open"] == {
        t: "FAIL" if t in flawed else "PASS" for t in ("TC-DEBUG-01", "TC-DEBUG-02")}
    d = run["devices"][0]
    assert [e["event"] for e in d["labgrid"]] == ["acquired", "released"], d["labgrid"]
    assert d["labgrid"][0]["serial"].startswith("rfc2217://198.18.0.3:")
    log = (tmp_path / "lg" / "logs" / "fw-router-open.log").read_text()
    assert "U-Boot 2023.01" in log and "Hit any key to stop autoboot" in log  # real U-Boot
    switched = pdu_requests()[before:]
    assert any(f"/outlet/{v.index}/0" in r for r in switched), switched
    assert any(f"/outlet/{v.index}/1" in r for r in switched), switched
    assert holder_of("emu-fw-router-open") == "None"
