"""An unpacked file system read as the device would see it, never as this host would.

Firmware links are absolute to the *device's* root (`/bin/sh -> /bin/busybox`); followed
naively they would read this machine's files. Every path here is resolved component by
component inside the extraction directory, absolute links re-rooted there and `..` stopped
at its top, so no read leaves it. Files are opened without following a final link.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

MAX_LINKS = 40                 # as the kernel's own limit on links in one path


class RootFS:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def resolve(self, path: str) -> Path | None:
        """The real location of the device path `path` inside the root, or None (missing,
        a link loop, or more than MAX_LINKS links)."""
        parts = [p for p in PurePosixPath("/" + path).parts[1:] if p not in ("", ".")]
        done: list[str] = []
        hops = 0
        while parts:
            name = parts.pop(0)
            if name == "..":
                if done:
                    done.pop()
                continue
            here = self.root.joinpath(*done, name)
            try:
                st = os.lstat(here)
            except OSError:
                return None
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_LINKS:
                    return None
                target = os.readlink(here)
                if target.startswith("/"):
                    done = []
                parts = [p for p in PurePosixPath(target).parts if p not in ("/", "", ".")] \
                    + parts
                continue
            done.append(name)
        return self.root.joinpath(*done)

    def read(self, path: str, limit: int = 1 << 20) -> bytes | None:
        """Up to `limit` bytes of a regular file at the device path, or None."""
        real = self.resolve(path)
        return None if real is None else read_regular(real, limit)

    def text(self, path: str, limit: int = 1 << 20) -> str | None:
        data = self.read(path, limit)
        return None if data is None else data.decode("utf-8", "replace")

    def listdir(self, path: str) -> list[str]:
        real = self.resolve(path)
        if real is None or not real.is_dir() or real.is_symlink():
            return []
        return sorted(os.listdir(real))

    def files(self, top: str = "/", limit: int = 200_000):
        """(device path, real path, lstat) of every regular file under `top`, links not
        followed; at most `limit` entries."""
        real_top = self.resolve(top)
        if real_top is None:
            return
        count = 0
        for dirpath, dirnames, filenames in os.walk(real_top, followlinks=False):
            dirnames.sort()
            for f in sorted(filenames):
                real = Path(dirpath, f)
                try:
                    st = os.lstat(real)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                count += 1
                if count > limit:
                    return
                yield "/" + str(real.relative_to(self.root)), real, st


def read_regular(real: Path, limit: int) -> bytes | None:
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit)
    finally:
        os.close(fd)
