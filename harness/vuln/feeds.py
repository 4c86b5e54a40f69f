"""Vulnerability feeds in their published formats, read into one plain form.

- CISA Known Exploited Vulnerabilities catalog (JSON: catalogVersion, dateReleased,
  vulnerabilities[].cveID ...): which CVEs are exploited in the wild. No versions.
- OSV (one advisory object, a list of them, or {"vulns": [...]}): package + ecosystem +
  version ranges (events introduced / fixed / last_affected).
- NVD CVE API 2.0 JSON (vulnerabilities[].cve with configurations[].nodes[].cpeMatch[]):
  CPE criteria with version bounds, and CVSS base scores.

An advisory in plain form:
  {"id", "cves": [...], "summary", "cvss": float|None, "affected": [
     {"ecosystem": "Debian:12" | "" (upstream), "package": name | "", "cpe": "vendor:product" | "",
      "ranges": [{"start", "start_incl", "end", "end_incl"}], "versions": [...]}]}
"""
from __future__ import annotations

import json
from pathlib import Path

from harness.errors import InputError

MAX_FEED = 1 << 30          # 1 GiB: a full NVD year file is a few hundred MB


def read_json(path: Path, raw: bytes | None = None):
    """A feed file (or its bytes, already read) as JSON; InputError naming the file (and
    line) otherwise."""
    file = str(path)
    if raw is None:
        raw = read_bytes(path)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file, exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", file) from None


def read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise InputError("not a regular file", str(path))
    if path.stat().st_size > MAX_FEED:
        raise InputError(f"larger than {MAX_FEED >> 20} MiB", str(path))
    return path.read_bytes()


def kind_of(data) -> str:
    """'kev', 'osv' or 'nvd' from the content; '' when none fits."""
    if isinstance(data, dict):
        if "catalogVersion" in data and isinstance(data.get("vulnerabilities"), list):
            return "kev"
        vulns = data.get("vulnerabilities")
        if isinstance(vulns, list) and (not vulns or isinstance(vulns[0], dict)
                                        and "cve" in vulns[0]):
            return "nvd"
        if "affected" in data and "id" in data or isinstance(data.get("vulns"), list):
            return "osv"
    if isinstance(data, list) and data and all(isinstance(x, dict) and "id" in x for x in data):
        return "osv"
    return ""


def _need(cond: bool, msg: str, file: str, field: str) -> None:
    if not cond:
        raise InputError(msg, file, None, field)


def parse_kev(data: dict, file: str) -> dict:
    """{'version', 'released', 'cves': {CVE: {dateAdded, vendorProject, product, ransomware}}}"""
    out = {}
    for i, v in enumerate(data["vulnerabilities"]):
        _need(isinstance(v, dict) and isinstance(v.get("cveID"), str), "each entry needs a "
              "cveID string", file, f"vulnerabilities[{i}].cveID")
        out[v["cveID"].upper()] = {"dateAdded": v.get("dateAdded"),
                                   "vendorProject": v.get("vendorProject"),
                                   "product": v.get("product"),
                                   "ransomware": v.get("knownRansomwareCampaignUse")}
    return {"version": str(data.get("catalogVersion")), "released": data.get("dateReleased"),
            "cves": out}


def _osv_ranges(events: list) -> list[dict]:
    """OSV events in order -> closed/open ranges."""
    out, cur = [], None
    for e in events:
        if "introduced" in e:
            start = e["introduced"]
            cur = {"start": None if start == "0" else start, "start_incl": True,
                   "end": None, "end_incl": False}
            out.append(cur)
        elif cur is not None and ("fixed" in e or "last_affected" in e):
            cur["end"] = e.get("fixed") or e.get("last_affected")
            cur["end_incl"] = "last_affected" in e
            cur = None
        elif cur is not None and "limit" in e:
            cur["end"], cur["end_incl"], cur = e["limit"], False, None
    return out


def _cvss(severity: list) -> float | None:
    for s in severity or []:
        vector = s.get("score", "")
        try:
            if s.get("type") == "CVSS_V3":
                from cvss import CVSS3
                return float(CVSS3(vector).base_score)
            if s.get("type") == "CVSS_V4":
                from cvss import CVSS4
                return float(CVSS4(vector).base_score)
        except Exception:  # noqa: BLE001 - an unreadable vector leaves the score unknown
            continue
    return None


def parse_osv(data, file: str) -> list[dict]:
    items = data if isinstance(data, list) else data.get("vulns") or [data]
    out = []
    for i, v in enumerate(items):
        _need(isinstance(v, dict) and isinstance(v.get("id"), str), "each advisory needs an "
              "id string", file, f"[{i}].id")
        cves = sorted({x.upper() for x in [v["id"], *v.get("aliases", [])]
                       if str(x).upper().startswith("CVE-")})
        affected = []
        for j, a in enumerate(v.get("affected", [])):
            pkg = a.get("package") or {}
            _need(isinstance(pkg, dict), "package must be a mapping", file,
                  f"[{i}].affected[{j}].package")
            ranges = [r for rg in a.get("ranges", []) if rg.get("type") in ("ECOSYSTEM", "SEMVER")
                      for r in _osv_ranges(rg.get("events", []))]
            affected.append({"ecosystem": pkg.get("ecosystem", ""), "package": pkg.get("name", ""),
                             "cpe": "", "purl": pkg.get("purl", ""), "ranges": ranges,
                             "versions": [str(x) for x in a.get("versions", [])]})
        out.append({"id": v["id"], "cves": cves or [v["id"]], "summary": v.get("summary", ""),
                    "cvss": _cvss(v.get("severity", [])), "affected": affected})
    return out


def _cpe_parts(criteria: str) -> tuple[str, str]:
    """'cpe:2.3:a:lighttpd:lighttpd:1.4.59:*...' -> ('lighttpd:lighttpd', '1.4.59' or '')."""
    parts = criteria.split(":")
    if len(parts) < 6:
        return "", ""
    version = parts[5] if parts[5] not in ("*", "-") else ""
    if version and len(parts) > 6 and parts[6] not in ("*", "-", ""):
        version += parts[6]                  # OpenSSH: version 9.2, update p1
    return f"{parts[3]}:{parts[4]}".lower(), version


def parse_nvd(data: dict, file: str) -> list[dict]:
    out = []
    for i, item in enumerate(data["vulnerabilities"]):
        cve = item.get("cve")
        _need(isinstance(cve, dict) and isinstance(cve.get("id"), str), "each entry needs "
              "cve.id", file, f"vulnerabilities[{i}].cve.id")
        score = None
        for key in ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30"):
            for m in cve.get("metrics", {}).get(key, []):
                score = m.get("cvssData", {}).get("baseScore", score)
            if score is not None:
                break
        affected = []
        for conf in cve.get("configurations", []):
            for node in conf.get("nodes", []):
                for m in node.get("cpeMatch", []):
                    if not m.get("vulnerable"):
                        continue
                    product, version = _cpe_parts(m.get("criteria", ""))
                    if not product:
                        continue
                    ranges, versions = [], [version] if version else []
                    if not version:
                        ranges.append({
                            "start": m.get("versionStartIncluding") or m.get("versionStartExcluding"),
                            "start_incl": "versionStartExcluding" not in m,
                            "end": m.get("versionEndIncluding") or m.get("versionEndExcluding"),
                            "end_incl": "versionEndExcluding" not in m})
                    affected.append({"ecosystem": "", "package": "", "cpe": product, "purl": "",
                                     "ranges": ranges, "versions": versions})
        desc = next((d.get("value", "") for d in cve.get("descriptions", [])
                     if d.get("lang") == "en"), "")
        out.append({"id": cve["id"], "cves": [cve["id"].upper()], "summary": desc[:300],
                    "cvss": score, "affected": affected})
    return out
