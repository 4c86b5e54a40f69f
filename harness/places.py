"""The run's labgrid places: acquired before the first test case, released after the last.

The process that owns the run (the pytest controller, or the only process) acquires every
place its profiles name and writes what it got to `places.json` in the run directory;
device workers read it there (harness.run.build_context). A place that cannot be acquired
(held by another run past the lab's wait, missing, out of scope) makes that unit's test
cases ERROR with the cause; the other units go on. The journal records each acquisition
and release. A killed run's places stay held by its name; `--resume` takes them back.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from harness.errors import DeviceError, ScopeError
from harness.lab import labgrid
from harness.run import now

FILE = "places.json"


def _client(ctx):
    return labgrid.Client(ctx.lab.labgrid, ctx.lab.scope_checker(), labgrid.holder(ctx.run_id))


def acquire_all(ctx) -> None:
    wanted = [d for d in ctx.devices if d.profile.lab.labgrid_place]
    if not wanted:
        return
    got = {}
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
        got[device.name] = device.place
    path = ctx.out_dir / FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(got, f, indent=2)


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
    (ctx.out_dir / FILE).unlink(missing_ok=True)


def attach(out_dir: Path, devices) -> None:
    """A device worker: the places the run's owner acquired."""
    path = out_dir / FILE
    if not path.exists():
        return
    try:
        got = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    for device in devices:
        if device.name in got:
            device.place = got[device.name]


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
