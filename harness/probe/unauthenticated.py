"""Configuration, control or data reachable without authentication, on every surface kind
that has a check for it (harness.surfaces): HTTP admin paths, RTSP DESCRIBE, anonymous
FTP, anonymous MQTT publish/subscribe, a telnet shell without login, SSH's 'none' method,
TFTP reads — and on the transfer protocols anyone may run unannounced (FTP on 21, TFTP on
69). A refusal counts only with its positive control: the same request answers once the
lab's credential is given (harness.surfaces.control)."""
from __future__ import annotations

from harness import surfaces
from harness.model.evidence import UNIT
from harness.model.verdict import weakest

ALWAYS = {"ftp": 21, "tftp": 69}     # probed even when the profile does not name them


def gather(device) -> list[dict]:
    out, kinds_seen = [], set()
    for s in surfaces.of(device.profile):
        k = surfaces.kind(s)
        kinds_seen.add(k.name)
        if not k.unauthenticated:
            continue
        items = k.unauthenticated(device, s)
        for i in items:
            if s.login:
                i["login"] = s.name       # whose outcome it is (EN 18031-1's login assets)
        refused = [i for i in items if not i["open"] and "control" not in i]
        if refused:
            c = surfaces.control(device, s)
            for i in refused:
                i["control"] = c
        out += items
    for name, port in ALWAYS.items():
        if name not in kinds_seen:
            for item in surfaces.KINDS[name].undeclared(device, port):
                if not item["open"]:
                    item.setdefault("control", {"passed": False, "why": (
                        f"{item['surface']} answers but is not in the profile: no lab "
                        "account proves the refusal means anything")})
                out.append(item)
    return out


def per_login(seen: list[dict]) -> dict[str, tuple[str, str]]:
    """TC-AUTH-01's outcome per login surface (harness.model.evidence.per_surface): FAIL
    where something answers without authentication, NOT_RUN where a refusal has no positive
    control, PASS where every refusal has it. What is open on no login of the profile (an
    anonymous FTP the profile does not name) is the unit's: under UNIT, every login's."""
    out: dict[str, tuple[str, str]] = {}
    for i in seen:
        key = i.get("login") or UNIT
        if i["open"]:
            got = ("FAIL", f"{i['surface']}: reachable without authentication")
        elif key == UNIT:
            continue                      # a refusal on no login: nobody's answer
        elif i["control"]["passed"]:
            got = ("PASS", "refused without credentials; the lab's credential passes")
        else:
            got = ("NOT_RUN", i["control"]["why"])
        if key not in out or weakest([got[0], out[key][0]]) != out[key][0]:
            out[key] = got                # the weakest of the login's items
    return out
