"""Evidence bundles (sign, verify, name every altered/missing/added file) and the
surveillance diff, on run directories built here (the lab runs are tested elsewhere)."""
import copy
import io
import json
import tarfile

from tests.conftest import cli

RUN = {"run_id": "r1", "devices": [{
    "name": "cam-7", "identity": {"firmware_version": "1.0.0"}, "results": [
        {"test_id": "TC-SURF-01", "verdict": "PASS", "reason": "", "evidence": [
            {"check": "open ports on 198.18.0.5", "observed": {
                "address": "198.18.0.5", "tcp_open": {"22": "ssh"}, "udp_open": {}}}]},
        {"test_id": "TC-CRED-01", "verdict": "PASS", "reason": "", "evidence": [
            {"check": "online tries", "observed": 6}]}]}],
    "schemes": [{"scheme": "jcstar-l1", "requirements": [
        {"id": "JCSTAR-S1.1-13", "verdicts": {"cam-7": "PASS"}}]}]}


def _run_dir(path, run=RUN):
    (path / "artifacts" / "cam-7").mkdir(parents=True)
    (path / "run.json").write_text(json.dumps(run))
    (path / "journal.jsonl").write_text('{"type": "run-start"}\n')
    (path / "artifacts" / "cam-7" / "nmap.xml").write_text("<nmaprun/>")
    (path / ".pytest-tmp").mkdir()
    (path / ".pytest-tmp" / "scratch").write_text("not evidence")
    return path


def _rewrite(bundle, out, change):
    """Copy a bundle member by member; change(name, data) -> new data or None (drop)."""
    with tarfile.open(bundle, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for m in src:
            data = change(m.name, src.extractfile(m).read())
            if data is not None:
                m.size = len(data)
                dst.addfile(m, io.BytesIO(data))
        extra = change("<add>", b"")
        if extra:
            info = tarfile.TarInfo("run/artifacts/cam-7/planted.txt")
            info.size = len(extra)
            dst.addfile(info, io.BytesIO(extra))


def test_bundle_verifies_and_names_every_tampered_file(tmp_path):
    run = _run_dir(tmp_path / "run")
    key = tmp_path / "lab.key"
    assert cli("keygen", key).returncode == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert cli("keygen", key).returncode == 2          # never overwrites a key
    proc = cli("bundle", run, "--key", key, "--out", tmp_path / "b.tgz")
    assert proc.returncode == 0, proc.stderr
    assert "3 files" in proc.stdout                         # .pytest-tmp is not evidence
    fp = (tmp_path / "lab.key.pub").read_text().strip()
    ok = cli("verify", tmp_path / "b.tgz", "--key", fp)
    assert ok.returncode == 0 and "signature valid" in ok.stdout, ok.stdout

    def tamper(name, data):
        if name == "run/run.json":
            return data.replace(b'"PASS"', b'"FAIL"', 1)       # altered
        if name == "run/journal.jsonl":
            return None                                      # missing
        if name == "<add>":
            return b"planted"                                # added
        return data
    _rewrite(tmp_path / "b.tgz", tmp_path / "t.tgz", tamper)
    bad = cli("verify", tmp_path / "t.tgz")
    assert bad.returncode == 1 and "NOT VERIFIED" in bad.stdout
    assert "altered: run.json" in bad.stdout and "missing: journal.jsonl" in bad.stdout
    assert "added: artifacts/cam-7/planted.txt" in bad.stdout
    # a re-written manifest without the lab's key: the signature fails
    _rewrite(tmp_path / "b.tgz", tmp_path / "m.tgz",
             lambda n, d: d.replace(b"journal.jsonl", b"journal.jsonX") if n == "MANIFEST.json"
             else (None if n == "<add>" else d))
    forged = cli("verify", tmp_path / "m.tgz")
    assert forged.returncode == 1 and "signature INVALID" in forged.stdout
    # signed, but by another key than the one the verifier expects
    other = tmp_path / "other.key"
    cli("keygen", other)
    cli("bundle", run, "--key", other, "--out", tmp_path / "o.tgz")
    pinned = cli("verify", tmp_path / "o.tgz", "--key", fp)
    assert pinned.returncode == 1 and "another key" in pinned.stdout
    junk = tmp_path / "junk.tgz"
    junk.write_text("not a tar")
    proc = cli("verify", junk)
    assert proc.returncode == 2 and "junk.tgz" in proc.stderr and "Traceback" not in proc.stderr


def test_bundle_needs_a_key_and_a_run(tmp_path):
    proc = cli("bundle", tmp_path)
    assert proc.returncode == 2 and "signing_key" in proc.stderr
    cli("keygen", tmp_path / "k")
    proc = cli("bundle", tmp_path, "--key", tmp_path / "k")
    assert proc.returncode == 2 and "no run.json" in proc.stderr


def test_diff_flags_new_ports_and_worse_verdicts(tmp_path):
    old = _run_dir(tmp_path / "old")
    same = cli("diff", old, old)
    assert same.returncode == 0 and "cam-7: no change" in same.stdout
    run = copy.deepcopy(RUN)
    run["run_id"] = "r2"
    dev = run["devices"][0]
    dev["identity"]["firmware_version"] = "1.1.0"
    surf = dev["results"][0]
    surf.update(verdict="FAIL", reason="undeclared open ports: 198.18.0.5 tcp/23 (telnet)")
    surf["evidence"][0]["observed"]["tcp_open"]["23"] = "telnet"
    dev["results"][1]["evidence"][0]["observed"] = 5
    run["schemes"][0]["requirements"][0]["verdicts"]["cam-7"] = "FAIL"
    new = _run_dir(tmp_path / "new", run)
    proc = cli("diff", old, new, "--html", tmp_path / "d.html")
    assert proc.returncode == 1, proc.stdout
    out = proc.stdout
    assert "REGRESSION new open port 198.18.0.5 tcp/23" in out
    assert "REGRESSION TC-SURF-01: PASS -> FAIL" in out
    assert "REGRESSION JCSTAR-S1.1-13: PASS -> FAIL" in out
    assert "firmware read from the device: 1.0.0 -> 1.1.0" in out
    assert "TC-CRED-01: same verdict PASS, evidence differs: online tries" in out
    assert "regression: new open port" in (tmp_path / "d.html").read_text()
    # an improvement alone is not a regression
    back = cli("diff", new, old)
    assert back.returncode == 0 and "changed    TC-SURF-01: FAIL -> PASS" in back.stdout
    proc = cli("diff", old, tmp_path / "nowhere")
    assert proc.returncode == 2 and "nowhere" in proc.stderr
