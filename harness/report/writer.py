"""Build run.json from the journal and render junit.xml and report.html from run.json."""
from __future__ import annotations

import getpass
import json
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import harness
from harness.runner.context import RunContext, now

SCHEMA_VERSION = "1.0"
PACKAGES = ("pytest", "paramiko", "pyserial", "paho-mqtt", "python-nmap", "scapy", "sslyze",
            "ssh-audit", "pydantic", "junit-xml", "cryptography", "univers",
            "cyclonedx-python-lib", "spdx-tools")


def tool_versions() -> dict:
    out = {"harness": harness.__version__, "python": platform.python_version()}
    nmap = shutil.which("nmap")
    if nmap:
        try:
            first = subprocess.run([nmap, "--version"], capture_output=True, text=True,
                                   timeout=10).stdout.splitlines()
            out["nmap"] = first[0].replace("Nmap version ", "").split(" (")[0] if first else "?"
        except (OSError, subprocess.TimeoutExpired):
            out["nmap"] = "unavailable"
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def method_versions() -> dict:
    """What the verdicts were decided by: each catalog and the test-case suite, by content
    hash (the harness version alone does not say whether a lab edited them)."""
    import hashlib
    from harness.catalog import CATALOG_DIR
    from harness.runner.suite import SUITE_DIR

    def digest(paths) -> str:
        h = hashlib.sha256()
        for p in sorted(paths):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        return h.hexdigest()[:16]
    return {"catalogs": {p.stem: digest([p]) for p in sorted(CATALOG_DIR.glob("*.y*ml"))},
            "testcases": digest(SUITE_DIR.glob("*.py"))}


def environment() -> dict:
    return {"host": platform.node(), "os": platform.platform(),
            "python": platform.python_version()}


def method_validation(ctx: RunContext) -> dict | None:
    """The run that validated the method, cited by its run.json's SHA-256."""
    ref = ctx.lab.lab.method_validation
    if not ref:
        return None
    import hashlib
    path = Path(ctx.lab_path).resolve().parent / ref
    try:
        data = path.read_bytes()
        run = json.loads(data)
    except (OSError, ValueError):
        return {"reference": ref, "sha256": None, "note": "the record cannot be read"}
    return {"reference": ref, "run_id": run.get("run_id"), "sha256": "sha256:" +
            hashlib.sha256(data).hexdigest(), "ended": run.get("ended"),
            "summary": run.get("summary")}


def start(ctx: RunContext) -> None:
    from harness import en18031
    lab = ctx.lab.lab
    ctx.journal.append({
        "type": "run-start", "run_id": ctx.run_id, "started": ctx.started,
        "lab": {"name": lab.name, "address": lab.address,
                "accreditation_id": lab.accreditation_id, "config": ctx.lab_path,
                "method_validation": method_validation(ctx)},
        "order": ctx.order,
        "operator": lab.operator or getpass.getuser(),
        "allow_destructive": ctx.allow_destructive, "selection": ctx.selection,
        "tools": tool_versions(), "method": method_versions(), "environment": environment(),
        "devices": [{"name": d.name, "profile": d.profile_path, "profile_sha256": d.profile_hash,
                     "vendor": d.profile.vendor, "model": d.profile.model,
                     "category": d.profile.category,
                     "declared_firmware": d.profile.firmware_version,
                     "ics": {k: e.model_dump() for k, e in d.profile.ics.items()},
                     "assets": en18031.assets(d.profile), "en18031": d.profile.ixit.en18031}
                    for d in ctx.devices],
    })


def build_run(events: list[dict]) -> dict:
    """Fold journal events into the canonical run document."""
    head = next((e for e in events if e["type"] == "run-start"), None)
    if head is None:
        raise ValueError("journal has no run-start event")
    devices = {d["name"]: {**d, "identity": {}, "results": []} for d in head["devices"]}
    for e in events:
        if e["type"] == "result":
            r = {k: v for k, v in e.items() if k != "type"}
            devices[r["device"]]["results"].append(r)
        elif e["type"] == "identity":
            devices[e["device"]]["identity"].update(e["identity"])
        elif e["type"] == "place":         # the labgrid place the unit was reached through
            devices[e["device"]].setdefault("labgrid", []).append(
                {k: e[k] for k in ("event", "place", "holder", "serial", "power", "cause")
                 if k in e})
    last = next((e for e in reversed(events) if e["type"] == "run-end"), None)
    end = last["ended"] if last else None
    stopped = last.get("stopped") if last else None
    run = {"schema_version": SCHEMA_VERSION, "run_id": head["run_id"],
           "started": head["started"], "ended": end, "complete": end is not None and not stopped,
           "stopped": stopped,
           "lab": head["lab"], "operator": head["operator"], "order": head.get("order"),
           "allow_destructive": head["allow_destructive"], "selection": head["selection"],
           "tools": head["tools"], "method": head.get("method", {}),
           "environment": head.get("environment", {}), "devices": list(devices.values()),
           "resumed": [e["at"] for e in events if e["type"] == "resumed"],
           "interrupted": [{k: e[k] for k in ("device", "test_id", "noted")}
                           for e in events if e["type"] == "interrupted"]}
    from harness.catalog import catalogs, not_fully_tested, scheme_views
    from harness import en18031, ts103701
    run["schemes"] = scheme_views(run)
    if all("assets" in d for d in head["devices"]):     # runs before the view: none
        run["en18031"] = en18031.view(run)
        en18031.decide_scheme(run["schemes"], run["en18031"])
    run["not_fully_tested"] = not_fully_tested(run["schemes"])
    run["ts103701"] = ts103701.view(run)
    run["standards"] = [c.title for c in catalogs()] + [ts103701.load().name]
    run["summary"] = summary(run)
    return run


def summary(run: dict) -> dict:
    counts: dict[str, int] = {}
    for d in run["devices"]:
        for r in d["results"]:
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def write_text(ctx_or_redact, path: Path, text: str) -> None:
    """Written whole and never through a link (harness.safefile)."""
    from harness import safefile
    redact = getattr(ctx_or_redact, "redactor", ctx_or_redact)
    safefile.replace(path, redact(text), 0o644)


def finish(ctx: RunContext, stopped: str | None = None, pdf: bool = True) -> dict:
    """After the run-level step (harness.runner.crossunit.decide_all). `stopped`: why the run ended
    early (a signal): the run is then not complete (`harness run --resume` finishes it)."""
    ctx.journal.append({"type": "run-end", "ended": now(),
                        **({"stopped": stopped} if stopped else {})})
    return render_all(ctx.out_dir, ctx.redactor, pdf)


def render_all(out_dir: Path, redact, pdf: bool = True) -> dict:
    """run.json, then every view of it: junit.xml, report.html, the JC-STAR ★1 checklist
    (HTML, CSV, JSON) and the OSCAL assessment results."""
    from harness.report import approval, checklist, html, junit, oscal, transcripts
    from harness.report import pdf as pdf_out
    from harness.runner.context import Journal
    run = build_run(Journal(out_dir / "journal.jsonl").events())
    write_text(redact, out_dir / "run.json", json.dumps(run, indent=2, sort_keys=False))
    write_text(redact, out_dir / "junit.xml", junit.render(run))
    for d in run["devices"]:                    # the transcripts a finding links into
        log = out_dir / "logs" / f"{d['name']}.log"
        if log.is_file():
            write_text(redact, log.with_suffix(".html"), transcripts.render(log))
    redact_ = getattr(redact, "redactor", redact)
    page = redact_(html.render(run, approval.status(out_dir), now()))
    write_text(redact, out_dir / "report.html", page)
    if pdf:
        pdf_out.render(page, out_dir / "report.pdf", out_dir)
    jc = checklist.build(run)
    if jc is not None:
        write_text(redact, out_dir / "jcstar-checklist.html", html.render_checklist(jc))
        write_text(redact, out_dir / "jcstar-checklist.csv", checklist.to_csv(jc))
        write_text(redact, out_dir / "jcstar-checklist.json",
                   json.dumps(jc, indent=1, ensure_ascii=False))
    write_text(redact, out_dir / "oscal-assessment-results.json",
               json.dumps(oscal.render(run), indent=1, ensure_ascii=False))
    return run
