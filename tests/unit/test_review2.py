"""Findings of the second security review, each reproduced offline (no network: files,
socketpairs, the lab's own addresses) and now refused: bundles that verified while lying,
verification without a trusted key, scope by whole network, masking of encoded
credentials, a tool that deleted files it did not write, the pytest path's tracebacks,
hostile feeds and coordinator output, terminal escapes, slow YAML."""
import base64
import io
import json
import os
import resource
import tarfile
import time

import pytest

from harness.errors import InputError, ScopeError
from harness.lab.scope import Scope
from harness.redact import Redactor
from tests.conftest import cli, harness
from tests.unit.test_bad_input import LAB, write
from tests.unit.test_bundle_diff import _run_dir


# ---- evidence bundles
@pytest.fixture
def signed(tmp_path):
    run = _run_dir(tmp_path / "run")
    (run / "RECOVERY-cam-7.txt").write_text("the temporary password is hunter2\n")
    key = tmp_path / "lab.key"
    assert cli("keygen", key).returncode == 0
    assert cli("bundle", run, "--key", key, "--out", tmp_path / "b.tgz").returncode == 0
    return tmp_path / "b.tgz", (tmp_path / "lab.key.pub").read_text().strip(), key


def _repack(src, out, extra=(), drop=()):
    """The bundle's members, some dropped, plus `extra` TarInfo/data pairs."""
    with tarfile.open(src, "r:gz") as s, tarfile.open(out, "w:gz") as d:
        for m in s:
            if m.name not in drop:
                d.addfile(m, s.extractfile(m))
        for info, data in extra:
            d.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def _info(name, kind=tarfile.REGTYPE, size=0, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


@pytest.mark.parametrize("member", ["hardlink", "symlink", "duplicate", "top-level",
                                    "traversal", "directory"])
def test_a_bundle_with_any_odd_member_is_not_verified(signed, tmp_path, member):
    bundle, fp, _ = signed
    extra = {
        "hardlink": [(_info("run/extra.txt", tarfile.LNKTYPE, link="run/run.json"), None)],
        "symlink": [(_info("run/report2.html", tarfile.SYMTYPE, link="/etc/hostname"), None)],
        "duplicate": [(_info("MANIFEST.json", size=2), b"{}")],
        "top-level": [(_info("run.json", size=2), b"{}")],
        "traversal": [(_info("run/../../evil", size=1), b"x")],
        "directory": [(_info("run/logs", tarfile.DIRTYPE), None)],
    }[member]
    bad = _repack(bundle, tmp_path / "bad.tgz", extra)
    proc = cli("verify", bad, "--key", fp)
    assert proc.returncode == 1 and "NOT VERIFIED" in proc.stdout, proc.stdout
    assert "refused:" in proc.stdout


def test_a_large_member_is_hashed_too(signed, tmp_path):
    """A replaced member is checked whatever its size (it was skipped over 1 GiB)."""
    bundle, fp, _ = signed
    big = b"x" * (3 << 20)
    bad = _repack(bundle, tmp_path / "big.tgz", [(_info("run/run.json", size=len(big)), big)],
                  drop=("run/run.json",))
    proc = cli("verify", bad, "--key", fp)
    assert proc.returncode == 1 and "altered: run.json" in proc.stdout


def test_without_a_trusted_key_nothing_verifies(signed, tmp_path):
    bundle, fp, key = signed
    plain = cli("verify", bundle)
    assert plain.returncode == 1 and "signer unknown" in plain.stdout
    # a re-signed bundle with edited verdicts: valid signature, by a key nobody trusts
    other = tmp_path / "other.key"
    cli("keygen", other)
    run = tmp_path / "run"
    (run / "run.json").write_text((run / "run.json").read_text().replace("PASS", "FAIL"))
    cli("bundle", run, "--key", other, "--out", tmp_path / "forged.tgz")
    forged = cli("verify", tmp_path / "forged.tgz")
    assert forged.returncode == 1 and "signature valid" in forged.stdout
    assert "NOT VERIFIED" in forged.stdout
    # the lab config's trusted keys (and its own signing key) are trusted
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB + f"trusted_keys: ['{fp}']\n")
    assert cli("verify", bundle, "--lab", lab).returncode == 0
    lab.write_text(LAB + "signing_key: lab.key\n")
    assert cli("verify", bundle, "--lab", lab).returncode == 0
    assert cli("verify", tmp_path / "forged.tgz", "--lab", lab).returncode == 1


def test_recovery_files_stay_in_the_run_directory(signed):
    bundle, _, _ = signed
    with tarfile.open(bundle) as t:
        names = t.getnames()
        manifest = json.loads(t.extractfile("MANIFEST.json").read())
    assert not [n for n in names if "RECOVERY" in n] and "RECOVERY-cam-7.txt" not in \
        manifest["files"]


def test_extract_writes_only_what_verified_never_through_a_link(signed, tmp_path):
    bundle, fp, _ = signed
    dest = tmp_path / "unpacked"
    ok = cli("verify", bundle, "--key", fp, "--extract", dest)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads((dest / "run.json").read_text())["run_id"] == "r1"
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == \
        ["journal.jsonl", "nmap.xml", "run.json"]
    # a tampered bundle extracts nothing; a destination that is not new or empty is refused
    bad = _repack(bundle, tmp_path / "bad.tgz",
                  [(_info("run/x", tarfile.SYMTYPE, link="/etc/hostname"), None)])
    assert cli("verify", bad, "--key", fp, "--extract", tmp_path / "d2").returncode == 1
    assert not (tmp_path / "d2").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "run.json").symlink_to(tmp_path / "victim")
    proc = cli("verify", bundle, "--key", fp, "--extract", busy)
    assert proc.returncode == 2 and "new or empty" in proc.stderr
    assert not (tmp_path / "victim").exists()


def test_report_writing_replaces_a_link_never_writes_through_it(tmp_path):
    from harness.report import writer
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n")
    out = tmp_path / "run"
    out.mkdir()
    (out / "junit.xml").symlink_to(victim)
    writer.write_text(lambda t: t, out / "junit.xml", "<testsuites/>")
    assert victim.read_text() == "do not touch\n"
    assert not (out / "junit.xml").is_symlink()
    from harness.transport.transcript import Transcript
    (out / "t.log").symlink_to(victim)
    with pytest.raises(OSError):
        Transcript(out / "t.log").note("x", "y")
    assert victim.read_text() == "do not touch\n"


# ---- scope by whole network
@pytest.mark.parametrize("net", ["126.0.0.0/7", "128.0.0.0/1", "'8000::/1'", "'::ffff:0:0/96'",  # never sent: refused at lab-config load
                                 "'::ffff:127.0.0.1'", "224.0.0.0/3", "0.0.0.0/1"])  # never sent: refused at lab-config load
def test_an_allowlist_holding_a_forbidden_address_is_refused(tmp_path, net):
    unit = write(tmp_path, lab_text=LAB.replace("198.18.0.0/24", net))
    proc = cli("validate", tmp_path / "lab.yaml")
    assert proc.returncode == 2 and "not a device network" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert unit.exists()


@pytest.mark.parametrize("target", ["::ffff:127.0.0.1", "127.0.0.1", "::1", "0.0.0.0",  # never sent
                                    "255.255.255.255", "224.0.0.251", "ff02::1"])  # never sent: Scope.check only, no socket
def test_every_connect_refuses_loopback_and_friends_whatever_the_list(target):
    s = Scope(["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"], own={})  # a careless list; never sent: Scope only
    with pytest.raises(ScopeError):
        s.check(target)


def test_this_hosts_own_addresses_are_never_a_target():
    s = Scope(["198.18.0.0/24"], own={"198.18.0.1": "eth1"})
    with pytest.raises(ScopeError, match="this machine's own addresses"):
        s.check("198.18.0.1")
    assert s.check("198.18.0.9") == "198.18.0.9"
    assert s.check("::ffff:198.18.0.9") == "::ffff:198.18.0.9"     # judged as its IPv4


# ---- masking
def test_masking_covers_base64_hex_and_url_forms():
    pw = "Corr3ct-Horse!"
    r = Redactor([pw])
    for user in ("admin", "ad", "a", "operator7"):
        basic = base64.b64encode(f"{user}:{pw}".encode()).decode()
        shown = r(f"Authorization: Basic {basic}")
        assert basic not in shown and "***" in shown
    assert pw.encode().hex() not in r("hex " + pw.encode().hex())
    assert pw.encode().hex().upper() not in r("HEX " + pw.encode().hex().upper())
    assert "Corr3ct-Horse%21" not in r("url user=admin&pw=Corr3ct-Horse%21")
    assert r("nothing here QUJDREVG") == "nothing here QUJDREVG"
    # a two-character password is still masked, but its four hex digits are not: they
    # turned up by chance inside an image's SHA-256 in the matrix and mangled it
    short = Redactor(["]~"])
    digest = "f5f806f8570885739a35d7e37224eeb2eba3d1d3c54d6a014218b154213936ba"
    assert short(f"pw ]~ sha256 {digest}") == f"pw *** sha256 {digest}"


def test_the_pytest_path_shows_no_password_in_a_traceback(tmp_path):
    import subprocess
    import sys
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_leak.py").write_text(
        "from harness.model import testcase\n\n\n"
        "@testcase('TC-LEAK-01', 'leaks', requirements=['ETSI-5.1-1'])\n"
        "def test_leak(device, evidence):\n"
        "    secret = device.profile.ssh.password.get_secret_value()\n"
        "    assert secret == 'something else', f'the password is {secret}'\n")
    unit = write(tmp_path, instance_text=(
        "extends: type.yaml\nname: unit-1\naddress: 198.18.0.50\n"
        "ssh: {port: 22, username: admin, password: 'Leaky-Pa55word'}\n"))
    proc = subprocess.run([sys.executable, "-m", "pytest", str(suite), "-p", "no:cacheprovider",
                           "-l", "--tb=long", "--profile", str(unit), "--lab",
                           str(tmp_path / "lab.yaml"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=900,
                          cwd=str(tmp_path), env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    shown = proc.stdout + proc.stderr
    assert "test_leak" in shown and "1 failed" in shown, shown[-3000:]
    assert "Leaky-Pa55word" not in shown
    for f in (tmp_path / "out").rglob("*"):
        if f.is_file():
            assert b"Leaky-Pa55word" not in f.read_bytes(), f


# ---- the tool deletes only what it wrote
def test_vulndb_import_keeps_files_it_did_not_write(tmp_path):
    from tests.conftest import REPO
    db = tmp_path / "db"
    db.mkdir()
    (db / "notes.json").write_text('{"mine": true}')
    (db / "index.json.bak").write_text("x")
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB + f"vulnerabilities: {{database: {db}}}\n")
    feeds = sorted((REPO / "tests" / "data" / "vulnfeeds").glob("*.json"))
    for _ in range(2):                       # a re-import replaces its own files only
        proc = cli("vulndb", "import", "--lab", lab, *feeds)
        assert proc.returncode == 0, proc.stderr
    assert (db / "notes.json").read_text() == '{"mine": true}'
    stored = [p for p in db.glob("*.json") if p.name not in ("notes.json", "index.json")]
    assert len(stored) == len(json.loads((db / "index.json").read_text())["feeds"])
    index = json.loads((db / "index.json").read_text())
    index["feeds"][0]["stored"] = "../notes.json"               # an edited index
    (db / "index.json").write_text(json.dumps(index))
    proc = cli("vulndb", "import", "--lab", lab, feeds[0])
    assert proc.returncode == 2 and "damaged" in proc.stderr
    assert (db / "notes.json").exists()


def test_emulate_state_must_be_ours(tmp_path):
    foreign = tmp_path / "var" / "lib"
    foreign.mkdir(parents=True)
    (foreign / "dpkg").mkdir()
    proc = harness("emulate", "down", env={"HARNESS_EMULATE_STATE": str(foreign)})
    assert proc.returncode == 2 and "not made by `harness emulate`" in proc.stderr, proc.stderr
    assert (foreign / "dpkg").is_dir()


# ---- hostile input
@pytest.mark.parametrize("feed,field", [
    ({"vulnerabilities": [{"cve": {"id": "CVE-1", "descriptions": 5}}]}, "vulnerabilities[0]"),
    ({"vulnerabilities": [{"cve": {"id": "CVE-1", "configurations": [{"nodes": [
        {"cpeMatch": [{"vulnerable": True, "criteria": 7}]}]}]}}]}, "vulnerabilities[0]"),
    ([{"id": "OSV-1", "affected": [{"package": {"name": ["x"]}}]}], "[0]"),
    ([{"id": "OSV-1", "aliases": [{"x": 1}]}], "[0]"),
])
def test_malformed_feed_entries_are_named(tmp_path, feed, field):
    f = tmp_path / "feed.json"
    f.write_text(json.dumps(feed))
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB + f"vulnerabilities: {{database: {tmp_path / 'db'}}}\n")
    proc = cli("vulndb", "import", "--lab", lab, f)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert field in proc.stderr


def test_deep_and_large_feeds_are_bounded(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"vulnerabilities": [{"cve": {"id": "CVE-1", "x": '
                    + "[" * 200_000 + "]" * 200_000 + "}}]}")
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB + f"vulnerabilities: {{database: {tmp_path / 'db'}}}\n")
    proc = cli("vulndb", "import", "--lab", lab, deep)
    assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    # a large NVD feed is read as a stream: memory stays far below the file's tree
    entry = {"cve": {"id": "CVE-2020-0001", "descriptions": [{"lang": "en", "value": "x" * 200}],
                     "configurations": [{"nodes": [{"cpeMatch": [
                         {"vulnerable": True, "criteria": "cpe:2.3:a:v:p:1.0:*:*:*:*:*:*:*"}]}]}]}}
    big = tmp_path / "nvd.json"
    with open(big, "w") as fh:
        fh.write('{"format": "NVD_CVE", "timestamp": "2026-01-01", "vulnerabilities": [')
        fh.write(",".join(json.dumps(entry) for _ in range(120_000)))
        fh.write("]}")
    assert big.stat().st_size > 40 << 20
    import subprocess
    import sys
    code = ("import resource, sys; from pathlib import Path; from harness.vuln import db;"
            f"db.import_files(Path({str(tmp_path / 'db2')!r}), [Path({str(big)!r})]);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) < 600, out.stdout          # MiB peak


def test_hostile_coordinator_output_is_the_places_error():
    from harness.lab.labgrid import PlaceError, parse_show
    deep = "Acquired resource 'x' (a/b/NetworkSerialPort/p):\n  " + "[" * 100_000 + "\n"
    with pytest.raises(PlaceError, match="nested too deeply|more than"):
        parse_show(deep)
    with pytest.raises(PlaceError, match="more than"):
        parse_show("x" * (2 << 20))
    ok = parse_show("Acquired resource 'p' (a/b/NetworkSerialPort/p):\n  {'cls': "
                    "'NetworkSerialPort', 'params': {'host': '198.18.0.3', 'port': 1, "
                    "'extra': {'nested': 1}}}\n")
    assert ok == {"NetworkSerialPort": [{"host": "198.18.0.3", "port": 1}]}


def test_device_strings_reach_the_terminal_without_escapes(tmp_path):
    from harness.termsafe import clean
    assert clean("a\x1b]0;pwned\x07b\x1b[2Jc\x9bd\te\n") == "a?b?c?d\te\n"
    from tests.unit.test_bundle_diff import RUN
    import copy
    run = copy.deepcopy(RUN)
    run["devices"][0]["identity"]["firmware_version"] = "1.1\x1b]0;owned\x07\x1b[2J"
    old = _run_dir(tmp_path / "old")
    new = _run_dir(tmp_path / "new", run)
    proc = cli("diff", old, new)
    assert "firmware read from the device: 1.0.0 -> 1.1??" in proc.stdout, proc.stdout
    assert "\x1b" not in proc.stdout


def test_a_large_alias_free_yaml_list_is_refused_quickly(tmp_path):
    from harness import yamlsrc
    big = tmp_path / "list.yaml"
    big.write_text("credentials:\n" + "".join(f"- {i}\n" for i in range(120_000)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(InputError, match="more than 50000 values"):
        yamlsrc.load(big)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 << 10   # KiB


def test_a_trickled_ftp_banner_ends_at_the_whole_deadline(monkeypatch, tmp_path):
    """One byte of banner every 0.2 s never ends a line: ftplib's per-read timeouts never
    fire, the whole-exchange deadline does (socketpair: no network)."""
    import socket
    import threading
    import ftplib
    from harness.errors import TransportTimeout
    from harness.transport import ftp
    from harness.transport.transcript import Transcript
    from harness.transport.wire import Wire
    a, b = socket.socketpair()
    stop = threading.Event()

    def trickle():
        for _ in range(200):                      # at most 40 s
            if stop.is_set():
                return
            try:
                b.send(b"2")
            except OSError:
                return
            time.sleep(0.2)
    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    monkeypatch.setattr(ftplib.socket, "create_connection", lambda *args, **kw: a)
    wire = Wire(Scope(["198.18.0.0/24"], own={}), Transcript(tmp_path / "t.log"), 1, 2)
    try:     # the whole-exchange deadline's own error (per-read timeouts never fire here)
        with pytest.raises(TransportTimeout, match="did not finish"):
            ftp.login(wire, "198.18.0.77", 21, "anonymous", "x")
    finally:
        stop.set()
        t.join(timeout=5)
        a.close()
        b.close()
