"""FTP login through ftplib, with hard timeouts and transcripts."""
from __future__ import annotations

import contextlib
import ftplib
import socket
import threading

from harness.errors import DeviceError, TransportTimeout
from harness.transport.deadline import read_bounded


LISTING_BYTES = 16384


def _listing(ftp, seconds: float) -> list[str]:
    """The first names of an NLST, read with a size cap and one deadline for the whole
    transfer (ftplib's nlst() reads everything, each read with its own timeout)."""
    conn = ftp.transfercmd("NLST")
    try:
        data, why = read_bounded(conn, LISTING_BYTES, seconds)
    finally:
        conn.close()
    if why == "eof":
        ftp.voidresp()
    names = data.decode("utf-8", "replace").splitlines()
    return names[:20] + ([f"... (listing cut: {why})"] if why in ("deadline", "limit") else [])


def login(wire, host: str, port: int, user: str, password: str,
          list_files: bool = False) -> dict | None:
    """{'accepted': bool, 'reply': str, 'listing': [...]}; None when the port refuses the
    connection (no FTP service); DeviceError when the device does not answer properly."""
    ip = wire.scope.check(host)
    channel = f"ftp:{ip}:{port}"
    ftp = ftplib.FTP(timeout=wire.connect_timeout)
    # one deadline for the whole exchange (ftplib's timeouts are per read: a banner trickled
    # a byte at a time would never end)
    total = wire.connect_timeout + wire.command_timeout
    fired = threading.Event()

    def expire():
        fired.set()
        sock = getattr(ftp, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
    timer = threading.Timer(total, expire)
    timer.daemon = True
    timer.start()
    try:
        try:
            wire.transcript.received(channel, ftp.connect(ip, port))
        except ConnectionRefusedError:
            wire.transcript.note(channel, "connection refused")
            return None
        shown = password if user == "anonymous" else "<secret>"
        wire.transcript.sent(channel, f"USER {user} / PASS {shown}")
        try:
            reply = ftp.login(user, password)
        except ftplib.error_perm as exc:
            wire.transcript.received(channel, str(exc))
            return {"accepted": False, "reply": str(exc)[:60], "listing": []}
        listing = _listing(ftp, wire.command_timeout) if list_files else []
        wire.transcript.received(channel, f"{reply} {listing}")
        return {"accepted": True, "reply": reply[:60], "listing": listing}
    except (OSError, EOFError, ftplib.Error) as exc:
        if fired.is_set():
            raise TransportTimeout(f"{channel}: the exchange did not finish in {total:.0f}s "
                                   "(a banner or reply trickled in too slowly)") from None
        if isinstance(exc, TimeoutError) or "timed out" in str(exc):
            raise TransportTimeout(f"{channel}: {exc}") from None
        raise DeviceError(f"{channel}: {exc}") from None
    finally:
        timer.cancel()
        try:
            ftp.close()
        except OSError:
            pass
