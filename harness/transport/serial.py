"""Serial console through pyserial: /dev/tty*, pty paths, socket:// and rfc2217:// URLs."""
from __future__ import annotations

import urllib.parse

import serial

from harness.errors import DeviceError
from harness.transport.console import Console


NETWORK_SCHEMES = ("socket", "rfc2217")


def network_target(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a network serial URL, None for a local device path.
    pyserial treats anything with '://' as a URL whatever the case of its scheme (and has
    handlers such as spy:// that wrap another URL): only socket:// and rfc2217:// with a
    host and port are accepted; anything else is a ValueError."""
    if "://" not in url:
        return None
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in NETWORK_SCHEMES:
        raise ValueError(f"serial URL scheme {parts.scheme!r} is not supported: use a device "
                         "path, socket://HOST:PORT or rfc2217://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or not port:
        raise ValueError(f"serial URL {url!r} needs a host and a port")
    return scheme, parts.hostname, port


def _checked_url(wire, url: str) -> str:
    """The URL with its host replaced by the scope-checked address (resolved once)."""
    target = network_target(url)
    if target is None:
        return url
    scheme, host, port = target
    ip = wire.scope.check(host)          # a console server is a network target too
    netloc = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    query = urllib.parse.urlsplit(url.strip()).query
    if scheme == "rfc2217" and "ign_set_control" not in query:
        # ser2net (the usual RFC 2217 server, also labgrid's) does not answer every
        # SET_CONTROL the way pyserial waits for: without this, opening the port times out
        query = "&".join(q for q in (query, "ign_set_control") if q)
    return urllib.parse.urlunsplit((scheme, netloc, "", query, ""))


class SerialConsole(Console):
    def __init__(self, wire, prompts, url: str, baud: int = 115200):
        super().__init__(wire, prompts)
        self.channel = f"serial:{url}"
        try:
            url = _checked_url(wire, url)
        except ValueError as exc:
            raise DeviceError(f"{self.channel}: {exc}") from None
        wire.transcript.note(self.channel, f"open {url} at {baud} baud")
        # pyserial's RFC 2217 client has no write timeout (NotImplementedError); its writes
        # go to a socket with the connect timeout instead
        extra = {} if url.lower().startswith("rfc2217://") else \
            {"write_timeout": wire.command_timeout}
        try:
            self.port = serial.serial_for_url(url, baudrate=baud, timeout=0.2, **extra)
        except (serial.SerialException, OSError, ValueError, NotImplementedError) as exc:
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
