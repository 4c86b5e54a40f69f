"""Every output of a run rendered from a journal written here (no device): a hostile device
string (markup, a spreadsheet formula, terminal escapes) stays inert in the HTML, the PDF,
the CSVs, JUnit, OSCAL and on the terminal; the PDF carries the report id, "page x of y" and
DRAFT on every page until the report is approved; the JC-STAR checklist answers every item
in IPA's terms; JUnit keeps declarations out of the passed tests."""
import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import cli

HOSTILE = "=HYPERLINK(\"http://x\")<script>alert(1)</script>\x1b]0;pwned\x07\x1b[2J"


ASSETS = [{"name": "the equipment", "kind": "equipment"},
          {"name": "login ssh:22", "kind": "authentication"},
          {"name": "service 80/http", "kind": "network_function"}]


def _journal(out, n_devices=2):
    from harness.report.writer import method_versions
    out.mkdir(parents=True)
    (out / "logs").mkdir()
    events = [{"type": "run-start", "run_id": "rpt-1", "started": "2026-12-01T10:00:00+00:00",
               "lab": {"name": "Test lab", "address": "1 Lab Street", "accreditation_id": "A-1",
                       "config": "lab.yaml", "method_validation": None},
               "order": {"order_id": "O-7", "customer": {"name": "Acme", "address": "2 Road"},
                         "items_received": "2026-11-30", "sampling": "none"},
               "operator": "tester", "allow_destructive": True, "selection": "",
               "tools": {"harness": "0.1.0"}, "method": method_versions(),
               "environment": {"host": "h"},
               "devices": [{"name": f"dev-{i}", "profile": "p.yaml", "profile_sha256": "sha256:0",
                            "vendor": "V", "model": "M", "category": "router",
                            "declared_firmware": "1.0", "assets": ASSETS,
                            "en18031": {"ACM-1": {"service 80/http": "serves the public "
                                                  "status page by design"}} if i == 0 else {}}
                           for i in range(n_devices)]}]
    for i in range(n_devices):
        name = f"dev-{i}"
        (out / "logs" / f"{name}.log").write_text(
            f"10:00:00.000 test # TC-SURF-01 begins\n10:00:01.000 tcp:x < {HOSTILE}\n"
            "10:00:02.000 test # TC-SURF-01 ends: FAIL\n")
        events += [
            {"type": "identity", "device": name, "identity": {"firmware_version": HOSTILE}},
            {"type": "result", "device": name, "test_id": "TC-SURF-01", "title": "Only declared",
             "requirements": ["ETSI-5.6-1", "JCSTAR-S1.1-13"], "verdict": "FAIL",
             "reason": f"undeclared open ports: tcp/23 ({HOSTILE})",
             "steps": ["scan every port"], "evidence": [
                 {"check": "no undeclared open port", "expected": {"tcp": [22]},
                  "observed": [HOSTILE], "ok": False},
                 {"check": "firmware image", "observed": {
                     "image": "fw.bin", "sha256": "ab" * 32, "findings": [
                         {"test_case": "TC-SURF-01", "strength": "OBSERVED",
                          "finding": f"dropbear (ssh) starts at boot {HOSTILE}"}]}},
                 {"check": "image and unit disagree", "observed": [
                     "/etc/rc:3: the image starts telnetd (telnet) at boot; the scan saw "
                     "nothing on port 23"]}],
             "artifacts": [], "artifact_sha256": {}, "destructive": False,
             "started": "2026-12-01T10:00:00+00:00", "duration_s": 1.0},
            {"type": "result", "device": name, "test_id": "TC-CRED-01", "title": "No defaults",
             "requirements": ["ETSI-5.1-1", "JCSTAR-S1.1-02"], "verdict": "PASS", "reason": "",
             "steps": ["calibrate"], "evidence": [{"check": "no known credential accepted",
                                                   "expected": "none", "observed": [], "ok": True}],
             "artifacts": [], "artifact_sha256": {}, "destructive": False, "started": "",
             "duration_s": 1.0},
            {"type": "result", "device": name, "test_id": "TC-IXIT-01", "title": "IXIT passwords",
             "requirements": ["ETSI-5.1-1", "ETSI-5.1-2", "ETSI-5.1-5"], "verdict": "DECLARED",
             "reason": "the IXIT's auth_mech answers meet the criteria", "steps": [],
             "evaluated": "documents",
             "evidence": [{"check": "auth_mech.password_mechanism", "expected": "...",
                           "observed": "unique_per_device", "ok": True}],
             "artifacts": [], "artifact_sha256": {}, "destructive": False, "started": "",
             "duration_s": 0.0},
            {"type": "result", "device": name, "test_id": "TC-DECL-01", "title": "Disclosure",
             "requirements": ["ETSI-5.2-1", "JCSTAR-S1.1-05"], "verdict": "DECLARED",
             "reason": "declared by the vendor (policy v1)", "steps": [], "evidence": [
                 {"check": "declared", "expected": "a vendor declaration",
                  "observed": {"document": "policy v1", "url": ""}, "ok": True}],
             "artifacts": [], "artifact_sha256": {}, "destructive": False, "started": "",
             "duration_s": 0.0}]
    events.append({"type": "run-end", "ended": "2026-12-01T11:00:00+00:00"})
    (out / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = _journal(tmp_path_factory.mktemp("rpt") / "run")
    proc = cli("report", out)
    assert proc.returncode == 1, proc.stderr[-2000:]      # FAILs in it
    return out, proc


def _pdf_pages(path):
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(str(path))
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def test_a_hostile_device_string_stays_inert_everywhere(rendered):
    out, proc = rendered
    assert "\x1b" not in proc.stdout + proc.stderr
    page = (out / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    for log in (out / "logs").glob("*.html"):
        assert "<script>" not in log.read_text()
    for name in ("jcstar-checklist.csv",):
        rows = list(csv.reader(io.StringIO((out / name).read_text(encoding="utf-8-sig"))))
        cells = [c for row in rows for c in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))], name
        assert any(c.startswith("'=HYPERLINK") for c in cells)
    ET.parse(out / "junit.xml")                      # still well-formed XML
    json.loads((out / "oscal-assessment-results.json").read_text())
    assert any("HYPERLINK" in p for p in _pdf_pages(out / "report.pdf"))


def test_pdf_pages_carry_id_page_and_draft_until_approved(rendered, tmp_path):
    out, _ = rendered
    pages = _pdf_pages(out / "report.pdf")
    assert len(pages) >= 3
    for i, text in enumerate(pages, 1):
        assert "Report rpt-1" in text and f"page {i} of {len(pages)}" in text, (i, text[-200:])
        assert "DRAFT" in text, i
    whole = "\n".join(pages)
    for needle in ("dev-0", "dev-1", "JC-STAR", "ETSI EN 303 645", "EN 18031-1", "Acme",
                   "1 Lab Street", "O-7", "2026-11-30", "End of report rpt-1"):
        assert needle in whole, needle
    key = tmp_path / "lab.key"
    assert cli("keygen", key).returncode == 0
    proc = cli("approve", out, "--key", key, "--name", "Dr. Ada Lovelace",
                   "--role", "technical manager")
    assert proc.returncode == 0, proc.stderr
    pages = _pdf_pages(out / "report.pdf")
    assert not [i for i, p in enumerate(pages) if "DRAFT" in p]
    assert "Dr. Ada Lovelace, technical manager" in "\n".join(pages).replace("\n", " ")
    # run.json edited after the approval: the report is a draft again
    run = out / "run.json"
    run.write_text(run.read_text().replace('"FAIL"', '"PASS"', 1))
    from harness.report import approval
    assert approval.status(out)["approved"] is False


def test_checklist_answers_every_item_in_ipas_terms(rendered):
    out, _ = rendered
    jc = json.loads((out / "jcstar-checklist.json").read_text())
    items = {i["id"]: i for i in jc["devices"][0]["items"]}
    assert len(items) == 16 and all(i["answer"] for i in items.values())
    assert items["S1.1-09"]["answer"] == "owed" and "製造業者が回答" in items["S1.1-09"]["status_ja"]
    assert items["S1.1-05"]["answer"] == "declared"
    assert items["S1.1-05"]["declared"][0]["document"] == "policy v1"
    assert items["S1.1-13"]["answer"] == "device-verified"
    text = (out / "jcstar-checklist.html").read_text()
    assert "デフォルトパスワード" in text and "製造業者" in text and "初期パスワード" not in text
    assert "製造者の" not in text
    rows = list(csv.DictReader(io.StringIO((out / "jcstar-checklist.csv")
                                           .read_text(encoding="utf-8-sig"))))
    assert {"製造業者", "vendor", "型番", "model", "firmware (declared)", "回答"} <= set(rows[0])
    # Japanese columns carry Japanese (the reasons in English stay in the English column)
    r13 = next(r for r in rows if r["id"] == "S1.1-13")
    assert r13["実機での検証"] == "TC-SURF-01：不適合" and "undeclared" in r13["verified on the device"]


def test_junit_keeps_declarations_apart_with_consistent_counts(rendered):
    out, _ = rendered
    root = ET.parse(out / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"dev-0", "dev-1", "dev-0 declarations", "dev-1 declarations"}
    decl = suites["dev-0 declarations"]
    assert decl.get("tests") == "2" and decl.get("skipped") == "2"
    assert "DECLARED" in decl.find("testcase/skipped").get("message")
    dev = suites["dev-0"]
    assert (dev.get("tests"), dev.get("failures"), dev.get("skipped")) == ("2", "1", "0")
    for attr in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attr)) == sum(int(s.get(attr)) for s in suites.values()), attr


def test_oscal_tells_declarations_apart_in_standard_fields(rendered):
    out, _ = rendered
    doc = json.loads((out / "oscal-assessment-results.json").read_text())
    result = doc["assessment-results"]["results"][0]
    obs = {o["uuid"]: o for o in result["observations"]}
    f05 = next(f for f in result["findings"] if f["target"]["target-id"] == "JCSTAR-S1.1-05")
    assert f05["target"]["status"] == {"state": "satisfied", "reason": "other", "remarks":
                                       f05["target"]["status"]["remarks"]}
    assert "EXAMINE" in f05["target"]["status"]["remarks"]
    assert [obs[r["observation-uuid"]]["methods"] for r in f05["related-observations"]] == \
        [["EXAMINE"]]
    for f in result["findings"]:               # "pass" only for a requirement passed on test
        verdict = next(p["value"] for p in f["props"] if p["name"] == "verdict")
        assert (f["target"]["status"]["reason"] == "pass") == (verdict == "PASS"), f["title"]
    assert any(f["target"]["status"]["reason"] == "pass" for f in result["findings"])


def test_the_report_shows_what_came_from_the_image_and_what_from_the_unit(rendered):
    out, _ = rendered
    html = (out / "report.html").read_text()
    section = html.split("From the firmware image and from the unit", 1)[1].split("<h3>", 1)[0]
    assert "sha256 " + "ab" * 32 in section
    assert "OBSERVED: dropbear (ssh) starts at boot" in section and "<script>" not in section
    assert "disagree: /etc/rc:3: the image starts telnetd" in section
    assert section.count('href="#ev-dev-0-TC-SURF-01"') == 1 and "FAIL (undeclared" in section


def test_ts103701_view_decides_units_from_the_device_the_ixit_and_names_the_lab_steps(rendered):
    out, _ = rendered
    run = json.loads((out / "run.json").read_text())
    assert "ETSI TS 103 701 V1.1.1" in run["standards"]
    cases = {c["id"]: c for c in run["ts103701"]["cases"]}
    assert len(cases) == 109
    units = {u["id"]: u for c in cases.values() for u in c["units"]}
    assert len(units) == 226
    # conceptual, judged from the IXIT: its DECLARED judgement is the unit's pass
    assert units["5.1-2-1a"]["outcomes"]["dev-0"]["verdict"] == "PASS"
    assert cases["5.1-2-1"]["verdicts"]["dev-0"] == "PASS"
    # functional, on the device: TC-SURF-01 failed there
    assert units["5.6-1-2b"]["outcomes"]["dev-0"]["verdict"] == "FAIL"
    assert cases["5.6-1-2"]["verdicts"]["dev-0"] == "FAIL"
    # a unit left to the lab is never PASS, and keeps its case from PASS
    assert units["5.1-1-2b"]["outcomes"]["dev-0"] == {
        "verdict": "NOT_RUN", "why": "lab step: operate the product's user interface"}
    assert cases["5.1-1-2"]["verdicts"]["dev-0"] == "NOT_RUN"
    # no test yet: UNCOVERED, never PASS
    assert units["6-5-2d"]["outcomes"]["dev-0"]["verdict"] == "UNCOVERED"
    # a conceptual unit the lab judges with no declaration on file: the answer is owed
    assert units["5.1-3-1a"]["outcomes"]["dev-0"] == {"verdict": "NOT_RUN",
                                                     "why": "IXIT answer owed"}
    html = (out / "report.html").read_text()
    assert 'id="ts103701"' in html and "5.1-2-1 (conceptual)" in html
    oscal = json.loads((out / "oscal-assessment-results.json").read_text())
    found = {f["target"]["target-id"]: f for r in oscal["assessment-results"]["results"]
             for f in r["findings"] if r["title"].endswith("dev-0")}
    assert found["TS103701-5.1-2-1"]["target"]["status"]["reason"] == "pass"
    assert found["TS103701-5.6-1-2"]["target"]["status"]["reason"] == "fail"
    assert "5.1-1-2b: NOT_RUN (lab step" in found["TS103701-5.1-1-2"]["target"]["status"]["remarks"]


def test_en18031_view_decides_each_asset_through_its_tree(rendered):
    out, _ = rendered
    run = json.loads((out / "run.json").read_text())
    reqs = {q["requirement"]: q for q in run["en18031"]["requirements"]}
    assert len(reqs) == 33
    # ACM-1 on dev-0: the vendor's justification exempts the public page; the login is
    # judged by TC-AUTH-01 and TC-INFO-01, not in this run: NOT_RUN, never PASS
    rows = {a["asset"]: a for a in reqs["ACM-1"]["devices"]["dev-0"]["assets"]}
    assert set(rows) == {"login ssh:22", "service 80/http"}
    assert rows["service 80/http"]["outcome"] == "NOT_APPLICABLE"
    assert rows["service 80/http"]["path"] == [{
        "node": "DN-1, DN-2", "ask": "Is the asset meant for anyone to use, without access "
        "control? Or: Does the target environment alone keep unauthorised entities away from "
        "it?", "answer": "yes", "by": "the vendor (IXIT)",
        "evidence": ["serves the public status page by design"]}]
    assert rows["login ssh:22"]["outcome"] == "NOT_RUN"
    assert [s["answer"] for s in rows["login ssh:22"]["path"]] == [
        "no", "no", "undecided (NOT_RUN)"]
    assert reqs["ACM-1"]["verdicts"] == {"dev-0": "NOT_RUN", "dev-1": "NOT_RUN"}
    # GEC-2: TC-SURF-01 failed: the path stops at the node it answers, saying why
    gec = reqs["GEC-2"]["devices"]["dev-1"]["assets"][0]
    assert gec["outcome"] == "FAIL" and gec["why"].startswith("TC-SURF-01: FAIL (undeclared")
    # RLM-1: a router is network equipment, its tree asks for the vendor's document
    assert reqs["RLM-1"]["verdicts"]["dev-0"] == "NOT_RUN"
    scheme = {q["id"]: q for s in run["schemes"] if s["scheme"] == "en-18031-1"
              for q in s["requirements"]}
    assert scheme["EN18031-GEC-2"]["verdicts"]["dev-0"] == "FAIL"
    html = (out / "report.html").read_text()
    assert 'id="en18031"' in html and "EN18031-GEC-2" in html
    assert "DN-3 Is it reachable only through access control" in html
    oscal = json.loads((out / "oscal-assessment-results.json").read_text())
    found = {f["target"]["target-id"] for r in oscal["assessment-results"]["results"]
             for f in r["findings"]}
    assert "EN18031-GEC-2" in found
    gec = next(f for r in oscal["assessment-results"]["results"] for f in r["findings"]
               if f["target"]["target-id"] == "EN18031-GEC-2")
    assert "per asset: the equipment: FAIL (TC-SURF-01: FAIL (undeclared" in \
        gec["target"]["status"]["remarks"]
