"""The console transports' logic against scripted devices (fakes are fine for pure logic;
the lab tests prove the same against real daemons): telnet option negotiation, a login
that survives doubled prompts, a shell left open by someone else."""
import time

from harness.transport.telnet import DO, ECHO, IAC, SGA, TelnetConsole, WILL


def test_telnet_negotiation():
    class FakeSock:
        sent = b""

        def sendall(self, data):
            self.sent += data
    t = TelnetConsole.__new__(TelnetConsole)
    t.sock, t._pending = FakeSock(), b""
    data = bytes([IAC, WILL, ECHO, IAC, DO, 24]) + b"login: " + bytes([IAC, IAC])
    assert t._negotiate(data[:2]) == b""                       # split command is kept
    assert t._negotiate(data[2:]) == b"login: " + bytes([IAC])
    assert t.sock.sent == bytes([IAC, DO, ECHO, IAC, 252, 24])  # DO ECHO, WONT TTYPE
    assert t._negotiate(bytes([IAC, WILL, SGA])) == b""


class _ScriptedLogin:
    """A console device: login prompt (twice, like a slow telnetd that also answers our
    newline), password, then a shell that answers arithmetic; or 'Login incorrect'."""

    def __init__(self, password, shell_answers=True, hang_up=False):
        self.password, self.shell_answers, self.out, self.state = password, \
            shell_answers, b"", "start"
        self.hang_up = hang_up          # after a wrong password: "bad salt", then closed
        self.no_login = False           # a root shell on the console: `exit` gives another

    def left_in_shell(self, no_login=False):
        """A shell already open: an earlier session's, or a console with no login at all."""
        self.state, self.no_login = "shell", no_login
        return self

    def write(self, data: bytes):
        import re as _re
        text = data.decode()
        if self.state == "start" and text == "\n":
            self.out += b"login: login: "
            self.state = "user"
        elif self.state == "user":
            self.out += text.encode() + b"Password: "
            self.state = "password"
        elif self.state == "password":
            ok = text.strip() == self.password
            self.out += b"# " if ok else b"su: bad salt\n" if self.hang_up else \
                b"\nLogin incorrect\nlogin: "
            self.state = "shell" if ok else "closed" if self.hang_up else "user"
        elif self.state == "shell" and text.strip() == "exit":
            self.out += b"# " if self.no_login else b"\nlogin: "
            self.state = "shell" if self.no_login else "user"
        elif self.state == "shell" and text == "\n":
            self.out += b"# "
        elif self.state == "shell" and self.shell_answers:
            m = _re.search(r"HX\$\(\((\d+)\+(\d+)\)\)OK", text)
            if m:
                self.out += f"HX{int(m.group(1)) + int(m.group(2))}OK\n# ".encode()


def _console(device):
    from harness.errors import ConnectionClosed
    from harness.lab.scope import Scope
    from harness.profile.schema import Prompts
    from harness.transport.console import Console
    from harness.transport.transcript import Transcript
    from harness.transport.wire import Wire

    class Scripted(Console):
        def _read(self, timeout):
            data, device.out = device.out, b""
            if not data and device.state == "closed":
                raise ConnectionClosed("scripted: connection closed by the device")
            if not data:
                time.sleep(min(timeout, 0.05))
            return data

        def _write(self, data):
            device.write(data)
    return Scripted(Wire(Scope(["198.18.0.0/24"]), Transcript(None), command_timeout=1.0),
                    Prompts())


def test_console_login_survives_a_doubled_prompt_and_tells_unknown_from_refused():
    assert _console(_ScriptedLogin("right")).login("admin", "right") == "accepted"
    assert _console(_ScriptedLogin("right")).login("admin", "wrong") == "rejected"
    # a prompt after the password but no working shell: not a refusal, and the credential
    # tests make that an ERROR instead of "refused"
    assert _console(_ScriptedLogin("right", shell_answers=False)).login(
        "admin", "right") == "unknown"
    # a hang-up after the password (busybox login on a locked account): no shell was given
    assert _console(_ScriptedLogin("right", hang_up=True)).login("root", "wrong") == "closed"


def test_a_shell_left_open_on_the_console_is_not_a_known_credential_accepted():
    """CI: a slow positive control left the serial console logged in; the next known
    credential tried met that shell and read as accepted (a false FAIL). The shell is
    logged out and the credential asked for again; a console that is a shell whatever
    happens (no login at all) still takes any password."""
    from harness.surfaces.telnet import console_attempt
    left = _ScriptedLogin("right").left_in_shell()
    assert console_attempt(lambda: _console(left))("admin", "admin") is False
    assert console_attempt(lambda: _console(left))("admin", "right") is True
    rooted = _ScriptedLogin("right").left_in_shell(no_login=True)
    assert console_attempt(lambda: _console(rooted))("admin", "anything") is True


class _AshPrompt(_ScriptedLogin):
    """busybox ash with line editing: after each prompt it asks the terminal for the cursor
    position (ESC [ 6 n), which a prompt match must see through (the QEMU units' shell)."""

    def write(self, data: bytes):
        super().write(data)
        self.out = self.out.replace(b"# ", b"# \x1b[6n")


def test_a_prompt_followed_by_a_terminal_query_is_still_the_prompt():
    assert _console(_AshPrompt("right")).login("admin", "right") == "accepted"
    assert _console(_AshPrompt("right").left_in_shell(no_login=True)).login(
        "admin", "x") == "no-login"


class _SlowBoot(_ScriptedLogin):
    """A boot log that never reaches a prompt within the wait (a loaded machine)."""

    def write(self, data: bytes):
        pass                            # break keys go nowhere


def test_a_boot_without_a_prompt_counts_the_lines_it_did_show():
    """A watch that ended without a prompt reported '0 lines of boot output' although the
    boot log had come: the lines no pattern took count too, and their tail is kept."""
    from harness.probe.bootloader import watch_boot
    from harness.profile.access import Bootloader
    device = _SlowBoot("x")
    settings = Bootloader(boot_wait=1.0)

    def cycle():
        device.out += b"U-Boot 2023.01\nstarting kernel\n[    1.0] init\n"
    seen = watch_boot(_console(device), cycle, settings, ["login:", "# "])
    assert not seen["booted"] and not seen["bootloader_prompt"]
    assert seen["output_lines"] == 3
    assert "init" in seen["boot_log_tail"]


class _RootShellRebooting(_ScriptedLogin):
    """A root shell on the console that answers every break key with a fresh prompt while
    the power cycle has not yet cut it (the QEMU unit under load: gate of 2026-12-03)."""

    def __init__(self):
        super().__init__("x")
        self.state, self.rebooted = "shell", False

    def write(self, data: bytes):
        if not self.rebooted:
            self.out += b"^C\n# "


def _watch(device, boot_output: bytes, delay: float):
    from harness.probe.bootloader import watch_boot
    from harness.profile.access import Bootloader

    def cycle():
        time.sleep(delay)
        device.rebooted = True
        device.out += boot_output
    return watch_boot(_console(device), cycle, Bootloader(boot_wait=3.0), ["login:", "# "])


def test_the_old_systems_prompts_before_the_reboot_are_not_a_boot():
    """The break keys reached the old root shell, which answered with prompts: counted as a
    boot that ran past the keys, that gave a PASS on a unit whose bootloader was open."""
    seen = _watch(_RootShellRebooting(), b"U-Boot 2023.01\nStarting kernel\n[ 1.0] init\n# ",
                  delay=1.0)
    assert seen["prompts_before_boot"] >= 1
    assert seen["bootloader_started"] and seen["booted"] == "shell prompt"


def test_a_boot_without_the_bootloaders_banner_is_not_watched():
    seen = _watch(_RootShellRebooting(), b"Starting kernel\n[ 1.0] init\nlogin: ", delay=0.5)
    assert not seen["bootloader_started"] and not seen["booted"]
    assert "init" in seen["boot_log_tail"]


class _EchoingShell(_RootShellRebooting):
    """After the reboot, a root shell whose line discipline echoes what is typed: a break
    key sent just as its prompt came lands behind the prompt ("#  "), and so does every
    later one (the emulated appliance under load: gate of 2026-12-04)."""

    def write(self, data: bytes):
        if self.rebooted:
            self.out += data.replace(b"\x03", b"^C")
        else:
            super().write(data)


def test_a_prompt_with_a_break_key_echoed_behind_it_is_still_the_prompt():
    from harness.probe.bootloader import watch_boot
    from harness.profile.access import Bootloader
    device = _EchoingShell()

    def cycle():
        time.sleep(0.5)
        device.rebooted = True
        device.out += b"U-Boot 2023.01\nStarting kernel\n[ 1.0] init\n#  "
    seen = watch_boot(_console(device), cycle, Bootloader(boot_wait=4.0),
                      ["login:", r"[#$] ?$"])
    assert seen["bootloader_started"] and seen["booted"] == "shell prompt", seen


def test_echo_is_taken_off_only_behind_a_prompt():
    from harness.probe.bootloader import _prompt_behind_echo
    keys, prompts = [" ", "\x03"], [r"(=>|U-Boot>) ?$", "U-Boot \\d", "login:", r"[#$] ?$"]
    assert _prompt_behind_echo("Hit any key\n=>  ^C ^C", prompts, keys) == 0
    assert _prompt_behind_echo("init\n#   \x03", prompts, keys) == 3
    assert _prompt_behind_echo("Starting kernel ...  ", prompts, keys) is None
