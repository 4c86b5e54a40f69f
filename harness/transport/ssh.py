"""SSH through paramiko: password and key login, exec, host key read-out."""
from __future__ import annotations

import hashlib
import base64
import logging
import secrets
import socket
import time

import paramiko

from harness.errors import ConnectionClosed, DeviceError, TransportTimeout
from harness.transport.console import Console

SEND_PIECE = 256 << 10      # bytes handed to paramiko at a time (a command's input)

logging.getLogger("paramiko").setLevel(logging.CRITICAL)


class SSHSession:
    """One authenticated SSH transport (or a failed attempt's outcome)."""

    def __init__(self, wire, host: str, port: int = 22):
        self.wire, self.host, self.port = wire, host, port
        self.channel = f"ssh:{host}:{port}"
        sock = wire.connect(host, port, self.channel)
        self.transport = paramiko.Transport(sock)
        self.transport.banner_timeout = wire.connect_timeout
        self.transport.auth_timeout = wire.connect_timeout
        try:
            self.transport.start_client(timeout=wire.connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.close()
            raise DeviceError(f"{self.channel}: SSH handshake failed: {exc}") from None
        self.wire.transcript.received(self.channel, f"banner {self.transport.remote_version}")

    def host_key(self) -> dict:
        key = self.transport.get_remote_server_key()
        digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
        return {"type": key.get_name(), "bits": key.get_bits(), "sha256": digest}

    def auth_password(self, username: str, password: str) -> bool:
        self.wire.transcript.sent(self.channel, f"auth password user={username} password=<secret>")
        try:
            self.transport.auth_password(username, password)
        except paramiko.AuthenticationException:
            self.wire.transcript.received(self.channel, "auth rejected")
            return False
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise DeviceError(f"{self.channel}: during authentication: {exc}") from None
        self.wire.transcript.received(self.channel, "auth accepted")
        return self.transport.is_authenticated()

    def auth_key(self, username: str, key_file: str) -> bool:
        try:
            key = paramiko.PKey.from_path(key_file)
        except (OSError, paramiko.SSHException) as exc:
            raise DeviceError(f"cannot load SSH key {key_file}: {exc}") from None
        self.wire.transcript.sent(self.channel, f"auth publickey user={username}")
        try:
            self.transport.auth_publickey(username, key)
        except paramiko.AuthenticationException:
            return False
        return self.transport.is_authenticated()

    def auth_none(self, username: str) -> tuple[bool, list[str]]:
        """The 'none' method: (accepted, the methods the server offers instead)."""
        self.wire.transcript.sent(self.channel, f"auth none user={username}")
        try:
            self.transport.auth_none(username)
        except paramiko.BadAuthenticationType as exc:
            self.wire.transcript.received(self.channel, f"auth none refused; offers "
                                                        f"{exc.allowed_types}")
            return False, list(exc.allowed_types)
        except paramiko.AuthenticationException:
            self.wire.transcript.received(self.channel, "auth none refused")
            return False, []
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise DeviceError(f"{self.channel}: during authentication: {exc}") from None
        accepted = self.transport.is_authenticated()
        self.wire.transcript.received(self.channel, f"auth none accepted={accepted}")
        return accepted, []

    def run(self, command: str, timeout: float | None = None,
            stdin: bytes | None = None) -> tuple[int, str]:
        """Exit status and output (stdout and stderr) of `command`; `stdin`: bytes fed to
        it, then end of input."""
        timeout = timeout or self.wire.command_timeout
        self.wire.transcript.sent(self.channel, f"exec {command}" + (
            f" (input: {len(stdin)} bytes)" if stdin is not None else ""))
        deadline = time.monotonic() + timeout      # for the whole command, not per read
        try:
            chan = self.transport.open_session(timeout=self.wire.connect_timeout)
            chan.settimeout(timeout)
            chan.set_combine_stderr(True)     # the device's error messages are evidence too
            chan.exec_command(command)
            if stdin is not None:
                # in pieces: paramiko's sendall copies what is left after every packet,
                # which for an image of 40 MB is gigabytes of copying (a minute of CPU)
                view = memoryview(stdin)
                for at in range(0, len(stdin), SEND_PIECE):
                    chan.sendall(bytes(view[at:at + SEND_PIECE]))
                chan.shutdown_write()
            chunks = []
            while True:
                chan.settimeout(max(0.1, deadline - time.monotonic()))
                data = chan.recv(65536)
                if not data:
                    break
                chunks.append(data)
                if sum(map(len, chunks)) > 4 << 20:
                    raise DeviceError(f"{self.channel}: output of {command!r} exceeds 4 MiB")
                if time.monotonic() > deadline:
                    raise socket.timeout()
            # EOF without an exit status must not hang the run (recv_exit_status waits forever)
            if not chan.status_event.wait(max(0.1, deadline - time.monotonic())):
                raise socket.timeout()
            status = chan.recv_exit_status()
        except socket.timeout:
            raise TransportTimeout(f"{self.channel}: {command!r} did not finish in "
                                   f"{timeout:.0f}s") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise DeviceError(f"{self.channel}: exec {command!r}: {exc}") from None
        out = b"".join(chunks).decode("utf-8", "replace")
        self.wire.transcript.received(self.channel, out)
        return status, out

    def put(self, path: str, data: bytes, timeout: float | None = None) -> None:
        """Write `data` to `path` on the device through `cat` (no SFTP server needed: busybox
        and dropbear units have none)."""
        quoted = "'" + path.replace("'", "'\\''") + "'"
        status, said = self.run(f"cat > {quoted}", timeout, stdin=data)
        if status != 0:
            raise DeviceError(f"{self.channel}: writing {path}: exit {status}: {said[:200]}")

    def interactive(self, prompts) -> "SSHConsole":
        """An interactive shell on a pty (for devices whose CLI is not a POSIX shell)."""
        try:
            chan = self.transport.open_session(timeout=self.wire.connect_timeout)
            chan.get_pty()
            chan.invoke_shell()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise DeviceError(f"{self.channel}: interactive shell: {exc}") from None
        return SSHConsole(self.wire, prompts, chan, self.channel)

    def proves_shell(self) -> bool:
        a, b = secrets.randbelow(900) + 100, secrets.randbelow(900) + 100
        try:
            _, out = self.run(f"echo HX$(({a}+{b}))OK", timeout=10)
        except DeviceError:
            return False
        return f"HX{a + b}OK" in out

    def close(self) -> None:
        try:
            self.transport.close()
        except Exception:  # noqa: BLE001
            pass


def try_password(wire, host, port, username, password) -> str:
    """'accepted' only with a command's output as proof; 'rejected'; DeviceError otherwise."""
    session = SSHSession(wire, host, port)
    try:
        if not session.auth_password(username, password):
            return "rejected"
        return "accepted" if session.proves_shell() else "auth-only"
    finally:
        session.close()




class SSHConsole(Console):
    """Expect-style access to an interactive SSH shell channel."""

    def __init__(self, wire, prompts, chan, channel: str):
        super().__init__(wire, prompts)
        self.chan, self.channel = chan, channel + ":shell"

    def _read(self, timeout: float) -> bytes:
        self.chan.settimeout(timeout)
        try:
            data = self.chan.recv(4096)
        except socket.timeout:
            return b""
        except (paramiko.SSHException, OSError) as exc:
            raise DeviceError(f"{self.channel}: {exc}") from None
        if not data and self.chan.closed:
            raise ConnectionClosed(f"{self.channel}: closed by the device")
        return data

    def _write(self, data: bytes) -> None:
        try:
            self.chan.sendall(data)
        except (paramiko.SSHException, OSError) as exc:
            raise DeviceError(f"{self.channel}: {exc}") from None

    def close(self) -> None:
        self.logout()
        self.chan.close()
