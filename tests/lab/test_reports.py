"""The reports a certification body reads, rendered from a real run over a compliant and a
flawed emulated router whose vendor gave (almost) no documents: device findings apart from
the paperwork in every view, the HTML as Chromium renders it, the JC-STAR ★1 checklist,
OSCAL assessment results and JUnit."""
import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests import browser
from tests.conftest import REPO, harness, load_run

# the units it uses: it runs beside the detection matrix once the matrix is done with them
pytestmark = pytest.mark.units("router-1", "router-telnet")

SELECTION = "TC-ID-01 or TC-SURF-02 or TC-COMM-01 or TC-DECL"


@pytest.fixture(scope="module")
def paperless_run(emulated_lab, tmp_path_factory):
    """router-1 (compliant, full declarations) and router-telnet (telnet open) of a type
    whose vendor declared only a disclosure URL."""
    tmp = tmp_path_factory.mktemp("reports")
    typ = yaml.safe_load((REPO / "device_profiles/types/emulab-er100.yaml").read_text())
    typ.pop("extends")
    typ["declarations"] = {"vulnerability_disclosure": {"url": "https://emulab.example/sec"}}
    (tmp / "paperless-type.yaml").write_text(yaml.safe_dump(typ))
    text = open(emulated_lab["router-telnet"]).read()
    text = text.replace("extends: ../../types/emulab-er100.yaml",
                        f"extends: {tmp / 'paperless-type.yaml'}")
    (tmp / "router-telnet.yaml").write_text(text)
    out = tmp / "run"
    proc = harness("run", "--profile", emulated_lab["router-1"], "--profile",
                   tmp / "router-telnet.yaml", "-k", SELECTION, "--out", out, timeout=900,
                   pdf=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return out, proc, load_run(out)


def test_terminal_and_run_put_device_findings_before_paperwork(paperless_run):
    from harness.report import views
    out, proc, run = paperless_run
    dev = {d["name"]: d for d in run["devices"]}
    found = {r["test_id"]: r["verdict"] for r in views.findings(dev["router-telnet"])}
    assert found == {"TC-SURF-02": "FAIL", "TC-COMM-01": "FAIL"}
    owed = {o["field"]: o for o in views.documents_owed(dev["router-telnet"])}
    assert len(owed) >= 40                     # every declaration the type no longer makes
    vd = owed["declarations.vulnerability_disclosure"]
    assert vd["missing"] == ["contact", "timelines"] and "JCSTAR-S1.1-05" in vd["requirements"]
    assert owed["declarations.support_period"]["missing"] == ["end_date or url or document"]
    assert views.findings(dev["router-1"]) == [] and views.documents_owed(dev["router-1"]) == []
    # the terminal: per device, findings first, then one line for the documents owed
    lines = proc.stdout.splitlines()
    i = lines.index(next(l for l in lines if l.startswith("router-telnet: device findings 2")))
    assert "TC-SURF-02 FAIL" in lines[i]
    assert lines[i + 1].startswith(f"  documents the vendor still owes: {len(owed)} ")
    assert any(l.startswith("declaration checks: ") and "FAIL" in l for l in lines)
    assert any(l.startswith("router-telnet") and "· documents" in l for l in lines)


def test_html_as_rendered_by_chromium(paperless_run):
    if not browser.available():
        pytest.fail("Debian's chromium and chromium-driver are missing: scripts/setup.sh "
                    "installs them")
    out, _, run = paperless_run
    with browser.browser() as b:
        page = browser.render(b, out / "report.html", out / "report.png")
        closed = browser.open_all(b)           # what a reader sees after opening each part
        found = b.find_elements("css selector", "#device-router-telnet ~ table td.FAIL")
        visible = [e.text for e in found if e.is_displayed()]
        checklist = browser.render(b, out / "jcstar-checklist.html", out / "checklist.png")
    assert page["errors"] == [] and checklist["errors"] == []
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"   # kept with the run
    text = closed
    # the overview and the 17025 elements come first
    assert text.index("Overview") < text.index("Report id") < text.index("Device router-1")
    for label in ("Laboratory", "Accreditation", "Dates of testing", "Items tested", "Method",
                  "Environment", "Deviations", "Operator"):
        assert any(line.startswith(label) for line in text.splitlines()), label
    assert run["run_id"] in text and "destructive test cases" in text
    # every requirement of every scheme is listed, and the FAIL from run.json is visible
    for scheme in run["schemes"]:
        for q in scheme["requirements"]:
            assert q["id"] in text, q["id"]
    assert "FAIL" in visible
    section = text[text.index("Device router-telnet"):]
    assert section.index("Findings on the device (2)") < section.index("TC-SURF-02") < \
        section.index("Documents the vendor still owes (")
    assert "declarations.vulnerability_disclosure contact, timelines" in section
    # the evidence a reviewer follows: the finding links to its transcript lines
    assert "Tried: " in section and "transcript" in section
    # the checklist in both languages, S1.1-13 not met on router-telnet because of telnet
    ctext = checklist["text"]
    assert "不適合" in ctext and "not met" in ctext and "製造業者が文書で宣言" in ctext


def test_html_fits_1280_and_every_link_resolves(paperless_run):
    """At 1280 px no horizontal scroll bar; every link of the report (and of the transcript
    pages it links to) leads to an existing file or anchor."""
    from urllib.parse import unquote, urlsplit
    out, _, run = paperless_run
    with browser.browser() as b:
        b.set_window_size(1280, 1000)
        pages = [out / "report.html"] + sorted((out / "logs").glob("*.html"))
        for page in pages:
            browser.render(b, page)
            browser.open_all(b)
            width = b.execute_script("return [document.documentElement.scrollWidth, "
                                     "window.innerWidth]")
            assert width[0] <= width[1], (page.name, width)
            links = b.execute_script(
                "return [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
            for href in links:
                parts = urlsplit(href)
                assert not parts.scheme, href             # nothing leaves the run directory
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                assert target.exists(), (page.name, href)
                if parts.fragment and target.suffix == ".html":
                    text = target.read_text()
                    assert f'id="{parts.fragment}"' in text, (page.name, href)
    assert any(h.startswith("logs/router-telnet.html#TC-SURF-02")
               for h in _hrefs(out / "report.html"))


def _hrefs(page):
    import re
    return re.findall(r'href="([^"]+)"', page.read_text())


def test_pdf_has_every_device_and_scheme_on_numbered_pages(paperless_run):
    import pypdfium2 as pdfium
    out, _, run = paperless_run
    pdf = pdfium.PdfDocument(str(out / "report.pdf"))
    pages = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    for i, text in enumerate(pages, 1):
        assert f"Report {run['run_id']}" in text and f"page {i} of {len(pages)}" in text
        assert "DRAFT" in text
    whole = "\n".join(pages)
    for d in run["devices"]:
        assert f"Device {d['name']}" in whole
    for s in run["schemes"]:
        assert s["title"].split(" (")[0].split(",")[0] in whole.replace("\n", " "), s["title"]
    assert f"End of report {run['run_id']}" in pages[-1]


def test_checklist_oscal_junit_carry_the_fail(paperless_run):
    from trestle.oscal.assessment_results import AssessmentResults
    out, _, run = paperless_run
    jc = json.loads((out / "jcstar-checklist.json").read_text())
    items = {d["device"]: {i["id"]: i for i in d["items"]} for d in jc["devices"]}
    assert len(items["router-telnet"]) == 16
    s13 = items["router-telnet"]["S1.1-13"]
    assert s13["verdict"] == "FAIL" and s13["status_ja"] == "不適合"
    assert [e["test_id"] for e in s13["on_device"] if e["verdict"] == "FAIL"] == ["TC-SURF-02"]
    s05 = items["router-telnet"]["S1.1-05"]
    assert s05["verdict"] == "FAIL" and s05["declared"][0]["test_id"] == "TC-DECL-01"
    assert "declarations.vulnerability_disclosure: contact, timelines" in s05["missing"]
    assert items["router-1"]["S1.1-05"]["verdict"] == "DECLARED"
    rows = list(csv.DictReader(io.StringIO((out / "jcstar-checklist.csv")
                                           .read_text(encoding="utf-8-sig"))))
    assert {(r["device"], r["id"], r["状態"]) for r in rows} >= {
        ("router-telnet", "S1.1-13", "不適合"), ("router-1", "S1.1-05", "製造業者が文書で宣言（文書評価）")}

    doc = json.loads((out / "oscal-assessment-results.json").read_text())
    model = AssessmentResults.model_validate(doc["assessment-results"])   # the OSCAL schema
    result = next(r for r in model.results
                  if r.local_definitions.inventory_items[0].props[0].value == "router-telnet")
    f = next(f for f in result.findings if f.target.target_id == "JCSTAR-S1.1-13")
    assert f.target.status.state.value == "not-satisfied" and f.target.status.reason == "fail"
    assert f.related_observations
    obs = {o.uuid: o for o in result.observations}
    related = [obs[r.observation_uuid] for r in f.related_observations]
    assert any(o.title.startswith("TC-SURF-02") and "FAIL" in o.description for o in related)
    assert {m for o in result.observations for m in o.methods} == {"TEST", "EXAMINE"}

    root = ET.parse(out / "junit.xml").getroot()
    assert [s.get("name") for s in root.iter("testsuite")] == [
        "router-1", "router-1 declarations", "router-telnet", "router-telnet declarations"]
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "router-telnet")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert "TC-SURF-02 FAIL" in props["device findings"]
    assert "declarations.support_period" in props["documents owed"]
    assert props["scheme:jcstar-l1"].startswith("FAIL ")
    case = next(c for c in suite.iter("testcase") if c.get("classname") ==
                "router-telnet.TC-SURF-02")
    assert case.find("failure") is not None
    assert ("evaluated", "device") in {(p.get("name"), p.get("value"))
                                       for p in case.find("properties")}
