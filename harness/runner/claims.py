"""Which run is testing a unit: a claim per unit, shared by every run on this host.

Two runs on one unit at once spoil each other's evidence (one run's wrong passwords lock the
other's login out, one's power cycle cuts the other's scan). So the process that owns a run
claims each unit before it forks the device workers, and lets the claim go as soon as the
unit's last test case has ended, its restores included (then the `unit-done` event: the
lab may take the unit back while others are still tested), or when the run ends. A unit
is named by what reaches it — its addresses and its serial console (a profile of another
name for the same unit is the same unit) — and each name is a lock file in the lab's
`unit_claims.directory`, shared like /tmp (no link is followed or written through).

A unit another run holds (past `unit_claims.wait`) makes that unit's test cases ERROR, naming
the holder; the other units go on. Units behind a labgrid place are the coordinator's.
flock: a killed run's claims go with its processes; the workers close their inherited copies
at once, so a claim is held by the owner alone and ends when it lets go.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import json
import os
import re
import stat
import time
from pathlib import Path

from harness.errors import Inconclusive
from harness.profile.access import LABGRID
from harness.runner.context import now

POLL = 0.5


def names(profile) -> list[str]:
    """What reaches the unit, as lock-file names: its addresses, its local serial port."""
    if profile.lab.labgrid_place:
        return []
    out = []
    for a in (profile.address, profile.address6):
        if a:
            try:
                a = ipaddress.ip_address(a).compressed
            except ValueError:
                pass
            out.append(f"ip-{a}")
    if profile.serial and profile.serial.port != LABGRID:
        port = profile.serial.port
        out.append("serial-" + (os.path.realpath(port) if port.startswith("/") else port))
    return [re.sub(r"[^A-Za-z0-9.-]", "_", n) for n in out]


def directory(lab, lab_path) -> Path:
    d = Path(lab.unit_claims.directory)
    return d if d.is_absolute() else Path(lab_path).resolve().parent / d


class Claims:
    """The claims one run holds: device name -> the open, locked descriptors."""

    def __init__(self, where: Path, holder: dict):
        self.dir, self.holder = where, holder
        self.held: dict[str, list[int]] = {}
        self.names: dict[str, list[str]] = {}   # device name -> the unit's names it holds
        self.pending: set[str] = set()          # done, let go once no borrow holds them

    def claim(self, device: str, unit: list[str], wait: float = 0.0) -> str | None:
        """Claim every name of the unit (all or none); None when claimed, else who holds it."""
        mine = {n: d for d, held in self.names.items() for n in held}
        if any(n in mine for n in unit):
            twice = next(n for n in unit if n in mine)
            return f"{twice}: this run tests it already, as {mine[twice]}"
        end = time.monotonic() + wait
        while True:
            got, busy = self._try(device, unit)
            if busy is None:
                self.held[device], self.names[device] = got, list(unit)
                return None
            if time.monotonic() >= end:
                return busy[1]
            time.sleep(POLL)

    def _try(self, device: str, unit: list[str]) -> tuple[list[int], tuple | None]:
        """Every name locked now (their descriptors), or none and (holder, why)."""
        try:
            _directory(self.dir)
        except OSError as exc:
            return [], ({}, f"its claim could not be made in {self.dir}: {exc.strerror}")
        got = []
        for name in sorted(unit):
            try:
                fd = _open(self.dir / f"{name}.lock")
            except OSError as exc:
                busy = ({}, f"{name}: its claim file cannot be used ({exc.strerror})")
                break
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                busy = (holder, f"{name}: {_said(holder)}")
                os.close(fd)
                break
            got.append(fd)
        else:
            for fd in got:
                _write(fd, {**self.holder, "device": device, "since": now()})
            return got, None
        for fd in got:
            os.close(fd)
        return [], busy

    @contextlib.contextmanager
    def borrowing(self, devices, wait: float):
        """A test case that drives other units of the run (harness.device.Device) holds
        their claims for the block: still this run's, or claimed again if the run has let
        them go. Inconclusive when another run holds one for `wait` seconds. The caller
        holds the units' run-local locks (harness.runner.unitlock), so the owner does not
        let a borrowed unit go meanwhile (`settle`)."""
        got: list[int] = []
        try:
            for device, unit in sorted((d.name, names(d.profile)) for d in devices):
                end = time.monotonic() + wait
                while unit and device not in self.held:
                    fds, busy = self._try(device, unit)
                    if busy is None or busy[0].get("run") == self.holder.get("run"):
                        got += fds
                        break
                    if time.monotonic() >= end:
                        raise Inconclusive(f"{device} could not be borrowed: it is claimed "
                                           f"({busy[1]}) for {wait:.0f}s")
                    time.sleep(POLL)
            yield
        finally:
            for fd in got:
                os.ftruncate(fd, 0)
                os.close(fd)

    def release(self, device: str) -> None:
        self.names.pop(device, None)
        for fd in self.held.pop(device, []):
            os.ftruncate(fd, 0)
            os.close(fd)                  # the flock goes with the last descriptor

    def release_all(self) -> None:
        self.pending = set()
        for device in list(self.held):
            self.release(device)

    def close_inherited(self) -> None:
        """In a forked worker: its copies closed, so the owner's release ends the claim."""
        for fds in self.held.values():
            for fd in fds:
                os.close(fd)
        self.held, self.names, self.pending = {}, {}, set()


DONE_WAIT = 2.0


def settle(ctx, done: str | None = None) -> list[str]:
    """In the run's owner, as test cases end: a unit whose last one has ended (`done`) is
    let go, unless a test case is in it right now (its run-local lock is taken: a borrow
    from a sibling, or its own worker not yet out of its last one): then when a later one
    ends, or when the run ends. Returns the units let go now."""
    let_go = []
    if done:
        ctx.claims.pending.add(done)
    for name in sorted(ctx.claims.pending):
        if name in ctx.units.held:            # tested in this process: nothing borrows it
            free = True
        # the unit's own worker sends its last test case's end from inside it, and leaves
        # it right after: waited for briefly (a borrow is not: checked again later)
        elif ctx.units.acquire(name, timeout=DONE_WAIT if name == done else 0):
            ctx.units.release(name)
            free = True
        else:
            free = False
        if free:
            ctx.claims.pending.discard(name)
            ctx.claims.release(name)
            let_go.append(name)
    return let_go


def claim_all(ctx) -> None:
    """Claim every unit of the run (not those behind a labgrid place); a busy one is recorded
    on the device (its test cases ERROR) and in the journal."""
    lab = ctx.lab
    for device in ctx.devices:
        unit = names(device.profile)
        if not unit:
            continue
        busy = ctx.claims.claim(device.name, unit, lab.unit_claims.wait)
        event = {"type": "claim", "time": now(), "device": device.name, "unit": unit}
        if busy:
            device.busy = (f"the unit is claimed ({busy}): no two runs, nor two profiles "
                           f"of one run, test a unit at once (waited "
                           f"{lab.unit_claims.wait:.0f}s)")
            event.update(event="busy", cause=device.busy)
        else:
            event.update(event="claimed")
        ctx.journal.append(event)


def _directory(d: Path) -> None:
    """The claims' directory, made like /tmp (every user's runs claim there); one that is a
    link, or another user's (root's is everyone's), is not used."""
    if not d.exists() and not d.is_symlink():
        d.mkdir(parents=True)
        os.chmod(d, 0o1777)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (0, os.geteuid()):
        raise OSError(errno.EPERM, "not a directory of root's or this user's (a link, or "
                      "another user's)")


def _open(path: Path) -> int:
    """The lock file, never another file under its name: no link followed, none with a
    second name (a hard link to a file elsewhere), nothing but a regular file."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o666)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise OSError(errno.EPERM, "not a plain lock file (a link, or not a regular file)")
    if st.st_uid == os.geteuid():
        os.fchmod(fd, 0o666)              # another user's run may claim it later
    return fd


def _write(fd: int, holder: dict) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder, sort_keys=True).encode(), 0)


def _holder(fd: int) -> dict:
    """Who holds it, as its claim says (read while it is held)."""
    try:
        h = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return h if isinstance(h, dict) else {}
    except (ValueError, OSError):
        return {}


def _said(h: dict) -> str:
    try:
        return (f"run {h['run']} (pid {h['pid']}, device {h['device']}, since {h['since']}, "
                f"output {h['out']})")
    except KeyError:
        return "a run that wrote no claim (its owner is starting, or another tool)"
