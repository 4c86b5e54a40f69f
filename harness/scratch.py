"""Scratch directories that a killed process does not leave behind for good: each is named
after the PID that made it and its PID namespace (`hx-<what>-<pid>-<pidns>-...` in the
temporary directory), and making a new one first removes those of the same kind whose
process no longer exists. Only our own prefix and dead PIDs of our own PID namespace are
touched: a PID from another namespace (a container, `scripts/own-lab.sh`) sharing the
temporary directory means nothing here."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_namespace() -> str:
    """This process's PID namespace, as the number of its inode."""
    return "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())


def sweep(what: str) -> list[Path]:
    """Remove `hx-<what>-<pid>-<pidns>-*` directories of our PID namespace whose PID is
    gone; returns them."""
    gone, ns = [], pid_namespace()
    for d in Path(tempfile.gettempdir()).glob(f"hx-{what}-*-*-*"):
        pid, theirs = d.name[len(f"hx-{what}-"):].split("-")[:2]
        if pid.isdigit() and theirs == ns and not _alive(int(pid)) and d.is_dir() \
                and not d.is_symlink():
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    return gone


def make(what: str, mode: int = 0o700) -> Path:
    sweep(what)
    d = Path(tempfile.mkdtemp(prefix=f"hx-{what}-{os.getpid()}-{pid_namespace()}-"))
    os.chmod(d, mode)
    return d


@contextlib.contextmanager
def directory(what: str, mode: int = 0o700):
    d = make(what, mode)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)
