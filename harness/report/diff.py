"""Surveillance diff: a re-test (NEW) against a certified baseline (OLD), from their run.json.

Per device (matched by name): open ports that appeared or went away, the firmware version
read from the device, test-case and requirement verdicts that changed, and evidence that
differs where the verdict did not. A regression — a verdict that got worse or a new open
port — makes the exit code 1.
"""
from __future__ import annotations

import json
from pathlib import Path

import jinja2

from harness.errors import InputError
from harness.model.verdict import GOOD, badness


def _load(run_dir: Path) -> dict:
    path = run_dir / "run.json" if run_dir.is_dir() else run_dir
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError("no run.json here", str(path)) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON: {exc}", str(path)) from None


def _ports(device: dict) -> set[str]:
    out = set()
    for r in device["results"]:
        for e in r.get("evidence", []):
            if str(e.get("check", "")).startswith("open ports on ") and isinstance(
                    e.get("observed"), dict):
                o = e["observed"]
                out |= {f"{o.get('address')} tcp/{p}" for p in o.get("tcp_open", {})}
                out |= {f"{o.get('address')} udp/{p}" for p in o.get("udp_open", {})}
    return out


def _worse(old: str, new: str) -> bool:
    return badness(new) > badness(old)


def compare(old: dict, new: dict) -> dict:
    out = {"old": old.get("run_id"), "new": new.get("run_id"), "devices": [],
           "only_old": [], "only_new": []}
    od = {d["name"]: d for d in old["devices"]}
    nd = {d["name"]: d for d in new["devices"]}
    out["only_old"] = sorted(set(od) - set(nd))
    out["only_new"] = sorted(set(nd) - set(od))
    oreq = {(v["scheme"], q["id"]): q["verdicts"] for v in old.get("schemes", [])
            for q in v["requirements"]}
    for name in sorted(set(od) & set(nd)):
        o, n = od[name], nd[name]
        dev = {"name": name, "regressions": [], "changes": []}
        fo = o.get("identity", {}).get("firmware_version")
        fn = n.get("identity", {}).get("firmware_version")
        if fo != fn:
            dev["changes"].append(f"firmware read from the device: {fo} -> {fn}")
        po, pn = _ports(o), _ports(n)
        dev["regressions"] += [f"new open port {p}" for p in sorted(pn - po)]
        dev["changes"] += [f"port no longer open: {p}" for p in sorted(po - pn)]
        ro = {r["test_id"]: r for r in o["results"]}
        rn = {r["test_id"]: r for r in n["results"]}
        for tid in sorted(set(ro) | set(rn)):
            a, b = ro.get(tid), rn.get(tid)
            va, vb = a["verdict"] if a else "absent", b["verdict"] if b else "absent"
            if va != vb:
                line = f"{tid}: {va} -> {vb}" + (f" ({b['reason']})" if b and b["reason"]
                                                 else "")
                regressed = _worse(va, vb) if a and b else (vb == "absent" and va in GOOD)
                (dev["regressions"] if regressed else dev["changes"]).append(line)
            elif a and b:
                ea = {e["check"]: e.get("observed") for e in a.get("evidence", [])}
                eb = {e["check"]: e.get("observed") for e in b.get("evidence", [])}
                differ = sorted(k for k in set(ea) | set(eb) if ea.get(k) != eb.get(k))
                if differ:
                    dev["changes"].append(f"{tid}: same verdict {va}, evidence differs: "
                                          + ", ".join(differ[:6]))
        for v in new.get("schemes", []):
            for q in v["requirements"]:
                before = oreq.get((v["scheme"], q["id"]), {}).get(name)
                after = q["verdicts"].get(name)
                if before and after and before != after:
                    line = f"{q['id']}: {before} -> {after}"
                    (dev["regressions"] if _worse(before, after) else dev["changes"]).append(
                        line)
        out["devices"].append(dev)
    out["regressed"] = any(d["regressions"] for d in out["devices"]) or bool(out["only_old"])
    return out


def text(d: dict) -> str:
    lines = [f"baseline {d['old']} -> re-test {d['new']}"]
    for name in d["only_old"]:
        lines.append(f"{name}: in the baseline only (not re-tested)")
    for name in d["only_new"]:
        lines.append(f"{name}: new in the re-test (no baseline)")
    for dev in d["devices"]:
        if not (dev["regressions"] or dev["changes"]):
            lines.append(f"{dev['name']}: no change")
            continue
        lines.append(f"{dev['name']}:")
        lines += [f"  REGRESSION {x}" for x in dev["regressions"]]
        lines += [f"  changed    {x}" for x in dev["changes"]]
    lines.append("regressed" if d["regressed"] else "no regression")
    return "\n".join(lines)


HTML = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Surveillance diff {{ d.old }} / {{ d.new }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}li.r{color:#a00;font-weight:bold}</style></head>
<body><h1>Re-test {{ d.new }} against baseline {{ d.old }}</h1>
<p><b>{{ "Regressed" if d.regressed else "No regression" }}</b></p>
{% for n in d.only_old %}<p>{{ n }}: in the baseline only (not re-tested)</p>{% endfor %}
{% for n in d.only_new %}<p>{{ n }}: new in the re-test (no baseline)</p>{% endfor %}
{% for dev in d.devices %}<h2>{{ dev.name }}</h2><ul>
{% for x in dev.regressions %}<li class="r">regression: {{ x }}</li>{% endfor %}
{% for x in dev.changes %}<li>{{ x }}</li>{% endfor %}
{% if not dev.regressions and not dev.changes %}<li>no change</li>{% endif %}</ul>{% endfor %}
</body></html>""")


def main(old_run: Path, new_run: Path, html: Path | None) -> int:
    d = compare(_load(old_run), _load(new_run))
    from harness.termsafe import clean
    print(clean(text(d)))
    if html:
        from harness import safefile
        safefile.replace(html, HTML.render(d=d), 0o644)
        print(f"html: {html}")
    return 1 if d["regressed"] else 0
