"""Known-vulnerability matching: feed import, version ranges by the ecosystem's rules,
distribution builds, SBOMs. Pure logic; the device side is tested in tests/lab."""
import json
import shutil

import pytest

from harness.errors import InputError
from harness.probe.inventory import distro_builds
from harness.vuln import db, feeds, match, sbom
from harness.vuln.match import component, from_text
from tests.conftest import REPO, cli

FEEDS = REPO / "tests" / "data" / "vulnfeeds"
SBOMS = REPO / "tests" / "data" / "sbom"


@pytest.fixture
def fixture_db(tmp_path):
    db.import_files(tmp_path / "db", sorted(FEEDS.glob("*.json")))
    return db.load(tmp_path / "db")


def _hits(comps, d):
    return {(m.component.name, m.component.version, m.advisory, bool(m.kev))
            for m in match.match(comps, d)}


def test_import_detects_each_format_and_records_date_and_hash(fixture_db):
    kinds = {s["file"]: s["kind"] for s in fixture_db.describe()}
    assert kinds == {"kev-fixture.json": "kev", "nvd-fixture.json": "nvd",
                     "osv-debian-fixture.json": "osv"}
    kev = next(s for s in fixture_db.describe() if s["kind"] == "kev")
    assert kev["date"].startswith("2026-11-01") and len(kev["sha256"]) == 64
    assert fixture_db.has_kev and fixture_db.has_versions
    assert "CVE-2022-22707" in fixture_db.kev


def test_reimport_replaces_and_a_new_kev_replaces_the_old(tmp_path):
    d = tmp_path / "db"
    db.import_files(d, [FEEDS / "kev-fixture.json", FEEDS / "nvd-fixture.json"])
    other = json.loads((FEEDS / "kev-fixture.json").read_text())
    other["vulnerabilities"] = other["vulnerabilities"][:1]
    (tmp_path / "kev-new.json").write_text(json.dumps(other))
    db.import_files(d, [tmp_path / "kev-new.json", FEEDS / "nvd-fixture.json"])
    loaded = db.load(d)
    assert [s["file"] for s in loaded.describe()] == ["kev-new.json", "nvd-fixture.json"]
    assert set(loaded.kev) == {"CVE-2022-22707"}
    assert len(list(d.glob("*.json"))) == 3          # index + two stored feeds


def test_upstream_ranges_respect_inclusive_and_exclusive_bounds(fixture_db):
    up = [component("lighttpd", v, "banner") for v in ("1.4.45", "1.4.46", "1.4.63", "1.4.64")]
    got = {c[1] for c in _hits(up, fixture_db) if c[2] == "CVE-2022-22707"}
    assert got == {"1.4.46", "1.4.63"}
    db2 = [component("dropbear", v, "banner") for v in ("2020.78", "2020.79", "2022.83")]
    assert {c[1] for c in _hits(db2, fixture_db)} == {"2020.78"}
    # OpenWrt build numbers: upstream part only (2019.78-2 -> 2019.78)
    assert _hits([component("dropbear", "2019.78-2", "opkg", ecosystem="OpenWrt")], fixture_db)
    # version ordering is numeric, not textual: 1.4.9 < 1.4.46
    assert not _hits([component("lighttpd", "1.4.9", "banner")], fixture_db)


def test_debian_packages_use_debian_ordering_and_never_upstream_ranges(fixture_db):
    fixed = component("openssh-server", "1:9.2p1-2+deb12u10", "dpkg", ecosystem="Debian",
                      source_package="openssh")
    old = component("openssh-server", "1:9.2p1-2+deb12u2", "dpkg", ecosystem="Debian",
                    source_package="openssh")
    assert _hits([fixed], fixture_db) == set()           # upstream 8.5-9.8 range not applied
    # a back-ported Debian build of an upstream version inside an upstream range: only the
    # distribution's advisories count (Debian's Terrapin entry, not NVD's upstream range)
    backport = component("dropbear-bin", "2019.78-2+deb11u1", "dpkg", ecosystem="Debian",
                         source_package="dropbear")
    assert {h[2] for h in _hits([backport], fixture_db)} == {"DEBIAN-CVE-2023-48795"}
    assert _hits([old], fixture_db) == {("openssh-server", "1:9.2p1-2+deb12u2",
                                         "DEBIAN-CVE-2024-6387", True)}
    # a Debian banner cannot be matched (epoch and back-ports unknown there)
    (banner,) = from_text("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "ssh:22 banner")
    assert not banner.matchable and _hits([banner], fixture_db) == set()
    (plain,) = from_text("SSH-2.0-OpenSSH_9.2p1", "ssh:22 banner")
    assert _hits([plain], fixture_db) == {("openssh", "9.2p1", "CVE-2024-6387", True)}


def test_distribution_package_list_decides_for_its_daemons(fixture_db):
    # Debian's sshd -V says 'OpenSSH_9.2': without the rule this is a false KEV match
    comps = distro_builds([
        *from_text("OpenSSH_9.2, OpenSSL 3.0.19", "/usr/sbin/sshd -V", "version"),
        component("openssh-server", "1:9.2p1-2+deb12u10", "dpkg", ecosystem="Debian",
                  source_package="openssh")])
    assert not comps[0].matchable and "package list" in comps[0].note
    assert _hits(comps, fixture_db) == set()
    # OpenWrt packages are upstream versions: the daemon's own version still counts
    comps = distro_builds([*from_text("lighttpd/1.4.59 (ssl)", "lighttpd -v", "version"),
                           component("lighttpd", "1.4.69-1", "opkg", ecosystem="OpenWrt")])
    assert comps[0].matchable


def test_osv_events_and_last_affected():
    ranges = feeds._osv_ranges([{"introduced": "1.0"}, {"fixed": "1.2"},
                                {"introduced": "2.0"}, {"last_affected": "2.1"}])
    cls = match._version_class("")
    inside = [v for v in ("0.9", "1.0", "1.1", "1.2", "2.0", "2.1", "2.2")
              if any(match.in_range(v, r, cls) for r in ranges)]
    assert inside == ["1.0", "1.1", "2.0", "2.1"]


def test_sboms_cyclonedx_and_spdx_name_themselves_as_source(fixture_db):
    cdx = sbom.components(SBOMS / "cyclonedx-vulnerable.json")
    assert {c.name for c in cdx} == {"busybox", "zlib"}
    hits = match.match(cdx, fixture_db)
    assert [(m.component.source, m.kev["cve"]) for m in hits] == [
        ("sbom: cyclonedx-vulnerable.json", "CVE-2022-48174")]
    spdx = sbom.components(SBOMS / "spdx-vulnerable.json")
    assert [(m.component.source, m.advisory) for m in match.match(spdx, fixture_db)] == [
        ("sbom: spdx-vulnerable.json", "CVE-2022-22707")]


def test_bad_feeds_and_sboms_name_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"vulnerabilities": [\n  {"cve": {"id": 1}\n')
    with pytest.raises(InputError) as e:
        db.import_files(tmp_path / "db", [bad])
    assert "broken.json:3" in e.value.render()
    bad.write_text('{"something": "else"}')
    with pytest.raises(InputError, match="not a CISA KEV"):
        db.import_files(tmp_path / "db", [bad])
    bad.write_text('{"catalogVersion": "x", "vulnerabilities": [{"cveID": 7}]}')
    with pytest.raises(InputError) as e:
        db.import_files(tmp_path / "db", [bad])
    assert "vulnerabilities[0].cveID" in e.value.render()
    assert not (tmp_path / "db" / "index.json").exists()     # nothing stored
    with pytest.raises(InputError, match="CycloneDX"):
        sbom.components(bad)
    cdx = json.loads((SBOMS / "cyclonedx-vulnerable.json").read_text())
    cdx["components"] = "nonsense"
    bad.write_text(json.dumps(cdx))
    with pytest.raises(InputError, match="not a valid CycloneDX"):
        sbom.components(bad)


def test_vulndb_cli_imports_lists_and_refuses_bad_input(tmp_path):
    lab = tmp_path / "lab.yaml"
    text = (REPO / "lab_config" / "emulated.yaml").read_text()
    lab.write_text(text.replace("scope:", "vulnerabilities: {database: feeds}\nscope:", 1))
    proc = cli("vulndb", "list", "--lab", lab)
    assert proc.returncode == 0 and "nothing imported" in proc.stdout
    shutil.copy(FEEDS / "kev-fixture.json", tmp_path / "kev.json")
    proc = cli("vulndb", "import", "--lab", lab, tmp_path / "kev.json",
                   FEEDS / "nvd-fixture.json")
    assert proc.returncode == 0, proc.stderr
    assert "imported kev kev.json: 3 entries" in proc.stdout
    assert (tmp_path / "feeds" / "index.json").exists()
    proc = cli("vulndb", "list", "--lab", lab)
    assert "kev kev.json" in proc.stdout and "nvd nvd-fixture.json" in proc.stdout
    proc = cli("vulndb", "import", "--lab", lab, tmp_path / "missing.json")
    assert proc.returncode == 2 and "missing.json" in proc.stderr and "Traceback" not in \
        proc.stderr
    lab.write_text(text.replace("scope:", "vulnerabilities: {fail_cvss: 11}\nscope:", 1))
    proc = cli("vulndb", "list", "--lab", lab)
    assert proc.returncode == 2 and "lab.yaml:" in proc.stderr and "fail_cvss" in proc.stderr
