"""junit.xml from run.json: one testsuite per device, requirement ids as properties."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from junit_xml import TestCase, TestSuite, to_xml_report_string

from harness.report import views


def render(run: dict) -> str:
    suites = []
    for d in run["devices"]:
        cases = []
        for r in d["results"]:
            tc = TestCase(name=f"{r['test_id']} {r['title']}", classname=f"{d['name']}.{r['test_id']}",
                          elapsed_sec=r.get("duration_s", 0.0),
                          stdout=json.dumps(r["evidence"], indent=1)[:20000])
            v, reason = r["verdict"], r["reason"]
            if v == "FAIL":
                tc.add_failure_info(message=reason, output=reason)
            elif v in ("ERROR", "INCONCLUSIVE"):
                tc.add_error_info(message=f"{v}: {reason}", output=reason)
            elif v in ("NOT_APPLICABLE", "NOT_RUN"):
                tc.add_skipped_info(message=f"{v}: {reason}")
            cases.append(tc)
        props = {"device": d["name"], "profile_sha256": d["profile_sha256"],
                 "vendor": d["vendor"], "model": d["model"],
                 "device findings": ", ".join(f"{r['test_id']} {r['verdict']}"
                                              for r in views.findings(d)) or "none",
                 "documents owed": ", ".join(o["field"] for o in views.documents_owed(d))
                 or "none"}
        for view in run.get("schemes", []):      # per-scheme requirement counts by verdict
            counts: dict[str, int] = {}
            for req in view["requirements"]:
                v = req["verdicts"].get(d["name"], "")
                counts[v] = counts.get(v, 0) + 1
            props[f"scheme:{view['scheme']}"] = ", ".join(f"{k} {n}" for k, n in
                                                          sorted(counts.items()))
        suite = TestSuite(d["name"], cases, timestamp=run["started"], properties=props)
        suites.append(suite)
    xml = to_xml_report_string(suites, prettyprint=False, encoding="utf-8")
    # junit-xml has no per-testcase properties; add the verdict and the requirement ids
    # there for CI tools (classname is unique per device and test case)
    root = ET.fromstring(xml)
    provisional = {q["id"] for view in run.get("schemes", []) for q in view["requirements"]
                   if q["provisional"]}
    by_class = {f"{d['name']}.{r['test_id']}": r for d in run["devices"] for r in d["results"]}
    for case in root.iter("testcase"):
        r = by_class.get(case.get("classname", ""))
        if r is None:
            continue
        case.set("verdict", r["verdict"])
        props = ET.Element("properties")
        ET.SubElement(props, "property", name="evaluated",
                      value="documents" if views.from_documents(r) else "device")
        for q in r["requirements"]:
            ET.SubElement(props, "property", name="requirement", value=q)
        prov = [q for q in r["requirements"] if q in provisional]
        if prov:
            ET.SubElement(props, "property", name="provisional", value=", ".join(prov))
        case.insert(0, props)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
