"""Accounts in an image: who can log in, how each password is stored, and whether it is a
known default (the credential list, the vendor's documented defaults). A hash is never
printed: it is named by its scheme and a fingerprint (a digest of the stored string), so
two images can be compared without either hash leaving the evidence."""
from __future__ import annotations

import hashlib
import re
import subprocess

SCHEMES = {"1": "md5crypt", "2a": "bcrypt", "2b": "bcrypt", "2y": "bcrypt",
           "5": "sha256crypt", "6": "sha512crypt", "y": "yescrypt", "gy": "gost-yescrypt",
           "7": "scrypt", "sha1": "sha1crypt"}
WEAK = {"des", "md5crypt"}                   # broken or fast: ETSI 5.4-1 / ★1 S1.1-11
NO_LOGIN_SHELLS = ("nologin", "/bin/false", "/usr/bin/false", "/dev/null")
MAX_CANDIDATES = 100


def fingerprint(stored: str) -> str:
    return hashlib.sha256(stored.encode()).hexdigest()[:16]


def scheme(stored: str) -> str:
    if stored == "":
        return "empty"
    if stored.startswith(("!", "*")) or stored in ("x", "LK", "NP"):
        return "locked"
    m = re.match(r"^\$([^$]+)\$", stored)
    if m:
        return SCHEMES.get(m.group(1), f"${m.group(1)}$")
    if re.fullmatch(r"[./0-9A-Za-z]{13}", stored):
        return "des"
    return "unknown"


def accounts(fs, entries, documented=(), own=()) -> list[dict]:
    """One entry per account of /etc/passwd (hashes from /etc/shadow where it has them).
    `own`: the unit's own passwords (its profile's): whether the image ships one of them."""
    passwd = fs.text("/etc/passwd") or ""
    shadow = {}
    for line in (fs.text("/etc/shadow") or "").splitlines():
        f = line.split(":")
        if len(f) >= 2:
            shadow[f[0]] = f[1]
    out = []
    for line in passwd.splitlines()[:2000]:
        f = line.split(":")
        if len(f) < 7 or not f[0]:
            continue
        user, stored, uid, shell = f[0], f[1], f[2], f[6]
        if stored == "x":
            stored = shadow.get(user, "*")
        kind = scheme(stored)
        login = not shell.endswith(NO_LOGIN_SHELLS)
        a = {"user": user, "uid": uid, "shell": shell, "login_shell": login, "password": kind}
        if kind not in ("locked", "empty"):
            a["fingerprint"] = fingerprint(stored)
            a["weak_scheme"] = kind in WEAK
            a.update(_known(user, stored, kind, entries, documented))
            if any(_matches(stored, kind, pw) for pw in list(own)[:5]):
                a["unit_password"] = True
        out.append(a)
    return out


def _known(user: str, stored: str, kind: str, entries, documented) -> dict:
    cands = [(d.password, "the vendor's documented default") for d in documented
             if d.username == user]
    cands += [(e.password, e.source) for e in entries if e.username == user]
    seen, tried = set(), 0
    for password, source in cands:
        if password in seen:
            continue
        seen.add(password)
        tried += 1
        if tried > MAX_CANDIDATES:
            break
        ok = _matches(stored, kind, password)
        if ok is None:
            return {"known_default": None,
                    "not_checked": f"{kind} hashes cannot be computed here"}
        if ok:
            return {"known_default": source, "tried": tried}
    return {"known_default": None, "tried": min(tried, MAX_CANDIDATES)}


def _matches(stored: str, kind: str, password: str) -> bool | None:
    """Whether `password` hashes to `stored`; None when this machine cannot tell (openssl
    computes md5crypt and the SHA-crypt schemes at their default rounds only)."""
    if kind in ("md5crypt", "sha256crypt", "sha512crypt") and "rounds=" not in stored:
        flag = {"md5crypt": "-1", "sha256crypt": "-5", "sha512crypt": "-6"}[kind]
        salt = stored.split("$")[2]
        got = subprocess.run(["openssl", "passwd", flag, "-salt", salt, "-stdin"],
                             input=password, capture_output=True, text=True, timeout=10).stdout
        return got.strip() == stored
    return None
