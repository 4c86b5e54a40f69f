"""Pure logic: verdict rules, catalogs, redaction, parsing. Fakes are fine here."""
import json

import pytest

from harness import catalog
from harness.emulate import profiles, variants
from harness.model import Evidence, Failed, Verdict
from harness.model.verdict import Result
from harness.probe import bruteforce, exposure, storage
from harness.probe.credentials import candidates, load_list
from harness.runner.suite import load_specs
from harness.redact import Redactor


@pytest.mark.parametrize("verdicts,has_tests,expected", [
    (["PASS", "PASS"], True, "PASS"),
    (["PASS", "FAIL"], True, "FAIL"),
    (["PASS", "ERROR"], True, "ERROR"),
    (["INCONCLUSIVE", "PASS"], True, "INCONCLUSIVE"),
    (["DECLARED"], True, "DECLARED"),
    (["DECLARED", "PASS"], True, "PASS"),
    (["NOT_APPLICABLE"], True, "NOT_APPLICABLE"),
    ([], True, "NOT_APPLICABLE"),
    ([], False, "UNCOVERED"),
    (["FAIL", "ERROR"], True, "FAIL"),
    (["PASS", "NOT_RUN"], True, "NOT_RUN"),          # never PASS with a test case unrun
    (["NOT_RUN", "NOT_APPLICABLE"], True, "NOT_RUN"),
    (["DECLARED", "NOT_RUN"], True, "NOT_RUN"),
    (["NOT_RUN", "FAIL"], True, "FAIL"),
    (["INCONCLUSIVE", "NOT_RUN"], True, "INCONCLUSIVE"),
])
def test_scheme_verdict_rule(verdicts, has_tests, expected):
    assert catalog.derive(verdicts, has_tests) == expected


def test_untested_part_or_unconfirmed_topic_is_never_pass():
    assert catalog.derive(["PASS"], True, untested_parts=["vulnerability scan"]) == "NOT_RUN"
    assert catalog.derive(["FAIL"], True, untested_parts=["x"]) == "FAIL"
    assert catalog.derive([], False, topic_confirmed=False) == "UNCONFIRMED"


def test_scheme_view_counts_a_missing_result_as_not_run():
    run = {"devices": [{"name": "d1", "results": [
        {"test_id": "TC-SURF-01", "verdict": "PASS", "reason": ""}]}]}
    views = {v["scheme"]: {q["id"]: q for q in v["requirements"]}
             for v in catalog.scheme_views(run)}
    s13 = views["jcstar-l1"]["JCSTAR-S1.1-13"]      # TC-SURF-02, TC-VULN-01 absent; no
    assert s13["verdicts"]["d1"] == "NOT_RUN"        # probe for Bluetooth/USB
    assert any("TC-SURF-02: not in this run" in w for w in s13["not_tested"]["d1"])
    assert any("TC-VULN-01: not in this run" in w for w in s13["not_tested"]["d1"])
    assert any("Bluetooth and USB" in w for w in s13["not_tested"]["d1"])
    assert views["jcstar-l1"]["JCSTAR-S1.1-09"]["verdicts"]["d1"] == "UNCONFIRMED"
    gaps = catalog.not_fully_tested(catalog.scheme_views(run))["d1"]
    assert {"scheme": "jcstar-l1", "id": "JCSTAR-S1.1-13"} in [
        {k: g[k] for k in ("scheme", "id")} for g in gaps]


def test_jcstar_catalog_follows_the_reference():
    """shared/REFERENCE.md (corrected): ids without a confirmed topic carry no test case;
    the others follow its table and say where the mapping comes from."""
    jc = {r.id: r for c in catalog.catalogs() if c.scheme == "jcstar-l1" for r in c.requirements}
    assert len(jc) == 16
    for rid in ("JCSTAR-S1.1-09", "JCSTAR-S1.1-14", "JCSTAR-S1.1-15"):
        assert not jc[rid].topic_confirmed and not jc[rid].test_cases
    assert "TC-UPD-02" in jc["JCSTAR-S1.1-08"].test_cases            # update integrity
    assert jc["JCSTAR-S1.1-11"].test_cases == ["TC-STORE-01"]         # secure storage
    assert {"TC-SURF-01", "TC-SURF-02"} <= set(jc["JCSTAR-S1.1-13"].test_cases)
    assert "TC-DEBUG-01" not in {t for r in jc.values() for t in r.test_cases}
    assert all(r.source for r in jc.values())
    assert not any(jc[f"JCSTAR-S1.1-0{i}"].provisional for i in range(1, 6))
    assert all(jc[f"JCSTAR-S1.1-{i:02d}"].provisional for i in range(6, 17))


def test_non_pass_needs_reason():
    with pytest.raises(ValueError):
        Result("TC-X", "d", ["ETSI-5.1-1"], Verdict.FAIL)
    assert Result("TC-X", "d", [], Verdict.PASS).reason == ""


def test_evidence_expect_raises_failed():
    ev = Evidence()
    assert ev.expect("a", True, 1, 1)
    with pytest.raises(Failed, match="reason here"):
        ev.expect("b", False, 1, 2, reason="reason here")
    assert [i["ok"] for i in ev.items] == [True, False]


def test_catalogs_and_test_cases_agree():
    specs = load_specs()
    assert catalog.check_consistency(specs) == []
    assert len(specs) >= 20


def test_every_requirement_has_a_test_case_or_a_declaration_check():
    specs = load_specs()
    uncovered = {r.id for c in catalog.catalogs() for r in c.requirements
                 if r.topic_confirmed and not any(t in specs for t in r.test_cases)}
    assert uncovered == set()
    rows = {r["scheme"]: r for r in catalog.coverage(specs)}
    assert rows["jcstar-l1"]["probe_verified"] >= 9
    assert rows["jcstar-l1"]["topic_unconfirmed"] == 3


def test_declaration_keys_are_checked(tmp_path):
    from harness.errors import InputError
    from harness.profile.loader import load_type
    t = tmp_path / "t.yaml"
    t.write_text("vendor: a\nmodel: b\nfirmware_version: '1'\ncategory: router\n"
                 "declarations:\n  ETSI-5.6-9: {statement: s, document: d}\n"
                 "  ETSI-9.9-9: {statement: s}\n")
    with pytest.raises(InputError) as exc:
        load_type(t)
    assert exc.value.field == "declarations.ETSI-9.9-9" and exc.value.line == 7


def test_emulated_profiles_in_sync_with_variants():
    # each unit its own link and address (router-mender was once given router-5's)
    indices = [v.index for v in variants.VARIANTS]
    assert len(indices) == len(set(indices)), sorted(indices)
    for v in variants.VARIANTS:
        path = profiles.PROFILE_DIR / f"{v.name}.yaml"
        assert path.read_text() == profiles.render(v), f"regenerate {path}"


def test_redactor_objects():
    r = Redactor(["topsecret", "ab"])            # a short secret is still a secret
    assert r.obj({"a": ["x topsecret y", 3], "b": "ab"}) == {"a": ["x *** y", 3], "b": "***"}


def test_redactor_grows_by_the_secrets_added_not_by_their_forms():
    """A run on a unit whose web UI hands out a token per login adds one secret per login:
    the forms were made again from the forms each time (x4.6 per token), and a transcript
    line took minutes to mask after a dozen logins."""
    r = Redactor(["s3cret-password"])
    tokens = [f"tok-{i:02d}-" + "q" * 30 for i in range(40)]
    for t in tokens:
        r.add(t)
        r.add(t)                                 # the same token again adds nothing
    assert len(r.secrets) <= 16 * (1 + len(tokens))
    line = " ".join(tokens) + " s3cret-password " + tokens[7].encode().hex()
    assert r(line) == " ".join(["***"] * (len(tokens) + 2))


def test_credential_candidates_capped_per_account():
    from harness.profile.schema import KnownCredential

    class P:
        default_credentials = [KnownCredential(username="admin", password="v3ndor", source="doc")]
        ssh = telnet = serial = mqtt = ftp = rtsp = snmp = tftp = remote_control = None
        web = []
    c = candidates(P, load_list(), per_account=2)
    assert c[0].password == "v3ndor"                            # vendor default first
    per = {}
    for e in c[1:]:
        per[e.username] = per.get(e.username, 0) + 1
    assert max(per.values()) <= 2
    assert set(per) == {"admin", "root"}          # other accounts: offline only


@pytest.mark.parametrize("stored,scheme", [("$6$abc$def", "sha512crypt"), ("$1$a$b", "md5crypt"),
                                           ("*", "locked"), ("abcdefghijklm", "descrypt"),
                                           ("hunter2", "plaintext-or-unknown"),
                                           ("$y$j9T$a$b", "yescrypt")])
def test_hash_schemes(stored, scheme):
    assert storage.scheme_of(stored) == scheme


def test_plaintext_detection_ignores_account_names():
    assert not storage.holds_plaintext("admin:$6$salt$hash\n", "admin")
    assert storage.holds_plaintext("admin:admin\n", "admin")
    assert storage.holds_plaintext("admin=Very-Long-Secret\n", "Very-Long-Secret")
    assert storage.holds_plaintext('{"pw": "x Very-Long-Secret"}', "Very-Long-Secret")


def test_exposure_findings():
    seen = [{"where": "a", "text": "firmware 2.4.1 wifi psk: abcdefgh"},
            {"where": "b", "text": "SSH-2.0-dropbear_2022.83 build 12.4.10"}]
    found = exposure.findings(seen, "2.4.1")
    assert {(f["where"], f["reveals"]) for f in found} == {
        ("a", "firmware version 2.4.1"), ("a", "Wi-Fi passphrase")}
    assert exposure.findings(seen[1:], "2.4.1") == []


def test_bruteforce_judgement():
    flat = [{"try": i, "outcome": "refused", "seconds": 0.4} for i in range(12)]
    assert not bruteforce.throttled(flat, 0.5)["throttled"]
    locked = flat[:8] + [{"try": 9, "outcome": "no answer", "seconds": 5.0}]
    assert bruteforce.throttled(locked, 0.5)["throttled"]
    tarpit = flat[:8] + [{"try": 9, "outcome": "refused", "seconds": 20.0}]
    assert bruteforce.throttled(tarpit, 0.5)["slowed"]


def test_journal_survives_a_torn_line(tmp_path):
    from harness.report.writer import build_run
    from harness.runner.context import Journal
    j = Journal(tmp_path / "journal.jsonl")
    j.append({"type": "run-start", "run_id": "r", "started": "t", "lab": {}, "operator": "o",
              "allow_destructive": False, "selection": "", "tools": {},
              "devices": [{"name": "d", "profile": "p", "profile_sha256": "h", "vendor": "v",
                           "model": "m", "category": "router", "declared_firmware": "1"}]})
    j.append({"type": "result", **Result("TC-ID-01", "d", ["ETSI-5.3-16"], Verdict.PASS)
              .to_dict()})
    with open(j.path, "a") as fh:
        fh.write('{"type": "result", "test_id": "TC-')         # killed mid-write
    run = build_run(j.events())
    assert run["complete"] is False
    assert [r["test_id"] for r in run["devices"][0]["results"]] == ["TC-ID-01"]
    json.dumps(run)


def test_scope_resolves_names_and_refuses_outside():
    from harness.errors import ScopeError
    from harness.lab.scope import Scope
    s = Scope(["198.18.0.0/24"])
    assert s.check("198.18.0.11") == "198.18.0.11"
    for bad in ("198.18.1.1", "127.0.0.1", "localhost", "::1"):
        with pytest.raises(ScopeError):
            s.check(bad)


def test_published_json_schemas_are_current():
    from harness.profile.schema import DeviceProfile, DeviceType
    from tests.conftest import REPO
    for name, model in (("instance", DeviceProfile), ("type", DeviceType)):
        published = json.loads((REPO / "device_profiles" / f"{name}.schema.json").read_text())
        assert published == model.model_json_schema(), f"regenerate {name}.schema.json"


def test_junit_carries_verdict_and_requirements():
    import xml.etree.ElementTree as ET
    from harness.report import junit
    result = {"test_id": "TC-X-01", "title": 'odd "title" <with> & marks', "duration_s": 0.1,
              "evidence": [], "verdict": "INCONCLUSIVE", "reason": "no <answer>",
              "requirements": ["ETSI-5.1-1", "JCSTAR-S1.1-02"]}
    run = {"started": "2026-01-01T00:00:00+00:00",
           "devices": [{"name": n, "profile_sha256": "x", "vendor": "v", "model": "m",
                        "results": [dict(result)]} for n in ("a", "a-b")]}
    root = ET.fromstring(junit.render(run).split("?>", 1)[1])
    cases = {c.get("classname"): c for c in root.iter("testcase")}
    assert set(cases) == {"a.TC-X-01", "a-b.TC-X-01"}
    for case in cases.values():
        assert case.get("verdict") == "INCONCLUSIVE" and case.find("error") is not None
        props = [(p.get("name"), p.get("value")) for p in case.find("properties")]
        assert props == [("evaluated", "device")] + [("requirement", q)
                                                     for q in result["requirements"]]


@pytest.mark.parametrize("algorithm,response", [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")])
def test_digest_authorization_rfc7616_vectors(algorithm, response):
    """RFC 7616 section 3.9.1: the response values the RFC publishes."""
    from harness.transport.http import digest_authorization
    challenge = (f'Digest realm="http-auth@example.org", qop="auth, auth-int", '
                 f'algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
                 'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    header = digest_authorization(challenge, "GET", "/dir/index.html", "Mufasa",
                                  "Circle of Life",
                                  cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    assert f'response="{response}"' in header
    assert "qop=auth," in header and 'opaque="FQhe' in header


def test_recovers_reports_a_lockout_only_when_the_first_valid_login_fails():
    first_ok = iter([True])
    assert bruteforce.recovers(lambda: next(first_ok), window=5, step=0.01)[::2] == (True, False)
    later = iter([False, False, True])
    assert bruteforce.recovers(lambda: next(later), window=5, step=0.01)[::2] == (True, True)
    assert bruteforce.recovers(lambda: False, window=0.05, step=0.01)[::2] == (False, True)


def test_password_policy_offline():
    """The lab-given password is checked against the whole list and the policy, without a
    packet; findings never carry the password itself."""
    from types import SimpleNamespace
    from harness.probe import password_policy as pp
    known = load_list()
    blocked = pp.blocklist()
    prof = SimpleNamespace(serial_number="EMU-004711", mac="02:00:5e:00:00:0a",
                           vendor="Emulab", model="ER-100")
    deep = next(i for i, e in enumerate(known) if e.password == "7ujMko0admin")
    assert deep > 10                          # beyond any online per-account limit
    rules = pp.weaknesses("7ujMko0admin", "admin", prof, known, blocked)
    assert any("known-credential list" in r and f"entry {deep + 1}" in r for r in rules)
    assert all("7ujMko0admin" not in r for r in rules)
    assert any("blocklist" in r for r in pp.weaknesses("letmein", "admin", prof, [], blocked))
    assert any("serial" in r for r in pp.weaknesses("x004711y!Q", "a", prof, [], blocked))
    assert any("shorter" in r for r in pp.weaknesses("Xy7!", "a", prof, [], blocked))
    assert any("user name" in r for r in pp.weaknesses("operator1", "operator1", prof, [], blocked))
    assert any("sequence" in r for r in pp.weaknesses("abcdefgh", "a", prof, [], blocked))
    assert pp.weaknesses("kT9-vQ2m_Lp4Zx", "admin", prof, known, blocked) == []


def test_resume_plan_from_a_journal(tmp_path):
    from harness.runner import resume
    from harness.errors import InputError
    from harness.profile.loader import load_profile
    from tests.unit.test_bad_input import write
    unit = write(tmp_path)
    _p, digest = load_profile(unit)
    out = tmp_path / "run"
    out.mkdir()
    events = [{"type": "run-start", "run_id": "r1", "lab": {"config": None},
               "allow_destructive": False, "selection": "TC-X",
               "devices": [{"name": "unit-1", "profile": str(unit), "profile_sha256": digest}]},
              {"type": "test-start", "device": "unit-1", "test_id": "TC-A"},
              {"type": "result", "device": "unit-1", "test_id": "TC-A", "verdict": "PASS"},
              {"type": "test-start", "device": "unit-1", "test_id": "TC-B"}]
    (out / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events)
                                       + '{"type": "res')        # torn by the kill
    p = resume.plan(out)
    assert p.run_id == "r1" and p.selection == "TC-X" and p.profiles == [str(unit)]
    assert p.done == {("unit-1", "TC-A")} and p.interrupted == [("unit-1", "TC-B")]
    unit.write_text(unit.read_text() + "# changed\n")
    with pytest.raises(InputError, match="profile changed"):
        resume.plan(out)
    with open(out / "journal.jsonl", "a") as fh:
        fh.write('\n{"type": "run-end", "ended": "x"}\n')
    with pytest.raises(InputError, match="nothing to resume"):
        resume.plan(out)
