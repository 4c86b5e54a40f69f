"""SSH: password (or the lab's key) logins; the 'none' method without a credential."""
from harness.surfaces import Kind, Surface, register


def build(p):
    if not p.ssh:
        return []
    return [Surface(f"ssh:{p.ssh.port}", "ssh", p.ssh.port, p.ssh.username, p.ssh.password,
                    p.ssh, shell=True, banner=True)]


def attempt(device, s):
    from harness.transport import ssh
    return lambda u, pw: ssh.try_password(device.wire, device.profile.address, s.port, u,
                                          pw) == "accepted"


def unauthenticated(device, s):
    """The 'none' method for the lab's account and root: a server that lets either in
    without a credential is open; one that answers with the methods it wants refuses."""
    from harness.transport.ssh import SSHSession
    out = []
    for user in dict.fromkeys([s.username, "root"]):
        session = SSHSession(device.wire, device.profile.address, s.port)
        try:
            accepted, methods = session.auth_none(user)
        finally:
            session.close()
        out.append({"surface": f"ssh:{s.port} (user {user}, no credential)",
                    "offers": methods, "open": accepted})
    return out


register(Kind("ssh", build, attempt, unauthenticated, brute=True, services=("ssh",)))
