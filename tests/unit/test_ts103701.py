"""ETSI TS 103 701's structure as the catalog holds it, checked against the public id list
(tests/fixtures), the coverage figures the docs print, and the IXIT judgements (TC-IXIT)."""
import re
from types import SimpleNamespace

import pytest

from harness import ts103701
from harness.errors import NotApplicable, NotRun
from harness.model.evidence import Evidence, Failed
from harness.profile.ixit import Ixit
from harness.runner.suite import load_specs
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "ts-103-701-v1.1.1-units.txt"


def _public_units() -> dict[str, str]:
    lines = [x.split() for x in FIXTURE.read_text().splitlines() if x and not x.startswith("#")]
    return {uid: kind for uid, kind in lines}


def test_every_public_unit_is_in_the_catalog_with_its_kind_and_no_other():
    std = ts103701.load()
    ours = {c.id + letter: c.unit_kind(letter) for _, c, letter, _ in std.units()}
    assert ours == _public_units()
    kinds = [c.kind for g in std.groups for c in g.cases]
    assert (len(std.groups), len(kinds)) == (68, 109)
    assert (kinds.count("conceptual"), kinds.count("functional"), kinds.count("both")) == \
        (62, 46, 1)
    for g in std.groups:                 # a case belongs to its provision's group
        assert all(c.id.rsplit("-", 1)[0] == g.provision for c in g.cases)


def test_every_unit_names_test_cases_that_exist_and_of_the_right_kind():
    specs, std = load_specs(), ts103701.load()
    for _, c, letter, u in std.units():
        for t in u.device:
            assert t in specs and specs[t].evaluated == "device", (c.id + letter, t)
        if u.ixit:
            assert specs[u.ixit].evaluated == "documents", c.id + letter
            assert c.unit_kind(letter) == "conceptual", c.id + letter


def test_coverage_counts_and_the_docs_say_the_same():
    cov = ts103701.coverage()
    assert cov["units"] == {"conceptual": 124, "functional": 102}
    f = cov["by_kind"]["functional"]
    assert cov["functional_decidable"] == f["device"] + f["none"] == 49
    assert len(cov["uncovered"]) == f["none"]
    docs = (REPO / "docs" / "testcases.md").read_text()
    for way in ("device", "ixit", "lab", "none"):
        row = re.search(rf"^\| {way} \| (\d+) \| (\d+) \|", docs, re.M)
        assert row and (int(row[1]), int(row[2])) == (
            cov["by_kind"]["conceptual"].get(way, 0), f.get(way, 0)), way
    assert f"({cov['functional_automated_pct']} %)" in docs


def _judge(test, **answers):
    ixit = Ixit.model_validate(answers)
    ev = Evidence()
    test(SimpleNamespace(profile=SimpleNamespace(ixit=ixit)), ev)
    return ev


def _ixit_tests():
    import sys
    load_specs()                 # the suite's modules, loaded as the runner loads them
    return sys.modules["_harness_suite_test_ixit"]


GOOD_AUTH = {"password_mechanism": "unique_per_device", "password_generation": "random",
             "brute_force_protection": "lockout"}


def test_password_design_judged_on_its_content():
    t = _ixit_tests().test_password_design
    assert _judge(t, auth_mech=GOOD_AUTH).declared_reason
    with pytest.raises(Failed, match="universal default password"):
        _judge(t, auth_mech={**GOOD_AUTH, "password_mechanism": "same_for_all"})
    with pytest.raises(Failed, match="whoever reads the serial or MAC"):
        _judge(t, auth_mech={**GOOD_AUTH, "password_generation": "derived_from_identifier"})
    with pytest.raises(Failed, match="nothing stops guessing"):
        _judge(t, auth_mech={**GOOD_AUTH, "brute_force_protection": "none"})
    with pytest.raises(NotRun, match="owed: auth_mech.password_generation"):
        _judge(t, auth_mech={**GOOD_AUTH, "password_generation": None})
    # a user-defined password needs no generation answer
    assert _judge(t, auth_mech={"password_mechanism": "user_defined_at_setup",
                                "brute_force_protection": "rate_limit"}).declared_reason
    with pytest.raises(NotApplicable):
        _judge(t, auth_mech={"password_mechanism": "no_passwords"})
    with pytest.raises(NotRun, match="owed: auth_mech.password_mechanism"):
        _judge(t)


def test_update_design_judged_on_its_content():
    t = _ixit_tests().test_update_design
    good = {"authenticity": "signature_verified_on_device",
            "trust_relation": "authenticated_server"}
    assert _judge(t, upd_mech=good).declared_reason
    with pytest.raises(Failed, match="installs whatever the channel delivers"):
        _judge(t, upd_mech={**good, "authenticity": "channel_only"})
    with pytest.raises(NotRun, match="owed: upd_mech.trust_relation"):
        _judge(t, upd_mech={"authenticity": "signature_verified_on_device"})


def test_a_unit_is_assessed_exactly_one_way():
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="one way"):
        ts103701.Unit.model_validate({"device": ["TC-CRED-01"], "lab": "ui"})
    with pytest.raises(ValidationError, match="one way"):
        ts103701.Unit.model_validate({})


def test_the_ics_decides_what_applies_and_a_mandatory_provision_not_supported_fails():
    run = {"devices": [{"name": "d", "results": [], "ics": {
        "ETSI-5.3-14": {"status": "not_applicable", "justification": "updatable"},
        "ETSI-5.3-12": {"status": "not_supported", "justification": "no user interface"},
        "ETSI-5.4-1": {"status": "not_supported", "justification": "cost"}}}]}
    cases = {c["id"]: c for c in ts103701.view(run)["cases"]}
    assert cases["5.3-14-2"]["verdicts"]["d"] == "NOT_APPLICABLE"
    unit = cases["5.3-14-1"]["units"][0]["outcomes"]["d"]
    assert unit == {"verdict": "NOT_APPLICABLE", "why": "ICS: not applicable: updatable"}
    assert cases["5.3-12-1"]["verdicts"]["d"] == "NOT_APPLICABLE"      # a recommendation
    assert cases["5.4-1-2"]["verdicts"]["d"] == "FAIL"                 # mandatory
    assert "mandatory provision not supported: cost" in \
        cases["5.4-1-1"]["units"][0]["outcomes"]["d"]["why"]
    assert cases["5.4-2-2"]["verdicts"]["d"] != "FAIL"                 # the ICS is silent


def test_ics_template_lists_every_provision_and_guesses_nothing(tmp_path):
    from harness.ics import template
    from harness.profile.loader import load_type
    t = tmp_path / "t.yaml"
    t.write_text("vendor: V\nmodel: M\nfirmware_version: '1'\ncategory: router\n"
                 "declarations:\n  ETSI-5.3-15: {applies: false, justification: updatable}\n"
                 "ics:\n  ETSI-5.1-1: {status: supported}\n")
    text = template(load_type(t))
    rows = [x for x in text.splitlines() if x.startswith("  ETSI-")]
    assert len(rows) == 67
    assert 'ETSI-5.1-1: {status: "supported"}' in text
    assert 'ETSI-5.3-15: {status: "not_applicable", justification: "updatable"}' in text
    assert sum('{status: "owed"}' in x for x in rows) == 65
    # the vendor's answers go back into the type: owed is refused, as is an unknown id
    from harness.errors import InputError
    t.write_text(t.read_text() + "  ETSI-5.2-1: {status: owed}\n")
    with pytest.raises(InputError) as exc:
        load_type(t)
    assert exc.value.field.startswith("ics.ETSI-5.2-1") and exc.value.line == 9


def test_ics_entries_need_a_justification_and_a_known_provision(tmp_path):
    from harness.errors import InputError
    from harness.profile.loader import load_type
    base = "vendor: V\nmodel: M\nfirmware_version: '1'\ncategory: router\nics:\n"
    for entry, field in (("  ETSI-5.3-14: {status: not_applicable}\n", "ics.ETSI-5.3-14"),
                         ("  ETSI-9.9-9: {status: supported}\n", "ics.ETSI-9.9-9")):
        t = tmp_path / "t.yaml"
        t.write_text(base + entry)
        with pytest.raises(InputError) as exc:
            load_type(t)
        assert exc.value.field == field and exc.value.line == 6, exc.value.render()


def _etsi(run: dict) -> dict:
    from harness.catalog import scheme_views
    return {q["id"]: q for s in scheme_views(run) if s["scheme"] == "etsi-en-303-645"
            for q in s["requirements"]}


def test_the_ics_decides_the_en_303_645_requirements_too_unless_the_unit_showed_a_problem():
    fail = {"test_id": "TC-UPD-01", "verdict": "FAIL", "reason": "plain HTTP",
            "requirements": ["ETSI-5.3-7"], "evaluated": "device"}
    run = {"devices": [{"name": "d", "results": [fail], "ics": {
        "ETSI-5.3-14": {"status": "not_applicable", "justification": "updatable"},
        "ETSI-5.3-7": {"status": "not_applicable", "justification": "no updates"},
        "ETSI-5.4-1": {"status": "not_supported", "justification": "cost"}}}]}
    etsi = _etsi(run)
    assert etsi["ETSI-5.3-14"]["verdicts"]["d"] == "NOT_APPLICABLE"
    assert etsi["ETSI-5.3-14"]["ics"]["d"] == "ICS: not applicable: updatable"
    assert etsi["ETSI-5.4-1"]["verdicts"]["d"] == "FAIL"
    assert etsi["ETSI-5.3-7"]["verdicts"]["d"] == "FAIL"       # the unit's evidence stands
    assert "d" not in etsi["ETSI-5.3-7"]["ics"]
    # the TS view reads the same decision: 5.3-7's units are not made not applicable
    cases = {c["id"]: c for c in ts103701.view(run)["cases"]}
    assert cases["5.3-14-1"]["verdicts"]["d"] == "NOT_APPLICABLE"
    assert cases["5.3-7-1"]["verdicts"]["d"] == "NOT_RUN"     # the lab's review, still owed


def test_a_declaration_that_a_provision_does_not_apply_is_the_ics_answer(tmp_path):
    from harness.errors import InputError
    from harness.profile.loader import load_type
    base = ("vendor: V\nmodel: M\nfirmware_version: '1'\ncategory: router\n"
            "declarations:\n  ETSI-5.3-15: {applies: false, justification: updatable}\n")
    t = tmp_path / "t.yaml"
    t.write_text(base)
    entry = load_type(t).ics["ETSI-5.3-15"]
    assert (entry.status, entry.justification) == ("not_applicable", "updatable")
    t.write_text(base + "ics:\n  ETSI-5.3-15: {status: supported}\n")
    with pytest.raises(InputError) as exc:                   # two answers that disagree
        load_type(t)
    assert exc.value.field == "ics" and "give one answer" in exc.value.render()


def test_a_declaration_on_file_marks_the_provisions_its_result_evidences():
    """Read from the result's requirements, not its id: a named declaration (TC-DECL-01,
    the disclosure policy) counts for every provision it evidences."""
    ok = {"test_id": "TC-DECL-01", "verdict": "DECLARED", "reason": "declared",
          "requirements": ["ETSI-5.2-1", "JCSTAR-S1.2-1"], "evaluated": "documents"}
    run = {"devices": [{"name": "d", "results": [ok], "ics": {}}]}
    units = {u["id"]: u for c in ts103701.view(run)["cases"] for u in c["units"]}
    conceptual = [u for uid, u in units.items() if uid.startswith("5.2-1-")
                  and u["kind"] == "conceptual" and u["lab"] == "review"]
    assert conceptual and all(u["outcomes"]["d"]["verdict"] == "DECLARED" for u in conceptual)
    run["devices"][0]["results"] = []
    units = {u["id"]: u for c in ts103701.view(run)["cases"] for u in c["units"]}
    assert all(units[u["id"]]["outcomes"]["d"]["verdict"] == "NOT_RUN" for u in conceptual)
