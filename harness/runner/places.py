"""The run's labgrid places: acquired before the first test case, released after the last.

The process that owns the run acquires every place its profiles name before it forks the
device workers (harness.runner.forkpool), which inherit what it got. A place that cannot be acquired
(held by another run past the lab's wait, missing, out of scope) makes that unit's test
cases ERROR with the cause; the other units go on. The journal records each acquisition
and release. A killed run's places stay held by its name; `--resume` takes them back.
"""
from __future__ import annotations

from harness.errors import DeviceError, ScopeError
from harness.lab import labgrid
from harness.runner.context import now


def _client(ctx):
    return labgrid.Client(ctx.lab.labgrid, ctx.lab.scope_checker(), labgrid.holder(ctx.run_id))


def acquire_all(ctx) -> None:
    wanted = [d for d in ctx.devices if d.profile.lab.labgrid_place]
    for device in wanted:
        place = device.profile.lab.labgrid_place
        event = {"type": "place", "time": now(), "device": device.name}
        try:
            res = _client(ctx).acquire(place)
            device.place = {"place": place, "holder": labgrid.holder(ctx.run_id), **res}
            event.update(event="acquired", **device.place)
        except (DeviceError, ScopeError) as exc:
            device.place = {"place": place, "error": str(exc)}
            event.update(event="acquire-failed", place=place, cause=str(exc))
        ctx.journal.append(event)


def release_all(ctx) -> None:
    for device in ctx.devices:
        if not device.place or "error" in device.place:
            continue
        event = {"type": "place", "time": now(), "device": device.name,
                 "place": device.place["place"], "event": "released"}
        try:
            _client(ctx).release(device.place["place"])
        except (DeviceError, ScopeError) as exc:
            event.update(event="release-failed", cause=str(exc))
        ctx.journal.append(event)


def power_cycle(lab, device, off_seconds: float = 2.0) -> str:
    """Switch the unit off and on again through its place's power driver."""
    place = device.place or {}
    if "error" in place or not place.get("holder"):
        raise DeviceError(f"labgrid place {device.profile.lab.labgrid_place}: "
                          + place.get("error", "not acquired by this run"))
    if not place.get("power"):
        raise DeviceError(f"labgrid place {place['place']} has no power switch")
    labgrid.Client(lab.labgrid, lab.scope_checker(), place["holder"]).power(
        place["place"], "cycle", off_seconds)
    return "power cycled through labgrid"
