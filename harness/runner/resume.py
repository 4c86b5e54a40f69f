"""Finishing a run that was killed: `harness run --resume RUN_DIR`.

The journal says what the run was (its run-start event: profiles and their hashes, lab
config, destructive or not, selection) and what it decided. A resumed run re-runs only the
test cases that have no result yet; one that had started but not finished when the run died
is marked `interrupted` in the journal and run again. Nothing already decided is repeated
or rewritten: the journal stays append-only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.runner.context import Journal, now


@dataclass
class Plan:
    run_id: str
    out_dir: Path
    profiles: list[str]
    lab: str | None
    allow_destructive: bool
    selection: str
    done: set[tuple[str, str]]
    interrupted: list[tuple[str, str]]


def plan(run_dir: str | Path) -> Plan:
    out = Path(run_dir)
    journal = out / "journal.jsonl"
    if not journal.is_file():
        raise InputError("no journal.jsonl here: not a run directory", str(out), None,
                         "--resume")
    events = Journal(journal).events()
    head = next((e for e in events if e.get("type") == "run-start"), None)
    if head is None:
        raise InputError("the journal has no run-start event", str(journal), None, "--resume")
    last = next((e for e in reversed(events) if e.get("type") == "run-end"), None)
    if last is not None and not last.get("stopped"):       # a stopped run goes on
        raise InputError("this run finished; nothing to resume (rebuild its reports with "
                         "`harness report`)", str(out), None, "--resume")
    from harness.profile.loader import load_profile
    for d in head["devices"]:
        _profile, digest = load_profile(d["profile"], defer_secrets=[])
        if digest != d["profile_sha256"]:
            raise InputError("the profile changed since the run started; a resumed run must "
                             "test what the run began with", d["profile"], None, "--resume")
    done = {(e["device"], e["test_id"]) for e in events
            if e.get("type") in ("result", "observation")}
    started = [(e["device"], e["test_id"]) for e in events if e.get("type") == "test-start"]
    interrupted = [k for k in dict.fromkeys(started) if k not in done]
    return Plan(head["run_id"], out, [d["profile"] for d in head["devices"]],
                head["lab"].get("config"), head["allow_destructive"], head.get("selection", ""),
                done, interrupted)


def mark(ctx, p: Plan) -> None:
    """Journal the resumption and the test cases the kill interrupted."""
    for device, test_id in p.interrupted:
        ctx.journal.append({"type": "interrupted", "device": device, "test_id": test_id,
                            "noted": now(), "note": "the run stopped while this test case "
                            "ran; it runs again in the resumed run"})
    ctx.journal.append({"type": "resumed", "at": now(), "already_decided": len(p.done),
                        "interrupted": [f"{d} {t}" for d, t in p.interrupted]})

