"""Serial console through pyserial: /dev/tty*, pty paths, socket:// and rfc2217:// URLs."""
from __future__ import annotations

import serial

from harness.errors import DeviceError
from harness.transport.console import Console


def _network_host(url: str) -> tuple[str, int] | None:
    for scheme in ("socket://", "rfc2217://"):
        if url.startswith(scheme):
            hostport = url[len(scheme):].split("?", 1)[0].rstrip("/")
            host, _, port = hostport.rpartition(":")
            return host.strip("[]"), int(port or 0)
    return None


class SerialConsole(Console):
    def __init__(self, wire, prompts, url: str, baud: int = 115200):
        super().__init__(wire, prompts)
        self.channel = f"serial:{url}"
        net = _network_host(url)
        if net:
            wire.scope.check(net[0])      # a console server is a network target too
        wire.transcript.note(self.channel, f"open {url} at {baud} baud")
        try:
            self.port = serial.serial_for_url(url, baudrate=baud, timeout=0.2,
                                              write_timeout=wire.command_timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceError(f"{self.channel}: cannot open: {exc}") from None
        try:
            self.port.reset_input_buffer()     # output nobody read before we came is stale
        except (serial.SerialException, OSError):
            pass

    def _read(self, timeout: float) -> bytes:
        self.port.timeout = timeout
        try:
            return self.port.read(4096)
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"{self.channel}: {exc}") from None

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data.replace(b"\n", b"\r"))
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"{self.channel}: {exc}") from None

    def close(self) -> None:
        self.logout()
        try:
            self.port.close()
        except Exception:  # noqa: BLE001 - closing a dead port must not mask the real error
            pass
