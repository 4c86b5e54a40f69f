"""The detection matrix: the Level 1 suite, destructive cases included, against every
emulated variant. Each planted flaw must FAIL exactly the test cases of the requirement it
breaks, and nothing else; compliant units have no FAIL; nothing is ERROR or INCONCLUSIVE."""

import pytest

from harness.emulate.variants import DETECTED_BY, FLAWS, VARIANTS
from tests.conftest import load_run, verdicts
from tests.lab.matrix_setup import EXPECTED_NOT_RUN


def test_every_flaw_has_an_expectation():
    assert set(DETECTED_BY) == set(FLAWS)


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS])
def test_detection_matrix(matrix_run, variant):
    out, _ = matrix_run
    v = next(x for x in VARIANTS if x.name == variant)
    run = load_run(out)
    got = verdicts(run)[variant]
    reasons = {r["test_id"]: r["reason"] for d in run["devices"] if d["name"] == variant
               for r in d["results"]}
    expected = set().union(*(DETECTED_BY[f] for f in v.flaws)) if v.flaws else set()
    failed = {t for t, verdict in got.items() if verdict == "FAIL"}
    assert failed == expected, {t: (got[t], reasons[t]) for t in failed ^ expected}
    unsure = {t: (x, reasons[t]) for t, x in got.items()
              if x in ("ERROR", "INCONCLUSIVE", "NOT_RUN")
              and not (x == "NOT_RUN" and EXPECTED_NOT_RUN.get((variant, t), "\0") in reasons[t])}
    assert not unsure, unsure          # complete profiles, destructive allowed: all ran


def test_exit_code_and_summary(matrix_run):
    out, proc = matrix_run
    run = load_run(out)
    assert proc.returncode == 1                  # flawed variants FAIL
    assert run["complete"] and run["allow_destructive"] is True
    assert run["summary"]["FAIL"] > 0 and run["summary"]["PASS"] > 0
    assert f"report: {out}/report.html" in proc.stdout


def test_no_password_in_any_report_file(matrix_run, emulated_lab):
    """The lab's per-unit passwords (random) appear in no file under the report directory,
    transcripts and artifacts included."""
    out, proc = matrix_run
    import re
    from harness.emulate.netns import STATE
    secrets = [(STATE / name / "admin.pw").read_text().strip() for name in emulated_lab
               if not name.startswith("router-legacy")]     # legacy: the public default
    short = (STATE / "router-shortpw" / "admin.pw").read_text().strip()
    assert len(short) == 2 and short in secrets
    assert len(secrets) >= 10 and all(len(s) >= 12 for s in secrets if s != short)
    odd = (STATE / "router-oddpw" / "admin.pw").read_text().strip()
    assert set("\\'\"$; ") <= set(odd)
    # the whole secret, and the pieces a quoting would leave (e.g. inside shlex.quote())
    needles = set(secrets) | {p for s in secrets for p in re.split(r"['\"]", s) if len(p) >= 4}
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".log") for p in files)
    assert any(p.name == "journal.jsonl" for p in files)
    for path in files:
        data = path.read_bytes()
        try:
            data.decode("utf-8")
            text = True
        except UnicodeDecodeError:   # a binary artifact holds any two bytes by chance
            text = False
        for s in needles:
            if text or len(s) >= 4:
                assert s.encode() not in data, f"a device password leaked into {path}"
    for s in needles:
        assert s not in proc.stdout + proc.stderr, "a device password reached the terminal"


def test_a_disclosed_secret_is_named_not_spelled(matrix_run):
    """camera-open's status page shows its Wi-Fi passphrase: TC-INFO-01 names the kind, and
    no file of the run spells the passphrase (the transcript masks it by kind)."""
    from harness.emulate.netns import STATE
    out, _ = matrix_run
    psk = (STATE / "camera-open" / "fs" / "etc" / "wifi.conf").read_text().split("psk=")[1].strip()
    res = {r["test_id"]: r for d in load_run(out)["devices"] if d["name"] == "camera-open"
           for r in d["results"]}
    assert "reveals Wi-Fi passphrase" in res["TC-INFO-01"]["reason"]
    assert "***(Wi-Fi passphrase)" in (out / "logs" / "camera-open.log").read_text()
    for path in out.rglob("*"):
        if path.is_file():
            assert psk.encode() not in path.read_bytes(), path


def test_transcripts_hold_both_directions(matrix_run):
    out, _ = matrix_run
    log = (out / "logs" / "router-1.log").read_text()
    for needle in (" > auth password user=admin", " < auth accepted", "nmap > nmap",
                   " < SSH-2.0-dropbear", "serial:", " > GET /admin/"):
        assert needle in log, needle


def test_run_json_shape(matrix_run):
    out, _ = matrix_run
    run = load_run(out)
    assert run["schema_version"] == "1.0"
    for key in ("run_id", "lab", "operator", "tools", "started", "ended", "devices", "schemes"):
        assert run[key], key
    assert run["tools"]["nmap"] and run["tools"]["paramiko"]
    d = next(d for d in run["devices"] if d["name"] == "router-1")
    assert d["profile_sha256"].startswith("sha256:") and d["identity"]["firmware_version"]
    r = next(r for r in d["results"] if r["test_id"] == "TC-SURF-01")
    assert r["requirements"] and r["verdict"] == "PASS" and r["evidence"]
    assert any(a.endswith("-tcp.xml") for a in r["artifacts"])
    views = {s["scheme"]: s for s in run["schemes"]}
    jc = {q["id"]: q for q in views["jcstar-l1"]["requirements"]}
    assert jc["JCSTAR-S1.1-02"]["verdicts"]["router-legacy-1"] == "FAIL"
    assert jc["JCSTAR-S1.1-02"]["verdicts"]["router-weakpw"] == "FAIL"
    assert jc["JCSTAR-S1.1-02"]["verdicts"]["router-1"] == "PASS"
    assert jc["JCSTAR-S1.1-04"]["verdicts"]["router-nothrottle"] == "FAIL"
    assert jc["JCSTAR-S1.1-05"]["verdicts"]["router-1"] == "DECLARED"
    assert jc["JCSTAR-S1.1-09"]["verdicts"]["router-1"] == "UNCONFIRMED"
    # part of S1.1-13 (Bluetooth and USB interfaces) has no test case: never PASS
    assert jc["JCSTAR-S1.1-13"]["verdicts"]["router-1"] == "NOT_RUN"
    assert jc["JCSTAR-S1.1-13"]["verdicts"]["router-telnet"] == "FAIL"


def test_junit_xml(matrix_run):
    import xml.etree.ElementTree as ET
    out, _ = matrix_run
    root = ET.parse(out / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {v.name for v in VARIANTS} | {f"{v.name} declarations" for v in VARIANTS}
    cases = {c.get("classname"): c for c in suites["router-telnet"].iter("testcase")}
    surf = cases["router-telnet.TC-SURF-01"]
    assert surf.find("failure") is not None
    reqs = [p.get("value") for p in surf.iter("property") if p.get("name") == "requirement"]
    assert "ETSI-5.6-1" in reqs
    prov = [p.get("value") for p in surf.iter("property") if p.get("name") == "provisional"]
    assert prov and "JCSTAR-S1.1-13" in prov[0]
    suite_props = {p.get("name"): p.get("value")
                   for p in suites["router-telnet"].find("properties").iter("property")}
    assert "FAIL" in suite_props["scheme:jcstar-l1"]
    assert cases["router-telnet.TC-CRED-01"].find("failure") is None


def test_html_report(matrix_run):
    out, _ = matrix_run
    html = (out / "report.html").read_text()
    assert "router-legacy-1" in html and "JC-STAR" in html and "provisional" in html
    assert "Traceback" not in html


def test_positive_controls_and_discovered_ipv6(matrix_run):
    """No PASS of a test case that concludes an absence lacks its positive control; the
    third-party units' IPv6 addresses were found on the lab link (their profiles give
    none) and scanned; a throttling unit is waited out, its throttle reported."""
    out, _ = matrix_run
    run = load_run(out)
    res = {d["name"]: {r["test_id"]: r for r in d["results"]} for d in run["devices"]}
    for name, results in res.items():
        for tid in ("TC-CRED-01", "TC-AUTH-01"):
            r = results[tid]
            if r["verdict"] != "PASS":
                continue
            checks = {e["check"]: e for e in r["evidence"]}
            key = ("every login surface tested with its positive control" if tid == "TC-CRED-01"
                   else "every refusal has its positive control")
            assert checks[key]["ok"] and not list(checks[key]["observed"].values())[0], (name, tid)
            if tid == "TC-CRED-01":
                for check, e in checks.items():
                    if check.startswith("surface ") and "accepts" not in e["observed"].get(
                            "calibrated", ""):
                        assert e["observed"]["control"].startswith("the lab's credential logs "
                                                                   "in"), (name, check)
    ids = {d["name"]: d["identity"] for d in run["devices"]}
    for v in VARIANTS:
        if not v.profile6:
            found = ids[v.name]["ipv6_discovery"]
            assert found["address6"] == f"2001:2::{10 + v.index}", found
            surf = {e["check"]: e for e in res[v.name]["TC-SURF-01"]["evidence"]}
            assert f"open ports on {found['address6']}" in surf
    brute = {e["check"]: e["observed"] for e in res["router-snmpv3"]["TC-BRUTE-01"]["evidence"]}
    assert brute["ssh:22 throttling seen"]["throttled"]
    assert brute["snmp-v3:161 throttling seen"]["throttled"]


def test_remote_operation_timelines(matrix_run):
    """appliance-open's S-mark flaws are each named, with a timeline a lab engineer reads;
    the compliant heater's safe state is timed; units without remote operation are N/A."""
    out, _ = matrix_run
    run = load_run(out)
    res = {d["name"]: {r["test_id"]: r for r in d["results"]} for d in run["devices"]}
    bad = res["appliance-open"]["TC-SMARK-03"]["reason"]
    assert "the malformed frame b'o' switched the load ON" in bad
    assert "the command sent during the outage switched the load ON" in bad
    assert "stayed ON" in res["appliance-open"]["TC-SMARK-02"]["reason"]
    good = {e["check"]: e["observed"] for e in res["appliance-1"]["TC-SMARK-02"]["evidence"]}
    events = [e["event"] for e in good["timeline (s since the first command)"]
              if "repeated" not in e["event"]]      # a unit still reconnecting: said so
    assert events[:4] == ["command ON sent", "ON observed", "link cut", "safe state observed"]
    # the report shows it as a timeline a lab engineer reads (seconds, events, a bar)
    html = (out / "report.html").read_text()
    section = html[html.index('id="device-appliance-1"'):]
    section = section[section.index("TC-SMARK-02 Safe state on communication failure: "
                                     "timeline"):]
    table = section[:section.index("</table>")]
    assert "<td>link cut</td>" in table and "<td>safe state observed</td>" in table
    assert 'class="tick" style="margin-left:' in table
    # the lab actions went through the lifecycle owner: logged with outcome, link restored
    actions = [e["observed"] for e in res["appliance-1"]["TC-SMARK-02"]["evidence"]
               if e["check"] == "lab action"]
    assert [a["action"] for a in actions][:2] == ["link_down", "link_up"]
    assert all(a["outcome"] == "done" for a in actions)
    log = (out / "logs" / "appliance-1.log").read_text()
    assert "lab # action restore: link up: done" in log
    assert res["router-1"]["TC-SMARK-02"]["verdict"] == "NOT_APPLICABLE"


# planted flaws a unit's firmware image shows (harness/emulate/image.py), by test case
IMAGE_SHOWS = {"shared_default_password": "TC-CRED-01", "weak_password": "TC-CRED-01",
               "shared_keys": "TC-UNIQ-02", "plaintext_storage": "TC-STORE-01",
               "root_console": "TC-DEBUG-01", "telnet": "TC-SURF-01",
               "telnet_no_login": "TC-SURF-01", "ipv6_only_telnet": "TC-SURF-01",
               "known_exploited_vuln": "TC-VULN-01"}
IMAGE_CASES = ("TC-CRED-01", "TC-STORE-01", "TC-UNIQ-01", "TC-UNIQ-02", "TC-DEBUG-01",
               "TC-SURF-01",
               "TC-UPD-02", "TC-VULN-01")


def test_the_firmware_image_beside_each_unit(matrix_run):
    """Every unit's profile names the image it ships (a namespace unit's built at `up`, a
    QEMU unit's the firmware disk it boots, built from Debian's packages): each test case
    the image bears on records it (the image's SHA-256 and its findings for that case), the
    image FAILs exactly the test cases of the flaws it shows, and a compliant unit's image
    shows none (the matrix's verdicts are the same with it)."""
    from harness.emulate.netns import STATE
    from harness.firmware.evidence import sha256_file
    out, _ = matrix_run
    for d in load_run(out)["devices"]:
        v = next(x for x in VARIANTS if x.name == d["name"])
        res = {r["test_id"]: r for r in d["results"]}
        sha = sha256_file(STATE / v.name / ("vendor-firmware.img" if v.has("qemu")
                                             else "firmware.squashfs"))
        fails = set()
        for tc in IMAGE_CASES:
            seen = [e["observed"] for e in res[tc]["evidence"] if e["check"] == "firmware image"]
            assert len(seen) == 1 and seen[0]["sha256"] == sha, (v.name, tc, seen)
            fails |= {tc for f in seen[0]["findings"] if f["strength"] == "FAIL"}
        assert fails == {IMAGE_SHOWS[f] for f in v.flaws if f in IMAGE_SHOWS}, (v.name, fails)


def test_ts103701_view_follows_the_units_their_ixit_and_their_ics(matrix_run):
    """The TS 103 701 view of the matrix run: a compliant router's password units pass on
    the device and from its IXIT; the legacy router fails them on both (its vendor's IXIT
    says one password for all units); the vendor's ICS makes 5.3-14 not applicable; a unit
    left to the lab keeps its case from PASS; OTA's channel unit fails on router-ota-http."""
    out, _ = matrix_run
    run = load_run(out)
    assert "ETSI TS 103 701 V1.1.1" in run["standards"]
    cases = {c["id"]: c for c in run["ts103701"]["cases"]}
    units = {u["id"]: u for c in cases.values() for u in c["units"]}
    assert cases["5.1-1-1"]["verdicts"]["router-1"] == "PASS"             # IXIT judged
    assert cases["5.1-2-2"]["verdicts"]["router-1"] == "PASS"             # on the device
    assert cases["5.1-1-1"]["verdicts"]["router-legacy-1"] == "FAIL"
    assert cases["5.1-2-2"]["verdicts"]["router-legacy-1"] == "FAIL"
    assert units["5.3-14-1a"]["outcomes"]["router-1"]["verdict"] == "NOT_APPLICABLE"
    assert "ICS: not applicable" in units["5.3-14-1a"]["outcomes"]["router-1"]["why"]
    assert cases["5.1-1-2"]["verdicts"]["router-1"] == "NOT_RUN"          # 5.1-1-2b: the UI
    assert units["5.3-10-1c"]["outcomes"]["router-ota-http"]["verdict"] == "FAIL"
    for c in cases.values():                      # no PASS resting on a unit not passed
        for name, v in c["verdicts"].items():
            if v == "PASS":
                assert all(u["outcomes"][name]["verdict"] in ("PASS", "NOT_APPLICABLE")
                           for u in c["units"]), (c["id"], name)
