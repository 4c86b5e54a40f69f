"""SNMP (udp/161): v1/v2c with a community string, v3 (USM authPriv) with a user and
passphrase. The community is a password: the known-credential list holds the common ones
(account 'community'), and a v1/v2c agent answers a wrong one with silence — which is why
the positive control (the lab's community answers) comes first and last."""
from harness.errors import TransportTimeout
from harness.surfaces import Kind, Surface, register

COMMUNITY = "community"        # the pseudo-account of v1/v2c communities in the list


def build(p):
    if not p.snmp:
        return []
    s = p.snmp
    user = s.username if s.version == "3" else COMMUNITY
    return [Surface(f"snmp-v{s.version}:{s.port}", "snmp", s.port, user, s.password, s,
                    proto="udp")]


def attempt(device, s):
    from harness.transport import snmp
    cfg = s.section

    def one(user, secret):
        try:
            r = snmp.get(device.wire, device.profile.address, s.port, cfg.version, secret,
                         user if cfg.version == "3" else "", cfg.auth_protocol,
                         cfg.priv_protocol)
        except TransportTimeout:
            if cfg.version == "3":
                raise                   # v3 refuses out loud: silence is the device's
            return False                # v1/v2c: a wrong community gets no answer
        return r["answered"]
    return one


def cleartext(device, s):
    if s.section.version == "3":
        return {"surface": s.name, "security": "USM authPriv", "finding": None}
    return {"surface": s.name, "finding": f"{s.name}: the community string crosses the "
            "network in plaintext (SNMPv1/v2c)"}


register(Kind("snmp", build, attempt, cleartext=cleartext, brute=True,
              silent_refusal=lambda s: s.section.version != "3", services=("snmp",)))
