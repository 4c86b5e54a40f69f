"""oscal-assessment-results.json: the run as an OSCAL assessment-results document.

One OSCAL result per device (its inventory item is the subject); one observation per test
case (method TEST for device probes, EXAMINE for declaration checks, with the evidence
files as relevant evidence); one finding per scheme requirement, targeting the requirement
id as an objective, `satisfied` only for PASS, DECLARED and NOT_APPLICABLE, with the
harness's exact verdict as a property. UUIDs are derived from the run id, so rendering the
same run.json twice gives the same document. The tests validate it with compliance-trestle's
OSCAL models."""
from __future__ import annotations

import uuid

import harness
from harness.report.views import from_documents, ordered_schemes

OSCAL_VERSION = "1.1.2"
NS = "https://iot-conformance-harness.invalid/ns/oscal"     # our own property names
SATISFIED = {"PASS", "DECLARED", "NOT_APPLICABLE"}


def _uuid(run_id: str, *parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(("harness-run", run_id, *parts))))


def _prop(name: str, value) -> dict:
    return {"name": name, "ns": NS, "value": str(value)}


def _observation(run: dict, device: dict, subject: str, r: dict) -> dict:
    evidence = [{"href": a, "description": f"artifact of {r['test_id']}",
                 "props": [_prop("sha256", r.get("artifact_sha256", {}).get(a, "unknown"))]}
                for a in r.get("artifacts", [])]
    evidence.append({"href": "run.json", "description": f"expected vs observed checks of "
                     f"{r['test_id']} on {device['name']} (run.json, devices[].results[])"})
    return {"uuid": _uuid(run["run_id"], device["name"], "obs", r["test_id"]),
            "title": f"{r['test_id']} {r['title']}",
            "description": f"{r['verdict']}: {r['reason'] or 'no reason recorded'}",
            "props": [_prop("verdict", r["verdict"]), _prop("test-case", r["test_id"])]
            + [_prop("requirement", q) for q in r["requirements"]],
            "methods": ["EXAMINE" if from_documents(r) else "TEST"],
            "subjects": [{"subject-uuid": subject, "type": "inventory-item",
                          "title": device["name"]}],
            "relevant-evidence": evidence,
            "collected": r.get("started") or run["started"]}


REMARKS = {"DECLARED": "declared by the manufacturer: evaluated from documents (observation "
                        "method EXAMINE), not tested on the device",
           "NOT_APPLICABLE": "not applicable to this product (with the reason recorded)"}


def _finding(run: dict, device: dict, scheme: dict, q: dict, obs: dict[str, str]) -> dict:
    """The status in OSCAL's own fields: `pass` only for a requirement the device passed
    under test; a declaration (EXAMINE) or a non-applicability is satisfied with reason
    `other` and says which in its remarks."""
    v = q["verdicts"].get(device["name"], "NOT_RUN")
    status = {"state": "satisfied" if v in SATISFIED else "not-satisfied",
              "reason": "pass" if v == "PASS" else ("fail" if v == "FAIL" else "other")}
    why = q["not_tested"].get(device["name"], [])
    remarks = [REMARKS[v]] if v in REMARKS else []
    if why:
        remarks += why
    if q.get("tree", {}).get(device["name"]):      # EN 18031-1: each asset's outcome
        remarks.append("per asset: " + q["tree"][device["name"]])
    if remarks:
        status["remarks"] = "; ".join(remarks)
    f = {"uuid": _uuid(run["run_id"], device["name"], "finding", scheme["scheme"], q["id"]),
         "title": f"{q['id']} {q['title']}",
         "description": f"{scheme['title']} {q['id']} on {device['name']}: {v}",
         "props": [_prop("verdict", v), _prop("scheme", scheme["scheme"]),
                   _prop("provisional", str(q["provisional"]).lower())],
         "target": {"type": "objective-id", "target-id": q["id"], "status": status}}
    related = [{"observation-uuid": obs[t]} for t in q["test_cases"] if t in obs]
    if related:
        f["related-observations"] = related
    return f


def _result(run: dict, device: dict) -> dict:
    subject = _uuid(run["run_id"], device["name"], "item")
    identity = ", ".join(f"{k}: {v}" for k, v in device.get("identity", {}).items())
    item = {"uuid": subject,
            "description": f"{device['vendor']} {device['model']} ({device['category']}), "
                           f"declared firmware {device['declared_firmware']}"
                           + (f"; read from the device: {identity}" if identity else ""),
            "props": [_prop("device", device["name"]),
                      _prop("profile-sha256", device["profile_sha256"])]}
    observations = [_observation(run, device, subject, r) for r in device["results"]]
    obs = {o["props"][1]["value"]: o["uuid"] for o in observations}
    from harness import ts103701
    ts = ts103701.as_scheme(run)
    schemes = ordered_schemes(run) + ([ts] if ts else [])
    findings = [_finding(run, device, s, q, obs) for s in schemes for q in s["requirements"]]
    ids = sorted({q["id"] for s in schemes for q in s["requirements"]})
    result = {"uuid": _uuid(run["run_id"], device["name"], "result"),
              "title": f"Conformance tests of {device['name']}",
              "description": "Test cases of the IoT conformance harness against "
                             + ", ".join(s["title"] for s in schemes),
              "start": run["started"],
              "props": [_prop("run-id", run["run_id"]), _prop("complete", str(run["complete"]).lower())],
              "local-definitions": {"inventory-items": [item]},
              "reviewed-controls": {"control-selections": [
                  {"include-controls": [{"control-id": i} for i in ids]}]},
              "observations": observations or None, "findings": findings or None}
    if run.get("ended"):
        result["end"] = run["ended"]
    return {k: v for k, v in result.items() if v is not None}


def render(run: dict) -> dict:
    meta = {"title": f"Conformance assessment results, run {run['run_id']}",
            "last-modified": run.get("ended") or run["started"],
            "version": harness.__version__, "oscal-version": OSCAL_VERSION,
            "props": [_prop("lab", run["lab"]["name"])]}
    if run["lab"].get("accreditation_id"):
        meta["props"].append(_prop("accreditation-id", run["lab"]["accreditation_id"]))
    return {"assessment-results": {
        "uuid": _uuid(run["run_id"], "assessment-results"), "metadata": meta,
        "import-ap": {"href": "run.json", "remarks": "No separate OSCAL assessment plan: "
                      "the plan (profiles, lab, selection) is in run.json and journal.jsonl."},
        "results": [_result(run, d) for d in run["devices"]]}}
