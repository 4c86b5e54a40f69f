"""junit.xml from run.json: one testsuite per device, requirement ids as properties."""
from __future__ import annotations

import json

from junit_xml import TestCase, TestSuite, to_xml_report_string


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
            elif v == "NOT_APPLICABLE":
                tc.add_skipped_info(message=reason)
            cases.append(tc)
        props = {"device": d["name"], "profile_sha256": d["profile_sha256"],
                 "vendor": d["vendor"], "model": d["model"]}
        suite = TestSuite(d["name"], cases, timestamp=run["started"], properties=props)
        suites.append(suite)
    xml = to_xml_report_string(suites, prettyprint=True, encoding="utf-8")
    # junit-xml has no per-testcase properties; add the requirement ids there for CI tools
    for d in run["devices"]:
        for r in d["results"]:
            name = f'classname="{d["name"]}.{r["test_id"]}"'
            reqs = "".join(f'<property name="requirement" value="{q}"/>' for q in r["requirements"])
            xml = xml.replace(name, f'{name} verdict="{r["verdict"]}"', 1)
            xml = _after_open_tag(xml, f'{name} verdict="{r["verdict"]}"',
                                  f"<properties>{reqs}</properties>")
    return xml


def _after_open_tag(xml: str, marker: str, insert: str) -> str:
    i = xml.find(marker)
    if i < 0:
        return xml
    j = xml.find(">", i)
    if xml[j - 1] == "/":        # self-closing <testcase .../>
        return xml[:j - 1] + ">" + insert + "</testcase>" + xml[j + 1:]
    return xml[:j + 1] + insert + xml[j + 1:]
