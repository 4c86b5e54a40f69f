"""FTP: the lab's account when it has one; anonymous login on the profile's port, or on
21 when the profile has none (an undeclared FTP is a finding of its own)."""
from harness.errors import DeviceError
from harness.surfaces import Kind, Surface, register


def build(p):
    if not p.ftp:
        return []
    return [Surface(f"ftp:{p.ftp.port}", "ftp", p.ftp.port, p.ftp.username, p.ftp.password,
                    p.ftp, banner=True)]


def attempt(device, s):
    from harness.transport import ftp

    def one(user, pw):
        result = ftp.login(device.wire, device.profile.address, s.port, user, pw)
        if result is None:
            raise DeviceError(f"ftp:{s.port}: connection refused")
        return result["accepted"]
    return one


def anonymous(device, port):
    from harness.transport import ftp
    r = ftp.login(device.wire, device.profile.address, port, "anonymous",
                  "harness@lab.invalid", list_files=True)
    if r is None:
        return []
    return [{"surface": f"ftp:{port}", "reply": r["reply"], "open": r["accepted"],
             "listing": r["listing"]}]


def unauthenticated(device, s):
    return anonymous(device, s.port)


def cleartext(device, s):
    return {"surface": f"ftp:{s.port}",
            "finding": f"ftp:{s.port}: the login crosses the network in plaintext"}


register(Kind("ftp", build, attempt, unauthenticated, cleartext, brute=True,
              services=("ftp",), undeclared=anonymous))
