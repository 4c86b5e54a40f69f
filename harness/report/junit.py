"""junit.xml from run.json: per device a testsuite of the tests that probed it and, apart,
a testsuite of its declaration checks (evaluated from the vendor's documents: DECLARED is
reported as skipped with that reason, never as a passed test); requirement ids and the
verdict as per-testcase properties; the root carries the totals of its suites."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from junit_xml import TestCase, TestSuite, to_xml_report_string

from harness.report import views


def _case(d: dict, r: dict) -> TestCase:
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
    elif v == "DECLARED":
        tc.add_skipped_info(message=f"DECLARED: {reason or 'evaluated from documents'}")
    return tc


def render(run: dict) -> str:
    suites = []
    for d in run["devices"]:
        cases = [_case(d, r) for r in d["results"] if not views.from_documents(r)]
        declarations = [_case(d, r) for r in d["results"] if views.from_documents(r)]
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
        suites.append(TestSuite(d["name"], cases, timestamp=run["started"], properties=props))
        if declarations:
            suites.append(TestSuite(f"{d['name']} declarations", declarations,
                                    timestamp=run["started"],
                                    properties={"device": d["name"], "evaluated": "documents"}))
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
    for suite in root.iter("testsuite"):          # counts as CI dashboards read them
        cases = list(suite.iter("testcase"))
        suite.set("tests", str(len(cases)))
        for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            suite.set(attr, str(sum(c.find(tag) is not None for c in cases)))
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, 0)) for s in root.iter("testsuite"))))
    root.attrib.pop("disabled", None)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
