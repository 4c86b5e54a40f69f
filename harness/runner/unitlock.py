"""Who is working on a unit right now: one lock per device, shared by every worker of a run.

Each test case holds its own device's lock while it runs (the plugin takes it around the
whole test: setup, body, restores). A test case that must also drive a second unit (two
units of one model: a command addressed to one must not move the other) borrows that unit:
it waits until the unit's own worker is between test cases, and that worker waits in turn
until the borrow ends. Deadlock-free: a borrow lets go of its own unit and takes both in
name order. flock: a killed worker's locks go with its process.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from harness.errors import Inconclusive


class UnitLocks:
    def __init__(self, directory: Path):
        self.dir = directory
        self.held: dict[str, int] = {}          # device name -> open, locked descriptor

    def _path(self, name: str) -> Path:
        return self.dir / f"{name}.lock"

    def acquire(self, name: str, timeout: float | None = None) -> bool:
        """Take the unit's lock (waiting up to timeout; None: as long as it takes). Fair:
        whoever waits passes a gate first, so a worker that lets go of its unit between two
        test cases cannot take it straight back while a borrower is waiting for it."""
        if name in self.held:
            return True
        self.dir.mkdir(parents=True, exist_ok=True)
        end = None if timeout is None else time.monotonic() + timeout
        gate = os.open(self.dir / f"{name}.gate", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _flock(gate, end):
                return False
            fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o600)
            if not _flock(fd, end):
                os.close(fd)
                return False
            self.held[name] = fd
            return True
        finally:
            os.close(gate)            # the next in line may pass

    def release(self, name: str) -> None:
        fd = self.held.pop(name, None)
        if fd is not None:
            os.close(fd)              # releases the flock

    def release_all(self) -> None:
        for name in list(self.held):
            self.release(name)

    @contextlib.contextmanager
    def holding(self, name: str):
        self.acquire(name)
        try:
            yield
        finally:
            self.release(name)

    @contextlib.contextmanager
    def taking(self, name: str, timeout: float, what: str):
        """Hold one more lock (not a unit's: a resource units share) for the block;
        Inconclusive when it stays busy for `timeout` seconds."""
        if not self.acquire(name, timeout):
            raise Inconclusive(f"{what} stayed busy with another test case for "
                               f"{timeout:.0f}s")
        try:
            yield
        finally:
            self.release(name)

    @contextlib.contextmanager
    def borrow(self, own: str, others, timeout: float):
        """Hold `others` as well as `own` for the block (all taken in name order, so two
        units borrowing each other at once take turns); Inconclusive when one of them stays
        busy for `timeout` seconds."""
        had_own = own in self.held
        self.release(own)
        end = time.monotonic() + timeout
        got = []
        try:
            for name in sorted({own, *others}):
                if not self.acquire(name, max(0.0, end - time.monotonic())):
                    raise Inconclusive(f"{name} stayed busy with another test case for "
                                       f"{timeout:.0f}s: it could not be borrowed")
                got.append(name)
            yield
        finally:
            for name in got:
                if name != own or not had_own:
                    self.release(name)
            if had_own and own not in self.held:
                self.acquire(own)


def _flock(fd: int, end: float | None) -> bool:
    """An exclusive flock, waiting until `end` (monotonic; None: without limit)."""
    if end is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= end:
                return False
            time.sleep(0.1)
