"""The run-level step: cross-unit test cases decided over the evidence of every unit.

A cross-unit test case (uniqueness of passwords and keys) gathers only its own unit's share
on the device and records it as an `observation` event; no test reaches into another unit
while that unit may be rebooting under another worker. When every device is done, this
step groups the observed units by vendor and model and asks each test case's `decide` for
the verdict, which lands in the journal as an ordinary result.
"""
from __future__ import annotations

from harness.model import Verdict
from harness.model.verdict import Result, now


def pending(events: list[dict]) -> list[dict]:
    """Observations that have no result yet (a resumed or re-rendered run decides once)."""
    decided = {(e["device"], e["test_id"]) for e in events if e["type"] == "result"}
    return [e for e in events if e["type"] == "observation"
            and (e["device"], e["test_id"]) not in decided]


def decide_all(ctx, specs: dict) -> list[Result]:
    events = ctx.journal.events()
    todo = pending(events)
    observed: dict[str, dict[str, dict]] = {}
    for e in (e for e in events if e["type"] == "observation"):
        observed.setdefault(e["test_id"], {})[e["device"]] = e
    out = []
    for e in todo:
        spec = specs.get(e["test_id"])
        device = ctx.device(e["device"])
        model = (device.profile.vendor, device.profile.model)
        peers = [(ctx.device(name), obs["data"]) for name, obs in observed[e["test_id"]].items()
                 if name != device.name
                 and (ctx.device(name).profile.vendor, ctx.device(name).profile.model) == model]
        if spec is None or spec.decide is None:
            verdict, reason, extra = (Verdict.ERROR, "internal error: no decision rule for "
                                      f"the observations of {e['test_id']}", [])
        else:
            try:
                verdict, reason, extra = spec.decide(device, e["data"], peers)
            except Exception as exc:          # a broken rule is an ERROR, never a PASS
                verdict, reason, extra = (Verdict.ERROR, f"internal error in the cross-unit "
                                          f"decision: {type(exc).__name__}: {exc}", [])
        result = Result(test_id=e["test_id"], device=device.name,
                        requirements=e["requirements"], verdict=verdict,
                        reason=ctx.redactor(reason) if reason else "", title=e["title"],
                        steps=e["steps"] + ["decided at the end of the run over the "
                                            "observations of every unit of the model"],
                        evidence=e["evidence"] + extra, artifacts=e["artifacts"],
                        artifact_sha256=e.get("artifact_sha256", {}),
                        destructive=e["destructive"],
                        evaluated=e.get("evaluated", "device"), started=e["started"],
                        duration_s=e["duration_s"])
        ctx.record(result)
        out.append(result)
    return out


def observation_event(result: Result, data: dict) -> dict:
    """The journal event for one unit's share; carries everything its Result will need."""
    return {"type": "observation", "data": data, "recorded": now(),
            **{k: v for k, v in result.to_dict().items() if k not in ("verdict", "reason")}}
