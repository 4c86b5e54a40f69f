"""TFTP (udp/69): no credentials at all, so any file it hands out is handed to anyone.
TC-AUTH-01 asks for the files the vendor documents and the names configuration backups
usually have, on the profile's TFTP port or on 69 when the profile has none."""
from harness.surfaces import Kind, Surface, register

COMMON = ("config.bin", "backup.cfg", "startup-config", "running-config", "config.cfg",
          "router.cfg", "nvram.bin", "config.tar.gz")


def build(p):
    if not p.tftp:
        return []
    return [Surface(f"tftp:{p.tftp.port}", "tftp", p.tftp.port, section=p.tftp, login=False,
                    proto="udp")]


def anonymous(device, port, names=()):
    """Read the first block of each name; stop at the first file read or at silence."""
    from harness.transport import tftp
    tried = []
    for name in dict.fromkeys([*names, *COMMON]):
        r = tftp.read_first_block(device.wire, device.profile.address, port, name)
        if r["answer"] == "none":
            if not tried:
                return []                 # nothing on this port
            break
        tried.append(name)
        if r["answer"] == "data":
            return [{"surface": f"tftp:{port}", "read": name, "bytes": r["bytes"],
                     "open": True}]
    return [{"surface": f"tftp:{port}", "tried": tried, "open": False,
             "control": {"passed": False, "why": "TFTP has no login: only a file the lab "
                         "knows to exist and to be private would show the refusal means "
                         "anything"}}]


def unauthenticated(device, s):
    return anonymous(device, s.port, s.section.files)


register(Kind("tftp", build, unauthenticated=unauthenticated, services=("tftp",),
              undeclared=anonymous))
