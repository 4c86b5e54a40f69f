"""The USB-serial adapter of an emulated device.

Owns the pty that the harness opens (the `console` link) and relays bytes to whichever
boot of the device firmware is connected to its socket. It is not part of the device, so
it stays up across power cycles — the harness keeps the console open while the device
reboots and sees the whole boot, bootloader included. Input while the device is off is
lost, as on a real UART; output nobody reads is dropped, never blocking the device.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time
import tty
from pathlib import Path


def serve(d: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)                 # the slave stays open here: no EIO when the harness leaves
    os.set_blocking(master, False)
    link, tmp = d / "console", d / "console.tmp"
    if tmp.exists() or tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(os.ttyname(slave))
    path = d / "uart.sock"
    if path.exists():
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    tmp.replace(link)                 # ready: wait_ready looks for the link
    device = None
    while True:
        watched = [master, server] + ([device] if device else [])
        readable, _, _ = select.select(watched, [], [], 1.0)
        if server in readable:
            if device:
                device.close()        # a new boot replaces the old connection
            device, _ = server.accept()
        if master in readable:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            if data and device:
                try:
                    device.sendall(data)
                except OSError:
                    device.close()
                    device = None
        if device and device in readable:
            try:
                data = device.recv(4096)
            except OSError:
                data = b""
            if not data:              # power off
                device.close()
                device = None
                continue
            try:
                os.write(master, data)
            except OSError:
                pass


def connect(d: Path, attempts: int = 100) -> socket.socket:
    """The firmware side: connect to the adapter (bounded wait while it starts)."""
    for _ in range(attempts):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(d / "uart.sock"))
            s.setblocking(False)
            return s
        except OSError:
            s.close()
            time.sleep(0.1)
    raise OSError(f"no UART adapter at {d / 'uart.sock'}")


class LineReader:
    """The firmware side: reads lines from the UART, echoing what the user types (raw mode)."""

    def __init__(self, fd):
        self.fd, self.buf = fd, b""

    def key_within(self, seconds: float) -> bool:
        """Any input within the autoboot window; what was typed is consumed."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.buf:
            select.select([self.fd], [], [], max(0.0, end - time.monotonic()))
            try:
                self.buf += os.read(self.fd, 1024)
            except BlockingIOError:
                continue
            except OSError:
                return False
        hit, self.buf = bool(self.buf), b""
        return hit

    def flush(self) -> None:
        self.buf = b""
        try:
            while os.read(self.fd, 4096):
                pass
        except OSError:
            pass

    def line(self, echo) -> str | None:
        while b"\r" not in self.buf and b"\n" not in self.buf:
            select.select([self.fd], [], [], 1.0)
            try:
                chunk = os.read(self.fd, 1024)
            except BlockingIOError:
                continue
            except OSError:
                time.sleep(0.2)
                continue
            if not chunk:
                return None
            if echo:
                echo(chunk.decode("utf-8", "replace").replace("\r", "\n"))
            self.buf += chunk
        idx = min(i for i in (self.buf.find(b"\r"), self.buf.find(b"\n")) if i >= 0)
        line, self.buf = self.buf[:idx], self.buf[idx + 1:].lstrip(b"\n")
        # control keys (a Ctrl-C pressed during boot) are not part of what was typed
        return "".join(ch for ch in line.decode("utf-8", "replace") if ch.isprintable())


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    serve(Path(sys.argv[1]))
