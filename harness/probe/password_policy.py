"""Offline checks of the passwords the lab was given, before any packet is sent.

A unit whose lab-given password is weak fails whatever an online probe could reach within
its per-account limit. The policy and its sources:
- not a known default or weak credential (the whole known-credential list, any account) —
  ETSI EN 303 645 5.1-1/5.1-2, UK PSTI;
- not on the common-password blocklist — NIST SP 800-63B §5.1.1.2 (compare against
  commonly-used and compromised values);
- not derived from the unit's identifiers (serial number, MAC) — ETSI 5.1-1, UK PSTI;
- at least 8 characters, not the user name, the vendor or the model, not a run of one
  character or a plain sequence — NIST SP 800-63B §5.1.1.2 (minimum length 8,
  context-specific words, repetitive or sequential characters).
Findings name the surface, the account and the rule, never the password.
"""
from __future__ import annotations

import re
from pathlib import Path

BLOCKLIST = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt"
MIN_LENGTH = 8
POLICY = ("known-credential list (ETSI 5.1-1/5.1-2), common-password blocklist (NIST SP "
          "800-63B §5.1.1.2), not derived from serial number or MAC (ETSI 5.1-1, UK PSTI), "
          f"at least {MIN_LENGTH} characters, not the user name, vendor or model, no "
          "repeated or sequential characters (NIST SP 800-63B §5.1.1.2)")


def blocklist(path: Path = BLOCKLIST) -> set[str]:
    return {line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


def lab_passwords(profile) -> list[tuple[str, str, str]]:
    """(surface, user, password) for every password the profile gives the lab."""
    from harness import surfaces
    return [(s.name, s.username or "", s.password.get_secret_value())
            for s in surfaces.logins(profile) if s.has_credentials]


def derived_from_identifiers(password: str, profile) -> str | None:
    pw = re.sub(r"[^0-9a-z]", "", password.lower())
    for label, value in (("serial number", profile.serial_number), ("MAC", profile.mac)):
        if not value:
            continue
        v = re.sub(r"[^0-9a-z]", "", value.lower())
        for part in (v, v[-6:], v[-8:]):
            if len(part) >= 6 and part in pw:
                return f"contains part of the {label}"
    return None


def _sequential(pw: str) -> bool:
    if len(pw) < 4:
        return False
    steps = {ord(b) - ord(a) for a, b in zip(pw, pw[1:])}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def weaknesses(password: str, user: str, profile, known, blocked: set[str]) -> list[str]:
    """The rules this password breaks (empty when none)."""
    out = []
    hit = next((i for i, e in enumerate(known) if e.password == password), None)
    if hit is not None:
        out.append(f"is on the known-credential list (entry {hit + 1} of {len(known)}: "
                   f"{known[hit].source})")
    if password.lower() in blocked:
        out.append("is on the common-password blocklist (NIST SP 800-63B)")
    derived = derived_from_identifiers(password, profile)
    if derived:
        out.append(derived)
    if len(password) < MIN_LENGTH:
        out.append(f"is shorter than {MIN_LENGTH} characters")
    lowered = password.lower()
    for label, word in (("user name", user), ("vendor", profile.vendor), ("model", profile.model)):
        if word and lowered == word.lower():
            out.append(f"equals the {label}")
    if _sequential(password):
        out.append("is one repeated character or a plain sequence")
    return out


def check(profile, known) -> list[dict]:
    """One entry per lab-given password: surface, user, and the rules it breaks."""
    blocked = blocklist()
    return [{"surface": surface, "user": user,
             "breaks": weaknesses(pw, user, profile, known, blocked)}
            for surface, user, pw in lab_passwords(profile)]
