"""Secure storage, seen through a shell on the device: how passwords are stored."""
from __future__ import annotations

import hashlib
import re
import shlex

SCHEMES = {"$1$": "md5crypt", "$2a$": "bcrypt", "$2b$": "bcrypt", "$2y$": "bcrypt",
           "$5$": "sha256crypt", "$6$": "sha512crypt", "$y$": "yescrypt", "$7$": "scrypt",
           "$argon2": "argon2", "$gy$": "gost-yescrypt", "$sha1$": "sha1crypt"}
STRONG = {"sha512crypt", "sha256crypt", "yescrypt", "bcrypt", "scrypt", "argon2",
          "gost-yescrypt"}


def scheme_of(stored: str) -> str:
    if stored in ("", "*", "!", "!!", "x") or stored.startswith("!"):
        return "locked"
    for prefix, name in SCHEMES.items():
        if stored.startswith(prefix):
            return name
    if re.fullmatch(r"[./0-9A-Za-z]{13}", stored):
        return "descrypt"
    return "plaintext-or-unknown"


def inspect(device, shell, paths: list[str], known_secrets: list[str]) -> dict:
    """Read each secret path; report hash schemes of shadow-style files and whether any
    known secret (the lab's password) appears in plaintext."""
    out = {"files": {}, "accounts": {}, "plaintext_hits": []}
    for path in paths:
        # the content (hashes, keys, other users' passwords) never reaches the transcript:
        # only what the test needs is kept (hash scheme per account, size, a digest)
        with device.wire.transcript.withheld(shell.channel):
            status, text = shell.run(f"cat {shlex.quote(path)} 2>/dev/null")
        if status != 0 or not text.strip():
            out["files"][path] = "absent"
            continue
        out["files"][path] = (f"{len(text)} bytes, sha256 "
                              f"{hashlib.sha256(text.encode()).hexdigest()[:16]}…")
        for line in text.splitlines():
            fields = line.split(":")
            if path.endswith("shadow") and len(fields) >= 2:
                out["accounts"][fields[0]] = scheme_of(fields[1])
        if any(holds_plaintext(text, s) for s in known_secrets if s):
            out["plaintext_hits"].append(path)
    return out


def holds_plaintext(text: str, secret: str) -> bool:
    """The secret stands as a value (after `name:` or `name=`, or alone on a line), or a
    long secret appears anywhere. A short secret that is also an account name is not a hit."""
    for line in text.splitlines():
        line = line.strip()
        if line == secret:
            return True
        for sep in (":", "="):
            if sep in line:
                value = line.split(sep, 1)[1].split(":", 1)[0].strip().strip("'\"")
                if value == secret:
                    return True
        if len(secret) >= 8 and secret in line:
            return True
    return False
