"""Pure logic: verdict rules, catalogs, redaction, parsing. Fakes are fine here."""
import json

import pytest

from harness import catalog
from harness.emulate import profiles, variants
from harness.model import Evidence, Failed, Verdict
from harness.model.verdict import Result
from harness.probe import bruteforce, exposure, storage
from harness.probe.credentials import candidates, load_list
from harness.suite import load_specs
from harness.transport.telnet import DO, ECHO, IAC, SGA, TelnetConsole, WILL
from harness.transport.transcript import Redactor


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
])
def test_scheme_verdict_rule(verdicts, has_tests, expected):
    assert catalog.derive(verdicts, has_tests) == expected


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
                 if not any(t in specs for t in r.test_cases)}
    assert uncovered == set()
    rows = {r["scheme"]: r for r in catalog.coverage(specs)}
    assert rows["jcstar-l1"]["probe_verified"] >= 12


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
    for v in variants.VARIANTS:
        path = profiles.PROFILE_DIR / f"{v.name}.yaml"
        assert path.read_text() == profiles.render(v), f"regenerate {path}"


def test_redactor_objects():
    r = Redactor(["topsecret", "ab"])            # too short to redact safely: ignored
    assert r.obj({"a": ["x topsecret y", 3], "b": "ab"}) == {"a": ["x *** y", 3], "b": "ab"}


def test_credential_candidates_capped_per_account():
    from harness.profile.schema import KnownCredential

    class P:
        default_credentials = [KnownCredential(username="admin", password="v3ndor", source="doc")]
    c = candidates(P, load_list(), per_account=2)
    assert c[0].password == "v3ndor"                            # vendor default first
    per = {}
    for e in c[1:]:
        per[e.username] = per.get(e.username, 0) + 1
    assert max(per.values()) <= 2


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


def test_telnet_negotiation():
    class FakeSock:
        sent = b""

        def sendall(self, data):
            self.sent += data
    t = TelnetConsole.__new__(TelnetConsole)
    t.sock, t._pending = FakeSock(), b""
    data = bytes([IAC, WILL, ECHO, IAC, DO, 24]) + b"login: " + bytes([IAC, IAC])
    assert t._negotiate(data[:2]) == b""                       # split command is kept
    assert t._negotiate(data[2:]) == b"login: " + bytes([IAC])
    assert t.sock.sent == bytes([IAC, DO, ECHO, IAC, 252, 24])  # DO ECHO, WONT TTYPE
    assert t._negotiate(bytes([IAC, WILL, SGA])) == b""


def test_journal_survives_a_torn_line(tmp_path):
    from harness.report.writer import build_run
    from harness.run import Journal
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
        assert [p.get("value") for p in case.find("properties")] == result["requirements"]


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
