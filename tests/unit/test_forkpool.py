"""Forked device workers (harness.runner.forkpool): a worker that dies costs its device only the
test case it was running (ERROR, with how it died); the device's later test cases and the
other devices go on; the owner's journal and report stay complete. No traffic: the test
cases below never touch their device."""
import json

from tests.conftest import harness
from tests.unit.test_bad_input import INSTANCE, write

SUITE = '''import os, signal, time
from harness.model import testcase


@testcase("TC-X-01", "first", requirements=["ETSI-5.1-1"])
def test_first(device, evidence):
    if device.name == "unit-2":
        os.kill(os.getpid(), signal.SIGKILL)      # the worker dies mid-test
    evidence.record("ran in", os.getpid())


@testcase("TC-X-02", "second", requirements=["ETSI-5.1-1"])
def test_second(device, evidence):
    evidence.record("ran in", os.getpid())
'''


# unit-3's worker dies between its two test cases, once the first one has been reported
CONFTEST = '''import os, signal
import pytest

CONFIG = []


def pytest_configure(config):
    CONFIG.append(config)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logfinish(nodeid, location):
    # in unit-3's worker only (the run's own process sees the same hook for its reports)
    if nodeid.endswith("test_first[unit-3]") and CONFIG[0].pluginmanager.has_plugin(
            "harness-forward"):
        os.kill(os.getpid(), signal.SIGKILL)
'''


def _suite(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    (suite / "test_x.py").write_text(SUITE)
    (suite / "conftest.py").write_text(CONFTEST)
    return suite


def test_a_dead_worker_costs_only_its_test_case(tmp_path):
    unit1 = write(tmp_path)
    units = [unit1]
    for n in (2, 3):
        units.append(tmp_path / f"unit{n}.yaml")
        units[-1].write_text(INSTANCE.replace("unit-1", f"unit-{n}").replace(
            "198.18.0.11", f"198.18.0.1{n}"))
    out = tmp_path / "out"
    profiles = [a for u in units for a in ("--profile", u)]
    # the timeout only guards against a hang (ground rule 5: no speed asserted); at the
    # unit tests' lowest priority beside the lab this run once took longer than 120 s
    proc = harness("run", "--suite", _suite(tmp_path), *profiles,
                   "--lab", tmp_path / "lab.yaml", "--out", out, "--workers", "2",
                   "--progress", "plain", timeout=600)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    run = json.loads((out / "run.json").read_text())
    assert run["complete"]
    got = {d["name"]: {r["test_id"]: r for r in d["results"]} for d in run["devices"]}
    dead = got["unit-2"]["TC-X-01"]
    assert dead["verdict"] == "ERROR", dead
    assert "device worker" in dead["reason"] and "SIGKILL" in dead["reason"], dead["reason"]
    assert got["unit-2"]["TC-X-02"]["verdict"] == "PASS"          # a new worker went on
    between = got["unit-3"]["TC-X-02"]                # died before it: that one is charged
    assert between["verdict"] == "ERROR" and "died before the test case" in between["reason"]
    assert got["unit-3"]["TC-X-01"]["verdict"] == "PASS"          # decided once, not again
    assert {t: r["verdict"] for t, r in got["unit-1"].items()} == \
        {"TC-X-01": "PASS", "TC-X-02": "PASS"}
    # the devices ran in workers, not in the process that owns the run
    pids = {r["evidence"][0]["observed"] for d in got.values() for r in d.values()
            if r["verdict"] == "PASS"}
    assert len(pids) >= 2
    assert "unit-2" in proc.stdout and "TC-X-01" in proc.stdout and "ERROR" in proc.stdout
    events = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events][-1] == "run-end"
    results = [(e["device"], e["test_id"]) for e in events if e["type"] == "result"]
    assert sorted(results) == sorted({(d, t) for d in got for t in got[d]})    # once each
    # each unit is announced done once, after its last result — a dead worker's unit too
    for d in got:
        mine = [i for i, e in enumerate(events) if e.get("device") == d]
        done = [i for i in mine if events[i]["type"] == "unit-done"]
        assert len(done) == 1 and done[0] == mine[-1], (d, [events[i]["type"] for i in mine])
        assert events[done[0]]["test_cases"] == 2
