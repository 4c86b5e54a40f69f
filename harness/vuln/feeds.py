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
PREFIX = 1 << 16            # bytes read to tell a feed's kind
LINE_LOOKUP = 32 << 20      # a broken feed up to this size is re-read to name the line


def read_json(path: Path, raw: bytes | None = None):
    """A small JSON file (or its bytes, already read); InputError naming the file (and
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
    except RecursionError:
        raise InputError("nested too deeply to be a feed", file) from None


def read_bytes(path: Path) -> bytes:
    check_file(path)
    return path.read_bytes()


def check_file(path: Path) -> None:
    if not path.is_file():
        raise InputError("not a regular file", str(path))
    if path.stat().st_size > MAX_FEED:
        raise InputError(f"larger than {MAX_FEED >> 20} MiB", str(path))


def _walk(src, file: str):
    """ijson's basic events with the path of each value (a tuple of keys, 'item' for array
    members) while it is shallow (None deeper: building long prefixes for deep nesting
    costs quadratic memory); nesting deeper than MAX_DEPTH is refused."""
    import ijson
    stack: list[list] = []
    for event, value in ijson.basic_parse(src, use_float=True):
        if event == "map_key":
            stack[-1][1] = value
            yield (tuple(e[1] if e[0] else "item" for e in stack)[:-1] if len(stack) <= 4
                   else None), event, value
            continue
        path = tuple(e[1] if e[0] else "item" for e in stack) if len(stack) <= 4 else None
        if event in ("start_map", "start_array"):
            yield path, event, value
            stack.append([event == "start_map", None])
            if len(stack) > MAX_DEPTH:
                raise InputError(f"nested deeper than {MAX_DEPTH} levels: not a feed", file)
        elif event in ("end_map", "end_array"):
            stack.pop()
            yield (tuple(e[1] if e[0] else "item" for e in stack) if len(stack) <= 4
                   else None), event, value
        else:
            yield path, event, value


def _top(path: Path) -> tuple[dict, str, dict | None]:
    """From the file's first bytes: its top-level scalars, whether it is an object or a
    list, and the first entry of `vulnerabilities` (as far as it got)."""
    import ijson
    with open(path, "rb") as fh:
        head = fh.read(PREFIX)
    scalars, shape, first, builder = {}, "", None, None
    target = ("vulnerabilities", "item")
    try:
        for where, event, value in _walk(head, str(path)):
            if not shape:
                shape = {"start_map": "object", "start_array": "list"}.get(event, "scalar")
            if where == () and event == "map_key":
                scalars.setdefault(value, None)
            elif where is not None and len(where) == 1 and event in (
                    "string", "number", "boolean", "null"):
                scalars[where[0]] = value
            if first is None and builder is None and where == target and event == "start_map":
                builder = ijson.ObjectBuilder()
            if builder is not None and first is None:
                builder.event(event, value)
                if where == target and event == "end_map":
                    first = builder.value
    except (ijson.JSONError, ijson.IncompleteJSONError, InputError):
        pass                              # the prefix ends mid-file: what it showed is enough
    if first is None and builder is not None:
        first = getattr(builder, "value", None)
    return scalars, shape, first if isinstance(first, dict) else None


def kind_of_file(path: Path) -> str:
    """'kev', 'osv' or 'nvd' from the file's first bytes; '' when none fits."""
    scalars, shape, first = _top(path)
    if shape == "list":
        return "osv"
    if shape != "object":
        return ""
    if "catalogVersion" in scalars and "vulnerabilities" in scalars:
        return "kev"
    if "vulnerabilities" in scalars and (first is None or "cve" in first):
        return "nvd"
    if ("affected" in scalars and "id" in scalars) or "vulns" in scalars:
        return "osv"
    return ""


def entries(path: Path, kind: str):
    """The feed's entries one at a time, read as a stream (a feed of hundreds of MB is never
    held whole); InputError naming the file when it is not valid JSON."""
    import ijson
    scalars, shape, _ = _top(path)
    where = {"kev": "vulnerabilities.item", "nvd": "vulnerabilities.item",
             "osv": "item" if shape == "list" else "vulns.item" if "vulns" in scalars else ""}
    try:
        with open(path, "rb") as fh:
            if kind == "osv" and not where["osv"]:
                yield from [read_json(path)]               # one advisory: small
                return
            yield from _items(fh, where[kind], str(path))
    except ijson.JSONError as exc:
        if path.stat().st_size <= LINE_LOOKUP:
            read_json(path)               # names the line (a small file: cheap to re-read)
        raise InputError(f"not valid JSON: {str(exc).splitlines()[0][:120]}",
                         str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", str(path)) from None


MAX_DEPTH = 64              # an NVD entry nests about a dozen levels


def _items(fh, where: str, file: str):
    """The values at `where` (a dotted path, 'item' for array members), built one at a
    time; nesting deeper than MAX_DEPTH anywhere is refused as it is read."""
    import ijson
    target = tuple(where.split(".")) if where else ()
    builder = None
    for path, event, value in _walk(fh, file):
        if builder is None:
            if path == target and event in ("start_map", "start_array"):
                builder = ijson.ObjectBuilder()
            elif path == target and event not in ("end_map", "end_array", "map_key"):
                yield value
                continue
            else:
                continue
        builder.event(event, value)
        if path == target and event in ("end_map", "end_array"):
            yield builder.value
            builder = None


def header(path: Path) -> dict:
    """The top-level scalars (catalogVersion, dateReleased, timestamp, ...)."""
    return _top(path)[0]


def kind_of(data) -> str:
    """'kev', 'osv' or 'nvd' from parsed content; '' when none fits."""
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


def _each(items, file: str, field: str, one):
    """one(item, i) for every entry; an entry of the wrong shape is an InputError naming it,
    never a traceback."""
    out = []
    for i, item in enumerate(items):
        try:
            out.append(one(item, i))
        except InputError:
            raise
        except (AttributeError, TypeError, KeyError, ValueError, RecursionError) as exc:
            raise InputError(f"entry of the wrong shape ({type(exc).__name__}: "
                             f"{str(exc)[:80]})", file, None, f"{field}[{i}]") from None
    return out


def _str(x) -> str:
    if not isinstance(x, (str, int, float)):
        raise TypeError("expected a string")
    return str(x)


def parse_kev(items, file: str, head: dict | None = None) -> dict:
    """{'version', 'released', 'cves': {CVE: {dateAdded, vendorProject, product, ransomware}}}"""
    head = head if head is not None else items
    if isinstance(items, dict):
        items = items["vulnerabilities"]

    def one(v, i):
        _need(isinstance(v, dict) and isinstance(v.get("cveID"), str), "each entry needs a "
              "cveID string", file, f"vulnerabilities[{i}].cveID")
        return v["cveID"].upper(), {"dateAdded": v.get("dateAdded"),
                                    "vendorProject": v.get("vendorProject"),
                                    "product": v.get("product"),
                                    "ransomware": v.get("knownRansomwareCampaignUse")}
    out = dict(_each(items, file, "vulnerabilities", one))
    return {"version": str(head.get("catalogVersion")), "released": head.get("dateReleased"),
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
    items = data if not isinstance(data, dict) else data.get("vulns") or [data]
    return _each(items, file, "", _osv_one(file))


def _osv_one(file: str):
    def one(v, i):
        _need(isinstance(v, dict) and isinstance(v.get("id"), str), "each advisory needs an "
              "id string", file, f"[{i}].id")
        cves = sorted({_str(x).upper() for x in [v["id"], *v.get("aliases", [])]
                       if _str(x).upper().startswith("CVE-")})
        affected = []
        for j, a in enumerate(v.get("affected", [])):
            pkg = a.get("package") or {}
            _need(isinstance(pkg, dict), "package must be a mapping", file,
                  f"[{i}].affected[{j}].package")
            ranges = [r for rg in a.get("ranges", []) if rg.get("type") in ("ECOSYSTEM", "SEMVER")
                      for r in _osv_ranges(rg.get("events", []))]
            affected.append({"ecosystem": _str(pkg.get("ecosystem", "")),
                             "package": _str(pkg.get("name", "")),
                             "cpe": "", "purl": _str(pkg.get("purl", "")), "ranges": ranges,
                             "versions": [_str(x) for x in a.get("versions", [])]})
        return {"id": v["id"], "cves": cves or [v["id"]],
                "summary": _str(v.get("summary", ""))[:300],
                "modified": _str(v.get("modified", "")),
                "cvss": _cvss(v.get("severity", [])), "affected": affected}
    return one


def _cpe_parts(criteria: str) -> tuple[str, str]:
    """'cpe:2.3:a:lighttpd:lighttpd:1.4.59:*...' -> ('lighttpd:lighttpd', '1.4.59' or '')."""
    parts = criteria.split(":")
    if len(parts) < 6:
        return "", ""
    version = parts[5] if parts[5] not in ("*", "-") else ""
    if version and len(parts) > 6 and parts[6] not in ("*", "-", ""):
        version += parts[6]                  # OpenSSH: version 9.2, update p1
    return f"{parts[3]}:{parts[4]}".lower(), version


def parse_nvd(data, file: str) -> list[dict]:
    items = data["vulnerabilities"] if isinstance(data, dict) else data
    return _each(items, file, "vulnerabilities", _nvd_one(file))


def _nvd_one(file: str):
    def one(item, i):
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
        desc = next((_str(d.get("value", "")) for d in cve.get("descriptions", [])
                     if d.get("lang") == "en"), "")
        return {"id": cve["id"], "cves": [cve["id"].upper()], "summary": desc[:300],
                "cvss": score if isinstance(score, (int, float)) else None,
                "affected": affected}
    return one
