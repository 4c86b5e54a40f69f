"""Plain network: TCP reachability, banner grabs, and nmap scans through python-nmap."""
from __future__ import annotations

import shutil
import socket

import nmap

from harness.transport.deadline import read_bounded
from harness.errors import DeviceError, TransportTimeout


def tcp_open(wire, host: str, port: int, timeout: float | None = None) -> bool:
    ip = wire.scope.check(host)
    try:
        with socket.create_connection((ip, port), timeout=timeout or wire.connect_timeout):
            return True
    except OSError:
        return False


def banner(wire, host: str, port: int, send: bytes = b"", limit: int = 4096,
           until: bytes | None = None) -> bytes:
    """What a TCP service says first (after sending `send`, if any); stops early once
    `until` has been received."""
    channel = f"tcp:{host}:{port}"
    sock = wire.connect(host, port, channel)
    try:
        if send:
            wire.transcript.sent(channel, send)
            sock.sendall(send)
        # quiet for 3 s ends it; the whole read ends after the command timeout at the latest
        data, _why = read_bounded(sock, limit, wire.command_timeout, until)
        wire.transcript.received(channel, data)
        return data
    finally:
        sock.close()


def nmap_scan(wire, host: str, arguments: str, timeout: float) -> tuple[dict, str]:
    """Run nmap against one in-scope host; returns (python-nmap's host dict, nmap XML)."""
    ip = wire.scope.check(host, "scan target")
    if not shutil.which("nmap"):
        raise DeviceError("nmap is not installed")
    scanner = nmap.PortScanner()
    wire.transcript.sent("nmap", f"nmap {arguments} {ip}")
    try:
        scanner.scan(hosts=ip, arguments=arguments, timeout=int(timeout))
    except nmap.PortScannerTimeout:
        raise TransportTimeout(f"nmap did not finish within {timeout:.0f}s") from None
    except nmap.PortScannerError as exc:
        raise DeviceError(f"nmap failed: {exc}") from None
    xml = scanner.get_nmap_last_output()
    xml = xml.decode() if isinstance(xml, bytes) else xml
    hosts = scanner.all_hosts()
    wire.transcript.received("nmap", f"hosts up: {hosts} {scanner.scanstats()}")
    return (dict(scanner[ip]) if ip in hosts else {}), xml
