"""Expect-style console logic shared by the serial and telnet transports.

A subclass provides `_read(timeout) -> bytes` and `_write(bytes)`; this class adds the
login dialogue and command execution with positive proof of a shell (a command's
output, never just a prompt).
"""
from __future__ import annotations

import re
import secrets
import time

from harness.errors import ConnectionClosed, DeviceError, TransportTimeout

MAX_BUFFER = 1 << 20
# terminal control sequences a shell writes around its prompt (busybox ash asks for the
# cursor position, ESC [ 6 n, after every prompt): not text, so never in the way of a match
CONTROL = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class Console:
    channel = "console"

    def __init__(self, wire, prompts):
        self.wire = wire
        self.prompts = prompts
        self.buffer = b""
        self.logged_in = False

    # subclass hooks
    def _read(self, timeout: float) -> bytes:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.logout()

    def logout(self) -> None:
        """Leave the console as we found it: a login we opened is closed again, so the next
        user (or test) meets a login prompt, not our shell."""
        if self.logged_in:
            self.logged_in = False
            try:
                self._write(b"exit\n")
            except Exception:  # noqa: BLE001 - best effort on a console that may be gone
                pass

    def leave_shell(self) -> None:
        """Log out of a shell found open (not ours): `exit`, then let the getty settle."""
        self.send("exit\n")
        try:
            self.drain(quiet=0.5, limit=3.0)
        except ConnectionClosed:       # a network console ends with its shell
            pass

    # expect
    def send(self, text: str, secret: bool = False) -> None:
        self.wire.transcript.sent(self.channel, "<secret>" if secret else text.rstrip("\r\n"))
        self._write(text.encode())

    def expect(self, patterns: list[str], timeout: float) -> tuple[int, str]:
        """Wait until one regex matches the buffered output; (index, text up to match)."""
        regexes = [re.compile(p.encode(), re.M) for p in patterns]
        deadline = time.monotonic() + timeout
        while True:
            for i, rx in enumerate(regexes):
                m = rx.search(self.buffer)
                if m:
                    text = self.buffer[:m.end()]
                    self.buffer = self.buffer[m.end():]
                    return i, text.decode("utf-8", "replace")
            left = deadline - time.monotonic()
            if left <= 0:
                tail = self.buffer[-200:].decode("utf-8", "replace")
                raise TransportTimeout(f"{self.channel}: none of {patterns} within {timeout:.0f}s;"
                                       f" last output: {tail!r}")
            chunk = self._read(min(left, 0.5))
            if chunk:
                self.wire.transcript.received(self.channel, chunk)
                self.buffer = CONTROL.sub(b"", (self.buffer + chunk)[-MAX_BUFFER:])

    def unmatched(self) -> str:
        """What the device sent that no expect() has taken yet (it stays buffered)."""
        return self.buffer.decode("utf-8", "replace")

    def drain(self, quiet: float = 0.3, limit: float = 3.0) -> str:
        """Read until the line stays quiet for `quiet` seconds (bounded by `limit`)."""
        end = time.monotonic() + limit
        got = b""
        while time.monotonic() < end:
            chunk = self._read(quiet)
            if not chunk:
                break
            self.wire.transcript.received(self.channel, chunk)
            got += chunk
        self.buffer = b""
        return got.decode("utf-8", "replace")

    def proves_shell(self, timeout: float | None = None) -> bool:
        """Positive proof of a command shell: arithmetic output that the echo cannot contain.
        A loaded device may take a while: the wait is the lab's command timeout."""
        timeout = timeout or self.wire.command_timeout
        a, b = secrets.randbelow(900) + 100, secrets.randbelow(900) + 100
        self.send(f"echo HX$(({a}+{b}))OK\n")
        try:
            self.expect([f"HX{a + b}OK"], timeout)
            return True
        except TransportTimeout:
            return False

    def login(self, username: str, password: str | None, timeout: float = 10.0) -> str:
        """Log in at a login prompt. Returns 'accepted', 'rejected' or 'no-login' (the
        console was already a shell) or 'unknown' (a prompt but no working shell), or
        'closed' (the device hung up after the password without giving a shell, as busybox
        login does for a locked account)."""
        p = self.prompts
        self.drain(quiet=0.2, limit=2.0)
        self.send("\n")
        idx, _ = self.expect([p.login, p.password, p.shell], timeout)
        if idx == 2:
            self.drain()
            return "no-login" if self.proves_shell() else "unknown"
        if idx == 0:
            # a slow device may have printed the prompt twice (once for our newline): a
            # stale "login:" left in the buffer would read as a refused user name
            self.drain(quiet=0.3, limit=2.0)
            self.send(username + "\n")
            idx, _ = self.expect([p.password, p.shell, p.login], timeout)
            if idx == 2:
                return "rejected"
            if idx == 1:
                self.drain()
                self.logged_in = self.proves_shell()
                return "accepted" if self.logged_in else "unknown"
        self.send((password or "") + "\n", secret=True)
        try:
            idx, _ = self.expect([p.shell, p.login, r"[Ii]ncorrect|[Ff]ail|[Dd]enied|[Ii]nvalid"],
                                 timeout)
        except ConnectionClosed:
            return "closed"
        except TransportTimeout:
            # a slow login may still open a shell after we stop waiting: the `exit` typed
            # ahead closes it, so no session of ours is left for the next user
            self._write(b"exit\n")
            raise
        if idx == 0:
            self.drain()
            self.logged_in = self.proves_shell()
            # a prompt without a working shell is not a refusal: we cannot tell
            return "accepted" if self.logged_in else "unknown"
        return "rejected"

    def run(self, command: str, timeout: float | None = None) -> tuple[int, str]:
        """Run a command in an open shell; (exit status, output)."""
        timeout = timeout or self.wire.command_timeout
        tag = secrets.token_hex(4)
        self.drain(quiet=0.1, limit=1.0)
        self.send(f"{command}; echo HXEND{tag}:$?:\n")
        _, text = self.expect([rf"HXEND{tag}:(\d+):"], timeout)
        m = re.search(rf"HXEND{tag}:(\d+):", text)
        body = text[:m.start()]
        # drop the echoed command line if the console echoes
        lines = body.replace("\r", "").split("\n")
        if lines and f"HXEND{tag}" in lines[0]:
            lines = lines[1:]
        elif lines and command.strip() and command.strip()[:20] in lines[0]:
            lines = lines[1:]
        return int(m.group(1)), "\n".join(lines).strip("\n")

    def open_shell(self, username: str, password: str | None) -> None:
        outcome = self.login(username, password)
        if outcome not in ("accepted", "no-login"):
            raise DeviceError(f"{self.channel}: login as {username} {outcome}")
