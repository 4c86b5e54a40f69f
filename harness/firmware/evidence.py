"""Evidence from one firmware image, and what it says per requirement.

`collect` reads every file system the unpacker found; `findings` turns the evidence into
sentences, each naming the requirements it bears on, the file it was read from and how
strong it is: "FAIL" (the image itself shows the flaw), "OBSERVED" (a fact a test case
weighs with the unit's behaviour) or "NOT_FOUND" (looked for and absent, which an image
alone cannot prove: a check may live in a binary). The image never overrides the unit:
`compare` reports where they disagree.
"""
from __future__ import annotations

import hashlib

from harness.firmware import accounts, keys, services, software
from harness.firmware.rootfs import RootFS

TEST_CASE = {            # the test case each kind of image evidence bears on (its catalog
    "default": "TC-CRED-01",      # entries give the requirements: one source)
    "storage": "TC-STORE-01",
    "hardcoded": "TC-UNIQ-02",
    "fixed": "TC-UNIQ-01",
    "debug": "TC-DEBUG-01",
    "interfaces": "TC-SURF-01",
    "update": "TC-UPD-02",
    "vulnerability": "TC-VULN-01",
}


def sha256_file(path) -> str:
    """The image's SHA-256, read in 1 MiB pieces: every piece of evidence names it."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def collect(roots, entries, documented=(), own=()) -> list[dict]:
    """Per file system found: accounts, keys, software, boot and update evidence (`own`:
    the unit's own passwords, looked for among the shipped hashes)."""
    out = []
    for chain, path in roots:
        fs = RootFS(path)
        comps, notes = software.inventory(fs)
        out.append({"layer": chain,
                    "accounts": accounts.accounts(fs, entries, documented, own),
                    **keys.scan(fs),
                    "software": [c.to_dict() for c in comps], "software_notes": notes,
                    "boot": services.boot(fs), "update": services.update(fs)})
    return out


def _f(kind, strength, text, where=""):
    from harness.catalog import requirements_of
    tc = TEST_CASE[kind]
    return {"test_case": tc, "requirements": list(requirements_of(tc)), "strength": strength,
            "finding": text, **({"where": where} if where else {})}


def vulnerabilities(filesystems: list[dict], db) -> list[dict]:
    """The image's software against the lab's vulnerability database, as TC-VULN-01 does:
    a known-exploited match is a FAIL, any other match an observation."""
    from harness.vuln.match import Component, match
    comps = [Component(**{k: v for k, v in c.items() if k in Component.__dataclass_fields__})
             for fsd in filesystems for c in fsd["software"]]
    out = []
    for m in match(comps, db):
        what = f"{m.component.name} {m.component.version}: {m.advisory}" + (
            f" ({m.kev['cve']}, known exploited)" if m.kev else "")
        out.append(_f("vulnerability", "FAIL" if m.kev else "OBSERVED", what,
                      m.component.source))
    return out


def findings(filesystems: list[dict]) -> list[dict]:
    out = []
    for fsd in filesystems:
        for a in fsd["accounts"]:
            if not a["login_shell"]:
                continue
            if a["password"] == "empty":
                out.append(_f("default", "FAIL", f"account {a['user']} has an empty password "
                              "and a login shell", "/etc/shadow"))
            elif a.get("known_default"):
                out.append(_f("default", "FAIL", f"account {a['user']}: the shipped password is "
                              f"a known default ({a['known_default']})", "/etc/shadow"))
            if a.get("fingerprint"):
                out.append(_f("fixed", "OBSERVED", f"account {a['user']} ships with a fixed "
                              f"password hash ({a['password']}, fingerprint {a['fingerprint']})"
                              + (": this unit's own password" if a.get("unit_password") else
                                 "") + "; decided over the units of the model: the same hash "
                              "in another unit's image is a shared password", "/etc/shadow"))
            if a.get("weak_scheme"):
                out.append(_f("storage", "FAIL", f"account {a['user']}: password stored as "
                              f"{a['password']} (a broken or fast hash)", "/etc/shadow"))
        for k in fsd["private_keys"]:
            if not k["encrypted"]:
                out.append(_f("hardcoded", "FAIL", f"an unencrypted private key ({k['type']}) "
                              "is shipped in the image: every unit with this image has it",
                              k["path"]))
        for d in fsd["boot"]["debug"]:
            out.append(_f("debug", "FAIL", d["what"], d["where"]))
        for s in fsd["boot"]["started"]:
            telnet = s["service"] == "telnet"
            out.append(_f("interfaces", "FAIL" if telnet else "OBSERVED",
                          f"{s['daemon']} ({s['service']}) starts at boot"
                          + (f" on port {s['port']}" if s.get("port") else "")
                          + (": a cleartext remote shell" if telnet else ""), s["where"]))
        upd = fsd["update"]
        if upd["tools"] and not upd["verify_calls"]:
            out.append(_f("update", "NOT_FOUND", "update tools ship ("
                          + ", ".join(upd["tools"][:3]) + ") but no signature check was "
                          "found in their scripts or configuration"))
    return out


def prints(filesystems: list[dict]) -> dict:
    """What two units' images are compared by (cross-unit test cases): the fingerprints of
    the login accounts' fixed password hashes and of the unencrypted private keys."""
    return {"accounts": sorted({f"{a['user']}:{a['fingerprint']}" for fsd in filesystems
                                for a in fsd["accounts"]
                                if a["login_shell"] and a.get("fingerprint")}),
            "keys": sorted({k["fingerprint"] for fsd in filesystems
                            for k in fsd["private_keys"] if not k["encrypted"]})}


ALIASES = {"https": "http", "mqtts": "mqtt", "ftps": "ftp", "telnets": "telnet"}


def compare(filesystems: list[dict], profile) -> list[str]:
    """Where the image and the unit's profile disagree: a service the image starts at boot
    that the vendor did not declare (by kind, and by port where the boot line names one)."""
    declared = profile.declared_services
    kinds = {ALIASES.get(d.service, d.service) for d in declared}
    ports = {d.port for d in declared}
    out = []
    for fsd in filesystems:
        for s in fsd["boot"]["started"]:
            if s["service"] not in kinds:
                out.append(f"{s['where']}: {s['daemon']} ({s['service']}) starts at boot; the "
                           "profile declares no such service")
            elif s.get("port") and s["port"] not in ports:
                out.append(f"{s['where']}: {s['daemon']} starts on port {s['port']}, which "
                           "the profile does not declare")
    return out
