"""One emulated lab per machine, shared by whoever uses it: `up` and `down` change it for
everyone, so they wait for each other (bounded) and refuse while a run or a test session is
using the lab. A user holds a shared lock on a file beside the state directory; up and down
take it exclusively. A killed process's lock goes with it (flock); its user note is ignored."""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from harness.emulate.netns import STATE, EmulateError, _alive

LOCK = Path(f"{STATE}.lock")        # beside the state directory: `down` removes that one
USERS = Path(f"{STATE}.users")


def users() -> list[str]:
    """Who is using the lab now: 'PID n (purpose, since time)'."""
    out = []
    for f in sorted(USERS.glob("*")) if USERS.is_dir() else []:
        if f.name.isdigit() and _alive(int(f.name)):
            out.append(f"PID {f.name} ({f.read_text().strip()})")
    return out


def _lock(mode: int, wait: float, refuse: str) -> int:
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                who = users()
                raise EmulateError(f"{refuse}: the emulated lab is in use by "
                                   f"{'; '.join(who) or 'another harness emulate up/down'}. "
                                   "Wait for it to finish (or stop it), then try again.")
            time.sleep(0.2)


@contextmanager
def changing(what: str, wait: float = 10.0):
    """Held while `up` or `down` changes the lab."""
    fd = _lock(fcntl.LOCK_EX, wait, f"cannot {what}")
    try:
        yield
    finally:
        os.close(fd)


@contextmanager
def using(purpose: str, wait: float = 180.0):
    """Held while a run or a test session uses the lab; an `up` in progress is waited for."""
    fd = _lock(fcntl.LOCK_SH, wait, f"cannot start {purpose}")
    USERS.mkdir(mode=0o700, exist_ok=True)
    note = USERS / str(os.getpid())
    note.write_text(f"{purpose}, since {time.strftime('%H:%M:%S')}")
    try:
        yield
    finally:
        note.unlink(missing_ok=True)
        os.close(fd)


def uses_emulated(profile_paths) -> bool:
    from harness.emulate.profiles import PROFILE_DIR
    return any(Path(p).resolve().is_relative_to(PROFILE_DIR) for p in profile_paths)
