"""Writing files without following links: a report, transcript or artifact path that an
unpacked or edited run directory turned into a symlink (to /etc/hostname, say) is replaced
or refused, never written through."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class LinkRefused(OSError):
    pass


def _parent_ok(path: Path) -> None:
    if path.parent.is_symlink():
        raise LinkRefused(f"{path.parent} is a symbolic link: refusing to write {path.name} "
                          "through it")


def replace(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """`path` written whole: a new file beside it, renamed over it (a link at `path` is
    replaced, its target untouched)."""
    path = Path(path)
    _parent_ok(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def append(path: Path, text: str, mode: int = 0o600) -> None:
    """Append to `path`, refusing a link in its place."""
    path = Path(path)
    _parent_ok(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(text)
