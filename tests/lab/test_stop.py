"""A run stopped by SIGTERM or SIGINT — to its process only, or to its whole process group
as a terminal's Ctrl-C does — ends in bounded time with the device put back (the running
test case's restores: the link it cut comes up again), the journal and run.json written as
stopped, and no process of the run left; `--resume` then finishes it."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.conftest import REPO, harness, load_run, verdicts

# appliance-open: a broker of its own (no sibling whose tests the matrix borrows it for),
# so the matrix is done with it minutes before appliance-1, which the other processes use
pytestmark = pytest.mark.units("appliance-open", "router-oddpw")

SELECTION = "TC-SMARK-02 or TC-CRED-01"


def _ours_left(out) -> list[str]:
    left = []
    for proc in os.listdir("/proc"):
        if not proc.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{proc}/cmdline", "rb").read()
        except OSError:
            continue
        if str(out).encode() in cmdline and int(proc) != os.getpid():
            left.append(cmdline.replace(b"\0", b" ")[:120].decode(errors="replace"))
    return left


def _link_up(name) -> bool:
    from harness.emulate.netns import STATE
    link = (STATE / "_links" / name).read_text().strip()
    out = subprocess.run(["ip", "-j", "link", "show", link], capture_output=True, text=True)
    return "UP" in json.loads(out.stdout)[0]["flags"]


@pytest.mark.parametrize("sig,to", [("SIGTERM", "process"), ("SIGINT", "group")])
def test_a_stopped_run_puts_the_device_back(emulated_lab, tmp_path, sig, to):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--no-pdf", "--allow-destructive", "--out",
         str(out),
         "-k", SELECTION, "--workers", "2", "--progress", "plain",
         "--profile", str(emulated_lab["appliance-open"]),
         "--profile", str(emulated_lab["router-oddpw"])],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    log = out / "logs" / "appliance-open.log"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:          # until the link is cut
            if log.exists() and "lab # action link_down: done" in log.read_text():
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the run never cut appliance-open's link")
        assert not _link_up("appliance-open")
        t0 = time.monotonic()
        if to == "process":
            os.kill(proc.pid, getattr(signal, sig))
        else:
            os.killpg(proc.pid, getattr(signal, sig))
        proc.wait(timeout=120)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    printed = proc.stdout.read()
    assert "Traceback" not in printed, printed[-2000:]
    assert took < 90, took                       # one shared grace, not one per worker
    assert _link_up("appliance-open"), "the cut link was not restored"
    assert "lab # action restore: link up: done" in log.read_text()
    assert not _ours_left(out), _ours_left(out)
    run = load_run(out)
    assert run["complete"] is False and "stopped early" in run["stopped"]
    got = {(d["name"], r["test_id"]) for d in run["devices"] for r in d["results"]}
    assert ("appliance-open", "TC-SMARK-02") not in got    # interrupted: no verdict
    journal = [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines()]
    assert journal[-1]["type"] == "run-end" and journal[-1]["stopped"]
    if sig == "SIGTERM":
        resumed = harness("run", "--resume", out, timeout=900)
        assert resumed.returncode in (0, 1), resumed.stderr[-2000:]
        again = load_run(out)
        assert again["complete"] is True and not again["stopped"]
        result = {(d["name"], r["test_id"]): r for d in again["devices"] for r in d["results"]}
        smark = result[("appliance-open", "TC-SMARK-02")]     # its planted flaw, decided
        assert smark["verdict"] == "FAIL" and "stayed ON" in smark["reason"], \
            (smark["reason"], smark["evidence"][-3:])


def test_two_runs_never_test_one_unit_at_once(emulated_lab, tmp_path):
    """A second run on a unit another run is testing: that unit's test cases ERROR, naming
    the first run; once the first is gone (killed: its claims go with its processes), the
    same command tests it (the control)."""
    profile = str(emulated_lab["router-oddpw"])
    first = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--no-pdf", "--out", str(tmp_path / "first"),
         "-k", "TC-SURF-01", "--progress", "plain", "--profile", profile],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    journal = tmp_path / "first" / "journal.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and '"claimed"' not in (
                journal.read_text() if journal.exists() else ""):
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGSTOP)     # held, however fast its scan would end
        run_id = json.loads(journal.read_text().splitlines()[0])["run_id"]
        second = harness("run", "--no-pdf", "--out", tmp_path / "second", "-k", "TC-ID-01",
                         "--profile", profile, timeout=300)
        # the vendor's documents are read whoever tests the unit
        documents = harness("run", "--no-pdf", "--out", tmp_path / "documents", "--only",
                            "documents", "--profile", profile, timeout=300)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    assert second.returncode == 1, second.stderr[-2000:]
    got = load_run(tmp_path / "second")["devices"][0]["results"]
    assert [r["verdict"] for r in got] == ["ERROR"], got
    address = yaml.safe_load(open(profile))["address"]
    assert f"ip-{address}: run {run_id} (pid {first.pid}, device router-oddpw" in \
        got[0]["reason"], got[0]["reason"]
    read = verdicts(load_run(tmp_path / "documents"))["router-oddpw"]
    assert read and "ERROR" not in read.values(), (read, documents.stdout[-2000:])
    third = harness("run", "--no-pdf", "--out", tmp_path / "third", "-k", "TC-ID-01",
                    "--profile", profile, timeout=300)
    assert third.returncode == 0, third.stdout[-2000:]
    assert verdicts(load_run(tmp_path / "third")) == {"router-oddpw": {"TC-ID-01": "PASS"}}
