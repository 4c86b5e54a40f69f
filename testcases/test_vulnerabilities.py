"""Known vulnerabilities: the device's software inventory against the lab's local feeds."""
import json

from harness.profile import applicability as a
from harness.errors import Inconclusive
from harness.model import testcase
from harness.probe import inventory
from harness.vuln import db as vulndb
from harness.vuln import match


@testcase("TC-VULN-01", "No component has a known exploited vulnerability",
          steps=["inventory: nmap -sV on the open TCP ports and the banners shown without "
                 "credentials; with a shell, the package list (opkg/apk/dpkg/rpm), uname -r, "
                 "busybox, libc and the listening daemons' versions; the vendor's SBOM",
                 "match each component against the lab's imported OSV/NVD data (version "
                 "ranges by the ecosystem's rules) and flag CVEs in the CISA KEV catalog",
                 "FAIL on a known-exploited match (or one at/above the lab's fail_cvss)"],
          applies=[a.network])
def test_no_known_exploited_vulnerability(device, evidence, run_context):
    lab = run_context.lab
    where = lab.vulndb_dir(run_context.lab_path)
    db = vulndb.load(where)
    evidence.record("vulnerability database", {"path": str(where), "feeds": db.describe()})
    if db.missing():
        raise Inconclusive(f"{db.missing()}: harness vulndb import FILE...")
    inv = inventory.gather(device, lab)
    for addr, xml in device.cache.get("nmap-sV", []):
        evidence.attach(f"nmap-sV-{addr.replace(':', '_')}.xml", xml)
    comps = inv["components"]
    evidence.attach("inventory.json", json.dumps([c.to_dict() for c in comps], indent=1))
    evidence.record("inventory sources", {"read": inv["sources"], "not read": inv["not_read"],
                                          "failed": inv["failed"]})
    if not comps:
        why = {**inv["not_read"], **inv["failed"]}
        raise Inconclusive("the inventory is empty: no component was identified"
                           + "".join(f"; {k}: {v}" for k, v in why.items()))
    evidence.record("inventory", [c.to_dict() for c in comps if c.product or c.source != "dpkg"]
                    [:200])
    found = match.match(comps, db)
    evidence.record("known vulnerabilities (findings)", [m.to_dict() for m in found])
    exploited = [m for m in found if m.kev]
    evidence.expect("no known-exploited vulnerability (CISA KEV)", not exploited, "none",
                    [m.to_dict() for m in exploited],
                    reason="known exploited: " + "; ".join(
                        f"{m.kev['cve']} in {m.component.name} {m.component.version} "
                        f"({m.component.source}; {m.rule})" for m in exploited))
    limit = lab.vulnerabilities.fail_cvss
    if limit is not None:
        severe = [m for m in found if m.cvss is not None and m.cvss >= limit]
        evidence.expect(f"no known vulnerability with CVSS >= {limit}", not severe, "none",
                        [m.to_dict() for m in severe], reason=f"CVSS >= {limit}: " + "; ".join(
                            f"{m.advisory} ({m.cvss}) in {m.component.name} "
                            f"{m.component.version}" for m in severe))
    if inv["failed"]:          # no known-exploited match, but part of the inventory is missing
        raise Inconclusive("no known-exploited match in what was read, but the inventory is "
                           "incomplete: " + "; ".join(f"{k}: {v}" for k, v in
                                                      inv["failed"].items()))
