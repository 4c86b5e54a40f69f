"""The detection matrix's run, read through EN 18031-1's trees: each unit's assets come from
its profile, a requirement fails exactly where a test case of its tree failed on the unit,
the vendor's justification exempts an asset, network equipment alone answers RLM/NMM/TCM,
and a requirement with a step left to the lab is never PASS."""
from harness import en18031
from tests.conftest import load_run


def _view(matrix_run):
    run = load_run(matrix_run[0])
    return run, {q["requirement"]: q for q in run["en18031"]["requirements"]}


def test_a_requirement_fails_where_its_trees_tests_failed(matrix_run):
    run, reqs = _view(matrix_run)
    trees = {t.requirement: t for t in en18031.load().trees}
    for d in run["devices"]:
        failed = {r["test_id"] for r in d["results"] if r["verdict"] == "FAIL"}
        expect = {rid for rid, t in trees.items() if failed & set(t.tests)}
        got = {rid for rid, q in reqs.items() if q["verdicts"][d["name"]] == "FAIL"}
        assert got == expect, (d["name"], got ^ expect)
        for rid, q in reqs.items():                 # the weakest of the assets' outcomes
            rows = q["devices"][d["name"]]["assets"]
            if any(n.lab for n in trees[rid].nodes) and rows:
                assert q["verdicts"][d["name"]] != "PASS", (d["name"], rid)
    scheme = {q["id"]: q for s in run["schemes"] if s["scheme"] == "en-18031-1"
              for q in s["requirements"]}
    for rid, q in reqs.items():                     # one verdict: the scheme's is the tree's
        assert scheme[f"EN18031-{rid}"]["verdicts"] == q["verdicts"], rid


def test_paths_name_the_asset_the_node_and_the_evidence(matrix_run):
    run, reqs = _view(matrix_run)
    rows = {a["asset"]: a for a in reqs["AUM-6"]["devices"]["router-nothrottle"]["assets"]}
    ssh = rows["login ssh:22"]
    assert ssh["outcome"] == "FAIL"
    assert [(s["node"], s["answer"]) for s in ssh["path"]] == [("DN-1", "no"), ("DN-2", "no")]
    assert ssh["why"].startswith("TC-BRUTE-01: FAIL (ssh:22: ")
    # its web login holds each refusal back a second: TC-BRUTE-01's outcome for that login
    web = rows["login http-basic:443"]
    assert web["outcome"] == "PASS"
    assert web["path"][-1]["evidence"][0].startswith(
        "TC-BRUTE-01: PASS (on http-basic:443: throttled"), web["path"][-1]["evidence"]
    assert reqs["AUM-6"]["verdicts"]["router-1"] == "PASS"
    # the vendor's justification (ER-100: a replayed image is refused as not newer)
    scm4 = {a["asset"]: a for a in reqs["SCM-4"]["devices"]["router-1"]["assets"]}
    upd = scm4["update mechanism (json)"]
    assert upd["outcome"] == "NOT_APPLICABLE" and upd["why"].startswith("the vendor: ")
    assert scm4["login ssh:22"]["outcome"] == "PASS"
    assert reqs["SCM-4"]["verdicts"]["router-1"] == "PASS"
    # network equipment: the router's document; a camera is not network equipment
    assert reqs["RLM-1"]["verdicts"]["router-1"] == "DECLARED"
    cam = reqs["RLM-1"]["devices"]["camera-1"]
    assert reqs["RLM-1"]["verdicts"]["camera-1"] == "NOT_APPLICABLE"
    assert cam["none_in_scope"].startswith("not network equipment")
    # the firmware with a known exploited vulnerability; the web upload without signatures
    assert reqs["GEC-1"]["verdicts"]["router-oldfw"] == "FAIL"
    assert reqs["SUM-2"]["verdicts"]["router-webfw-nosig"] == "FAIL"
    assert reqs["GEC-5"]["verdicts"]["router-1"] == "NOT_RUN"          # the housing: the lab
    html = (matrix_run[0] / "report.html").read_text()
    assert 'id="en18031"' in html and "EN 18031-1 decision trees:" in html
