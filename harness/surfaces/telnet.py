"""Telnet: a login over a plaintext channel; a shell without login is open access."""
import secrets

from harness.surfaces import Kind, Surface, register


def build(p):
    if not p.telnet:
        return []
    return [Surface(f"telnet:{p.telnet.port}", "telnet", p.telnet.port, p.telnet.username,
                    p.telnet.password, p.telnet, shell=True, banner=True)]


def console_attempt(open_console):
    """attempt(user, password) on a console login (telnet, serial): 'accepted' needs a
    command's output; a console that needs no login takes any password (calibration shows
    it); a prompt without a working shell cannot be decided."""
    from harness.errors import DeviceError

    def attempt(user, pw):
        console = open_console()
        try:
            outcome = console.login(user, pw)
            if outcome == "no-login":
                # a shell before any login: a console that has none, or a session an
                # earlier login left open (a slow one we gave up on). Log it out and ask
                # again on a new connection (a telnet session ends with its shell): only a
                # console that is a shell again takes any password
                console.leave_shell()
                console.close()
                console = open_console()
                outcome = console.login(user, pw)
            if outcome == "unknown":
                raise DeviceError(f"{console.channel}: a prompt after the password, but no "
                                  "working shell: cannot tell whether the login was accepted")
            return outcome in ("accepted", "no-login")
        finally:
            console.close()
    return attempt


def attempt(device, s):
    from harness.transport.telnet import TelnetConsole
    return console_attempt(lambda: TelnetConsole(device.wire, device.profile.prompts,
                                                 device.profile.address, s.port))


def unauthenticated(device, s, port=None):
    from harness.transport.telnet import TelnetConsole
    port = port or s.port
    console = TelnetConsole(device.wire, device.profile.prompts, device.profile.address, port)
    try:
        outcome = console.login("hx-nobody", "hx-wrong-" + secrets.token_hex(4))
    finally:
        console.close()
    return [{"surface": f"telnet:{port}", "login": outcome,
             "open": outcome in ("no-login", "accepted")}]


def cleartext(device, s):
    from harness.transport import net
    greeting = net.banner(device.wire, device.profile.address, s.port, limit=512)
    return {"surface": f"telnet:{s.port}", "answers": bool(greeting),
            "finding": f"telnet:{s.port} login in plaintext"}


register(Kind("telnet", build, attempt, unauthenticated, cleartext, brute=True,
              services=("telnet",),
              undeclared=lambda device, port: unauthenticated(device, None, port)))
