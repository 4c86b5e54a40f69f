"""TC-VULN-01 against emulated devices: the old-firmware unit FAILs with the right CVE from
its package list and banner, compliant units (Debian builds of the same daemons) PASS, an
SBOM is a source of its own, and no database means INCONCLUSIVE, saying what is missing."""
import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, harness, load_run

# the units it uses: it runs beside the detection matrix once the matrix is done with them
pytestmark = pytest.mark.units("router-1", "router-2", "router-oldfw", "router-weakcrypto",
                               "router-nothrottle")

FEEDS = REPO / "tests" / "data" / "vulnfeeds"
SBOMS = REPO / "tests" / "data" / "sbom"
OLD_DROPBEAR_SBOM = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
                     "components": [{"type": "application", "name": "dropbear",
                                     "version": "2019.78",
                                     "purl": "pkg:generic/dropbear@2019.78"}]}


def _lab(tmp_path, name, settings=""):
    """The emulated lab's config with its own database directory (NAME-db by default)."""
    text = (REPO / "lab_config" / "emulated.yaml").read_text()
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace("scope:", "vulnerabilities: {"
                                 + (settings or f"database: {name}-db") + "}\nscope:", 1))
    return path


def _with_sbom(emulated_lab, tmp_path, name, sbom_file) -> str:
    """A unit whose device type names an SBOM (relative to the type file)."""
    d = tmp_path / name
    d.mkdir()
    shutil.copy(sbom_file, d / sbom_file.name)
    (d / "type.yaml").write_text(f"extends: {REPO}/device_profiles/types/emulab-er100.yaml\n"
                                 f"sbom: {sbom_file.name}\n")
    text = open(emulated_lab[name]).read()
    text = text.replace("extends: ../../types/emulab-er100.yaml", "extends: type.yaml")
    (d / "unit.yaml").write_text(text)
    return str(d / "unit.yaml")


def _start(lab, out, *profiles) -> subprocess.Popen:
    args = ["run", "--no-pdf", "--lab", lab, "--out", out, "-k", "TC-VULN", "--workers",
            len(profiles)]
    for p in profiles:
        args += ["--profile", p]
    return subprocess.Popen([sys.executable, "-m", "harness", *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, out):
    _, err = proc.communicate(timeout=900)
    assert proc.returncode in (0, 1) and "Traceback" not in err, err[-2000:]
    run = load_run(out)
    return run, {d["name"]: {r["test_id"]: r for r in d["results"]} for d in run["devices"]}


def _run(lab, out, *profiles):
    return _finish(_start(lab, out, *profiles), out)


def test_without_a_database_it_is_inconclusive_and_says_which(emulated_lab, tmp_path):
    lab = _lab(tmp_path, "empty")
    _, got = _run(lab, tmp_path / "a", emulated_lab["router-1"])
    r = got["router-1"]["TC-VULN-01"]
    assert r["verdict"] == "INCONCLUSIVE", r
    assert "CISA KEV" in r["reason"] and "OSV or NVD" in r["reason"]
    assert harness("vulndb", "import", "--lab", lab, FEEDS / "kev-fixture.json").returncode == 0
    _, got = _run(lab, tmp_path / "b", emulated_lab["router-1"])
    r = got["router-1"]["TC-VULN-01"]
    assert r["verdict"] == "INCONCLUSIVE" and "KEV" not in r["reason"].split("imported")[0], r
    assert "OSV or NVD" in r["reason"]


@pytest.fixture(scope="module")
def fixture_lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vulnlab")
    labs = {"plain": _lab(tmp, "plain"),        # the same feeds, and a CVSS threshold:
            "strict": _lab(tmp, "strict", "database: plain-db, fail_cvss: 8.0")}
    proc = harness("vulndb", "import", "--lab", labs["plain"], *sorted(FEEDS.glob("*.json")))
    assert proc.returncode == 0, proc.stderr
    return labs


def test_fixture_feeds_find_the_old_firmware_and_pass_debian_builds(emulated_lab, fixture_lab,
                                                                    tmp_path):
    (tmp_path / "old-dropbear.cdx.json").write_text(json.dumps(OLD_DROPBEAR_SBOM))
    profiles = [emulated_lab["router-oldfw"], emulated_lab["router-weakcrypto"],
                _with_sbom(emulated_lab, tmp_path, "router-1",
                           SBOMS / "cyclonedx-vulnerable.json"),
                _with_sbom(emulated_lab, tmp_path, "router-2",
                           tmp_path / "old-dropbear.cdx.json")]
    # the strict lab's run (a CVSS threshold) alongside, on its own unit: two runs at once
    strict_run = _start(fixture_lab["strict"], tmp_path / "strict",
                        _with_sbom(emulated_lab, tmp_path, "router-nothrottle",
                                   tmp_path / "old-dropbear.cdx.json"))
    try:
        run, got = _run(fixture_lab["plain"], tmp_path / "out", *profiles)
    except BaseException:
        strict_run.kill()
        strict_run.communicate()
        raise
    _, strict = _finish(strict_run, tmp_path / "strict")
    assert {n: r["TC-VULN-01"]["verdict"] for n, r in got.items()} == {
        "router-oldfw": "FAIL", "router-weakcrypto": "PASS", "router-1": "FAIL",
        "router-2": "PASS"}
    old = got["router-oldfw"]["TC-VULN-01"]
    # the right CVEs, from the package list (opkg) and the web server's banner
    assert "CVE-2022-22707 in lighttpd 1.4.59 (https:443 Server header" in old["reason"]
    assert "CVE-2022-48174 in busybox 1.31.1-1 (opkg" in old["reason"]
    ev = {e["check"]: e["observed"] for e in old["evidence"]}
    feeds = {f["file"]: f for f in ev["vulnerability database"]["feeds"]}
    assert set(feeds) == {"kev-fixture.json", "nvd-fixture.json", "osv-debian-fixture.json"}
    assert all(len(f["sha256"]) == 64 and f["date"] for f in feeds.values())
    assert "opkg" in ev["inventory sources"]["read"]["device"]
    inventory = json.loads((tmp_path / "out" / next(
        a for a in old["artifacts"] if a.endswith("inventory.json"))).read_text())
    assert {"name": "lighttpd", "version": "1.4.59-1", "source": "opkg"}.items() <= \
        next(c for c in inventory if c["source"] == "opkg" and c["name"] == "lighttpd").items()
    # the Debian build of OpenSSH (in the fixture KEV for upstream 8.5-9.8) is not a match:
    # its package version carries the fix
    weak = {e["check"]: e["observed"] for e in got["router-weakcrypto"]["TC-VULN-01"]["evidence"]}
    assert weak["known vulnerabilities (findings)"] == []
    assert "dpkg" in weak["inventory sources"]["read"]["device"]
    # the SBOM is named as the source
    assert "CVE-2022-48174 in busybox 1.31.1 (sbom: cyclonedx-vulnerable.json" in \
        got["router-1"]["TC-VULN-01"]["reason"]
    # a known, not exploited vulnerability is a finding, not a FAIL ...
    r2 = {e["check"]: e["observed"] for e in got["router-2"]["TC-VULN-01"]["evidence"]}
    assert [f["advisory"] for f in r2["known vulnerabilities (findings)"]] == ["CVE-2020-36254"]
    # ... unless the lab sets a CVSS threshold it reaches (8.1 >= 8.0)
    r = strict["router-nothrottle"]["TC-VULN-01"]
    assert r["verdict"] == "FAIL" and "CVE-2020-36254 (8.1)" in r["reason"], r
    html = (tmp_path / "out" / "report.html").read_text()
    assert "CVE-2022-22707" in html and "opkg" in html
