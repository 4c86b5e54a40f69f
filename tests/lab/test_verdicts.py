"""Verdicts a lab can sign, against emulated devices: "not tested" never reads as "not
applicable" or PASS, a single unit proves no uniqueness, an SSH-only profile is decided,
and the results do not depend on how many devices are tested at once."""
import json
import re
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import REPO, harness, load_run, using_units, verdicts

DESTRUCTIVE = {"TC-BRUTE-01", "TC-PWCHG-01", "TC-UPD-02", "TC-DEL-01"}


def _derived(emulated_lab, tmp_path, name, edit) -> str:
    """A copy of an emulated unit's profile, edited, that still extends the shipped type."""
    text = open(emulated_lab[name]).read()
    text = text.replace("extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
    text = edit(text)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


NONDESTRUCTIVE_UNITS = ["router-5", "router-telnetshell", "router-nothrottle", "appliance-open"]


@pytest.fixture(scope="module")
def nondestructive_run(emulated_lab, tmp_path_factory, request):
    out = tmp_path_factory.mktemp("nondestructive")
    names = NONDESTRUCTIVE_UNITS
    args = ["run", "--out", out, "--workers", "4"]
    for n in names:
        args += ["--profile", emulated_lab[n]]
    with using_units(request, names):
        proc = harness(*args, timeout=1500)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return out, proc


@pytest.mark.units(*NONDESTRUCTIVE_UNITS)       # ordered after the matrix is done with them
def test_unrun_destructive_cases_are_not_run_never_na(nondestructive_run):
    out, proc = nondestructive_run
    run = load_run(out)
    for device, got in verdicts(run).items():
        for t in DESTRUCTIVE:
            assert got[t] == "NOT_RUN", (device, t, got[t])
    reasons = {r["test_id"]: r["reason"] for r in run["devices"][0]["results"]}
    assert "--allow-destructive" in reasons["TC-BRUTE-01"]
    # no requirement that maps a destructive test case is PASS or NOT_APPLICABLE
    for view in run["schemes"]:
        for req in view["requirements"]:
            if DESTRUCTIVE & set(req["test_cases"]):
                for device, v in req["verdicts"].items():
                    assert v not in ("PASS", "NOT_APPLICABLE"), (req["id"], device, v)
    jc = {q["id"]: q for v in run["schemes"] if v["scheme"] == "jcstar-l1"
          for q in v["requirements"]}
    # router-nothrottle's whole flaw is the missing brute-force protection: never PASS
    assert jc["JCSTAR-S1.1-04"]["verdicts"]["router-nothrottle"] == "NOT_RUN"
    en = {q["id"]: q for v in run["schemes"] if v["scheme"] == "en-18031-1"
          for q in v["requirements"]}
    assert en["EN18031-AUM-6"]["verdicts"]["router-nothrottle"] != "PASS"
    gaps = {g["id"] for g in run["not_fully_tested"]["router-nothrottle"]}
    assert {"JCSTAR-S1.1-03", "JCSTAR-S1.1-04"} <= gaps
    block = proc.stdout[proc.stdout.index("router-nothrottle: device findings"):]
    assert block.splitlines()[1].startswith("  not fully tested: ")
    assert run["summary"].get("NOT_RUN", 0) >= 16
    # progress in a non-TTY log, devices in parallel: lines name the device and test case
    lines = proc.stdout.splitlines()
    for name in NONDESTRUCTIVE_UNITS:
        assert any(name in l and "TC-SURF-01" in l and "running" in l for l in lines), name
        assert any(re.match(rf"{name}\s+\d+/\d+ in ", l) for l in lines), name  # summary


@pytest.mark.units(*NONDESTRUCTIVE_UNITS)
def test_not_run_in_junit_and_html(nondestructive_run):
    out, _ = nondestructive_run
    root = ET.parse(out / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase")
                if c.get("classname") == "router-5.TC-BRUTE-01")
    skipped = case.find("skipped")
    assert skipped is not None and "NOT_RUN" in skipped.get("message")
    assert "--allow-destructive" in skipped.get("message")
    html = (out / "report.html").read_text()
    assert "NOT_RUN" in html and "Not fully tested" in html


@pytest.mark.units("router-5")
def test_single_unit_proves_no_uniqueness(emulated_lab, tmp_path):
    out = tmp_path / "out"
    proc = harness("run", "--profile", emulated_lab["router-5"], "-k", "TC-UNIQ", "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = load_run(out)
    assert verdicts(run)["router-5"] == {"TC-UNIQ-01": "NOT_RUN", "TC-UNIQ-02": "NOT_RUN"}
    reasons = [r["reason"] for r in run["devices"][0]["results"]]
    assert all("needs at least two units of Emulab ER-100" in r for r in reasons), reasons


@pytest.mark.units("router-legacy-1")
def test_vendor_comparison_data_replaces_a_second_unit(emulated_lab, tmp_path):
    """The vendor hands over another unit's key fingerprint: one unit is then enough, and a
    shared key FAILs. (Alone, the unit already FAILs from its firmware image, which ships
    the host key: every unit flashed with it has that key.)"""
    first = harness("run", "--profile", emulated_lab["router-legacy-1"], "-k", "TC-UNIQ-02",
                    "--out", tmp_path / "a")
    alone = load_run(tmp_path / "a")["devices"][0]["results"][0]
    mine = alone["evidence"][0]["observed"]
    assert first.returncode == 1 and mine["ssh"], first.stderr[-2000:]
    assert alone["verdict"] == "FAIL" and "private key (dropbear host key) is shipped in the " \
        "image" in alone["reason"] and "with ER90" not in alone["reason"], alone["reason"]
    type_file = tmp_path / "er90-with-data.yaml"
    type_file.write_text((REPO / "device_profiles/types/emulab-er90.yaml").read_text()
                         .replace("extends: ", f"extends: {REPO}/device_profiles/types/")
                         + f"comparison_units:\n  - {{name: ER90-0002, ssh_host_key_sha256: "
                           f"'{mine['ssh']}'}}\n")
    profile = _derived(emulated_lab, tmp_path, "router-legacy-1", lambda t: t.replace(
        f"extends: {REPO}/device_profiles/types/emulab-er90.yaml", f"extends: {type_file}"))
    proc = harness("run", "--profile", profile, "-k", "TC-UNIQ-02", "--out", tmp_path / "b")
    assert proc.returncode == 1, proc.stderr[-2000:]
    r = load_run(tmp_path / "b")["devices"][0]["results"][0]
    assert r["verdict"] == "FAIL" and "SSH host key with ER90-0002" in r["reason"]


@pytest.mark.units("router-5")
def test_ssh_only_profile_is_decided(emulated_lab, tmp_path):
    """An SSH-only profile: SSH's refusal of the 'none' method is evidence (it was once
    INCONCLUSIVE: 'no surface could be checked')."""
    def ssh_only(text):
        keep = ("extends", "name", "serial_number", "mac", "address", "ssh", "tls_clients")
        return "".join(line + "\n" for line in text.splitlines()
                       if line.split(":")[0] in keep)
    profile = _derived(emulated_lab, tmp_path, "router-5", ssh_only)
    assert "web:" not in open(profile).read()
    out = tmp_path / "out"
    proc = harness("run", "--profile", profile, "-k", "TC-AUTH-01", "--out", out)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    r = load_run(out)["devices"][0]["results"][0]
    assert r["verdict"] == "PASS"
    surfaces = [e["check"] for e in r["evidence"]]
    assert any(s.startswith("ssh:22 (user admin") for s in surfaces), surfaces


@pytest.mark.units("router-5", "router-nothrottle", "router-telnetshell")
def test_same_verdicts_with_one_and_several_workers(emulated_lab, tmp_path):
    names = ["router-5", "router-nothrottle", "router-telnetshell"]
    got = {}
    for workers in (1, 3):
        out = tmp_path / f"w{workers}"
        args = ["run", "--out", out, "--workers", workers, "-k",
                "TC-SURF or TC-UNIQ or TC-AUTH or TC-DECL-01"]
        for n in names:
            args += ["--profile", emulated_lab[n]]
        proc = harness(*args)
        assert proc.returncode == 1, proc.stderr[-2000:]
        run = load_run(out)
        assert run["complete"]
        got[workers] = verdicts(run)
        events = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
        assert [e["type"] for e in events][0] == "run-start"
        assert [e["type"] for e in events][-1] == "run-end"
        # each device's test cases one at a time, also with several workers
        import datetime as dt
        for name in names:
            mine = [e for e in events if e["type"] == "result" and e["device"] == name
                    and not e["test_id"].startswith("TC-UNIQ")]
            for a, b in zip(mine, mine[1:]):
                end_a = dt.datetime.fromisoformat(a["started"]).timestamp() + a["duration_s"]
                assert end_a <= dt.datetime.fromisoformat(b["started"]).timestamp() + 1.0, \
                    (name, a["test_id"], b["test_id"])
    assert got[1] == got[3]
    assert got[3]["router-telnetshell"]["TC-SURF-01"] == "FAIL"
    assert got[3]["router-5"]["TC-UNIQ-02"] == "PASS"


@pytest.mark.units("router-ipv6telnet")
def test_ipv6_only_service_needs_address6(emulated_lab, tmp_path):
    """router-ipv6telnet's telnet listens on IPv6 only. Without address6 in its profile the
    run finds the unit's IPv6 address on the lab link from its MAC, scans it and FAILs the
    telnet there; without the MAC either, the IPv4 scan finds nothing and the result says
    the IPv6 side was not tested: NOT_RUN, never a silent PASS."""
    found = _derived(emulated_lab, tmp_path, "router-ipv6telnet",
                     lambda t: "".join(l + "\n" for l in t.splitlines()
                                       if not l.startswith("address6")))
    out = tmp_path / "found"
    proc = harness("run", "--profile", found, "-k", "TC-SURF-01", "--out", out)
    assert proc.returncode == 1, proc.stderr[-2000:]
    dev = load_run(out)["devices"][0]
    r = dev["results"][0]
    assert r["verdict"] == "FAIL" and "2001:2::27 tcp/23" in r["reason"]
    assert dev["identity"]["ipv6_discovery"]["address6"] == "2001:2::27"
    (tmp_path / "nomac").mkdir()
    # the network side alone: its firmware image would show telnetd started at boot and
    # FAIL the case from the image (docs/firmware.md), whatever the scan could reach
    blind = _derived(emulated_lab, tmp_path / "nomac", "router-ipv6telnet",
                     lambda t: "".join(l + "\n" for l in t.splitlines()
                                       if not l.startswith(("address6", "mac",
                                                            "firmware_image"))))
    out = tmp_path / "blind"
    proc = harness("run", "--profile", blind, "-k", "TC-SURF-01", "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = load_run(out)["devices"][0]["results"][0]
    assert r["verdict"] == "NOT_RUN" and "IPv6" in r["reason"] and "address6" in r["reason"]
    assert "no MAC" in r["reason"]
    jc = {q["id"]: q for v in load_run(out)["schemes"] if v["scheme"] == "jcstar-l1"
          for q in v["requirements"]}
    assert jc["JCSTAR-S1.1-13"]["verdicts"]["router-ipv6telnet"] == "NOT_RUN"


@pytest.mark.units("router-5")
def test_only_device_or_documents(emulated_lab, tmp_path):
    """--only separates what is verified on the device from the declaration checks."""
    got = {}
    for only in ("device", "documents"):
        proc = harness("run", "--profile", emulated_lab["router-5"], "--only", only, "-k",
                       "TC-SURF-02 or TC-DECL-01", "--out", tmp_path / only)
        assert proc.returncode == 0, proc.stderr[-2000:]
        got[only] = verdicts(load_run(tmp_path / only))["router-5"]
    assert got == {"device": {"TC-SURF-02": "PASS"}, "documents": {"TC-DECL-01": "DECLARED"}}
