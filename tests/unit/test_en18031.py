"""EN 18031-1 part 1: every requirement in the catalog, each with its decision tree, the
two in step; assets from a profile; a tree walked per asset with the vendor's exemptions,
the unit's test results and the lab's steps."""
import pytest

from harness import en18031
from harness.catalog import catalogs
from harness.runner.suite import load_specs
from tests.unit.test_bad_input import INSTANCE, TYPE, check, write
from tests.conftest import cli

# the requirement ids of part 1 (public CC BY-SA documentation template; ../shared/REFERENCE.md)
PUBLIC_IDS = ("ACM-1 ACM-2 AUM-1-1 AUM-1-2 AUM-2 AUM-3 AUM-4 AUM-5-1 AUM-5-2 AUM-6 SUM-1 SUM-2 "
              "SUM-3 SSM-1 SSM-2 SSM-3 SCM-1 SCM-2 SCM-3 SCM-4 RLM-1 NMM-1 TCM-1 CCK-1 CCK-2 "
              "CCK-3 GEC-1 GEC-2 GEC-3 GEC-4 GEC-5 GEC-6 CRY-1").split()


def _catalog():
    return {r.id: r for c in catalogs() if c.scheme == "en-18031-1" for r in c.requirements}


def test_every_requirement_of_part_1_has_its_tree_and_the_catalog_agrees():
    trees = en18031.load().trees
    assert [t.requirement for t in trees] == PUBLIC_IDS
    assert len({t.requirement.split("-")[0] for t in trees}) == 11        # mechanisms
    cat, specs = _catalog(), load_specs()
    assert list(cat) == [f"EN18031-{i}" for i in PUBLIC_IDS]
    for t in trees:
        q = cat[f"EN18031-{t.requirement}"]
        assert sorted(set(q.test_cases)) == sorted(set(t.tests)), t.requirement
        assert len(q.untested_parts) == sum(1 for n in t.nodes if n.lab), t.requirement
        assert all(x in specs for x in t.tests), t.requirement


def test_assets_come_from_the_profile(tmp_path):
    from harness.profile.loader import load_profile
    profile, _ = load_profile(write(tmp_path))
    names = {a["name"]: a["kind"] for a in en18031.assets(profile)}
    assert names == {"the equipment": "equipment", "login ssh:22": "authentication",
                     "service 22/ssh": "network_function", "SSH host key": "cck"}


def _device(results, category="router", exempt=None):
    assets = [{"name": "the equipment", "kind": "equipment"},
              {"name": "login ssh:22", "kind": "authentication"},
              {"name": "login http-basic:443", "kind": "authentication"}]
    return {"name": "u", "category": category, "assets": assets, "en18031": exempt or {},
            "results": [{"test_id": t, "verdict": v, "reason": why}
                        for t, (v, why) in results.items()]}


def _req(device, rid):
    view = en18031.view({"devices": [device]})
    return next(q for q in view["requirements"] if q["requirement"] == rid)


def test_a_failed_test_ends_the_tree_with_its_reason():
    q = _req(_device({"TC-BRUTE-01": ("FAIL", "ssh:22: 12 wrong passwords refused")}), "AUM-6")
    rows = q["devices"]["u"]["assets"]
    assert [r["asset"] for r in rows] == ["login ssh:22", "login http-basic:443"]
    assert [s["answer"] for s in rows[0]["path"]] == ["no", "no"]
    assert rows[0]["path"][0]["evidence"] == ["no justification given"]
    assert rows[0]["why"] == "TC-BRUTE-01: FAIL (ssh:22: 12 wrong passwords refused)"
    assert q["verdicts"] == {"u": "FAIL"}
    # no outcome per login recorded: the unit's verdict is every login's (the safe side;
    # the reason's wording is not read)
    assert [r["outcome"] for r in rows] == ["FAIL", "FAIL"]
    passed = _req(_device({"TC-BRUTE-01": ("PASS", "")}), "AUM-6")
    assert passed["verdicts"] == {"u": "PASS"}
    assert passed["devices"]["u"]["assets"][0]["path"][1]["answer"] == "yes"


def _per_surface(verdict, reason, outcomes):
    from harness.model.evidence import Evidence
    ev = Evidence()
    ev.per_surface(outcomes)
    return {"test_id": "TC-BRUTE-01", "verdict": verdict, "reason": reason,
            "evidence": ev.items}


def test_a_login_takes_the_outcome_recorded_for_it():
    """Where the test case recorded its outcome per login, each login's answer is its own —
    not read from the reason's wording: a login left untested is not PASS because another
    login failed."""
    d = _device({})
    d["results"] = [_per_surface("FAIL", "ssh:22: 12 wrong passwords refused", {
        "ssh:22": ("FAIL", "ssh:22: 12 wrong passwords refused"),
        "http-basic:443": ("NOT_RUN", "http-basic:443: the lab gave no credential")})]
    rows = _req(d, "AUM-6")["devices"]["u"]["assets"]
    assert [r["outcome"] for r in rows] == ["FAIL", "NOT_RUN"]
    assert rows[1]["path"][1]["evidence"] == [
        "TC-BRUTE-01: NOT_RUN (http-basic:443: the lab gave no credential)"]
    d["results"] = [_per_surface("FAIL", "ssh:22: 12 wrong passwords refused", {
        "ssh:22": ("FAIL", "x"), "http-basic:443": ("PASS", "throttled")})]
    rows = _req(d, "AUM-6")["devices"]["u"]["assets"]
    assert [r["outcome"] for r in rows] == ["FAIL", "PASS"]
    assert rows[1]["path"][1]["evidence"] == ["TC-BRUTE-01: PASS (on http-basic:443: throttled)"]
    # recorded per login, but not for this one: not judged there (never PASS by elimination)
    d["results"] = [_per_surface("FAIL", "ssh:22: x", {"ssh:22": ("FAIL", "x")})]
    rows = _req(d, "AUM-6")["devices"]["u"]["assets"]
    assert [r["outcome"] for r in rows] == ["FAIL", "NOT_RUN"]
    d["results"] = [_per_surface("PASS", "", {"ssh:22": ("PASS", "throttled")})]
    assert _req(d, "AUM-6")["verdicts"] == {"u": "PASS"}
    # found open on no login of the profile (an undeclared anonymous FTP): every login's
    d["results"] = [_per_surface("FAIL", "reachable without authentication: ftp:21", {
        "*": ("FAIL", "ftp:21: reachable without authentication"),
        "ssh:22": ("PASS", "refused"), "http-basic:443": ("NOT_RUN", "no control")})]
    rows = _req(d, "AUM-6")["devices"]["u"]["assets"]
    assert [r["outcome"] for r in rows] == ["FAIL", "FAIL"]
    assert rows[0]["why"] == \
        "TC-BRUTE-01: FAIL (on the unit: ftp:21: reachable without authentication)"
    # a weak password on the serial console (not a login asset): every login's
    d["results"] = [_per_surface("FAIL", "serial user root: weak", {
        "serial": ("FAIL", "the lab-given password is on the list"),
        "ssh:22": ("PASS", "refused"), "http-basic:443": ("PASS", "refused")})]
    rows = _req(d, "AUM-6")["devices"]["u"]["assets"]
    assert [r["outcome"] for r in rows] == ["FAIL", "FAIL"]
    assert rows[1]["why"] == "TC-BRUTE-01: FAIL (on serial: the lab-given password is on the list)"
    # a unit that stopped answering: its recorded outcomes do not speak for a login
    d["results"] = [_per_surface("ERROR", "device gone", {"http-basic:443": ("PASS", "t")})]
    assert [r["outcome"] for r in _req(d, "AUM-6")["devices"]["u"]["assets"]] == \
        ["ERROR", "ERROR"]


def test_the_vendors_justification_exempts_one_asset_or_all():
    results = {"TC-BRUTE-01": ("FAIL", "a burst went through unthrottled")}   # no surface named
    one = _req(_device(results, exempt={"AUM-6": {"login http-basic:443": "a key, no "
                                                  "password"}}), "AUM-6")
    out = {r["asset"]: r["outcome"] for r in one["devices"]["u"]["assets"]}
    assert out == {"login ssh:22": "FAIL", "login http-basic:443": "NOT_APPLICABLE"}
    every = _req(_device(results, exempt={"AUM-6": {"*": "keys only"}}), "AUM-6")
    assert every["verdicts"] == {"u": "NOT_APPLICABLE"}
    assert every["devices"]["u"]["assets"][0]["why"] == "the vendor: keys only"


def test_a_lab_step_keeps_the_requirement_from_pass():
    q = _req(_device({"TC-DEBUG-01": ("PASS", ""), "TC-DEBUG-02": ("PASS", "")}), "GEC-5")
    row = q["devices"]["u"]["assets"][0]
    assert [s["by"] for s in row["path"]] == ["test cases on the unit", "the lab"]
    assert row["outcome"] == "NOT_RUN" and q["verdicts"] == {"u": "NOT_RUN"}


@pytest.mark.parametrize("category,verdict", [("camera", "NOT_APPLICABLE"), ("router", "DECLARED")])
def test_network_equipment_only(category, verdict):
    q = _req(_device({"TC-DECL-EN18031-TCM-1": ("DECLARED", "statement v1")}, category), "TCM-1")
    assert q["verdicts"] == {"u": verdict}
    if category == "camera":
        assert q["devices"]["u"]["none_in_scope"] == "not network equipment (category camera)"


def test_the_scheme_view_takes_the_trees_verdict():
    device = _device({"TC-BRUTE-01": ("FAIL", "not throttled")},
                     exempt={"AUM-6": {"*": "keys only"}})
    schemes = [{"scheme": "en-18031-1", "requirements": [
        {"id": "EN18031-AUM-6", "verdicts": {"u": "FAIL"}, "not_tested": {}}]}]
    en18031.decide_scheme(schemes, en18031.view({"devices": [device]}))
    q = schemes[0]["requirements"][0]
    assert q["verdicts"] == {"u": "NOT_APPLICABLE"}
    assert q["tree"]["u"].startswith("login ssh:22: NOT_APPLICABLE (the vendor: keys only)")


@pytest.mark.parametrize("text,line", [
    ("ixit:\n  en18031: {XYZ-9: {'*': why}}\n", 8),
    ("ixit:\n  en18031: {AUM-4: {'*': ''}}\n", 8)])
def test_an_exemption_names_a_known_requirement_and_says_why(tmp_path, text, line):
    unit = write(tmp_path, type_text=TYPE + text, instance_text=INSTANCE)
    check(cli("validate", unit), "type.yaml", "ixit.en18031", line)


def test_coverage_counts_the_nodes_by_who_answers_them():
    cov = en18031.coverage()
    assert (cov["requirements"], cov["mechanisms"]) == (33, 11)
    assert cov["nodes"] == {"exempt": 17, "tests": 33, "lab": 7}
    assert cov["decided_on_the_unit"] == 33 - len(cov["with_a_lab_step"]) == 26
    proc = cli("coverage")
    assert proc.returncode == 0 and "decided on the unit alone: 26" in proc.stdout
