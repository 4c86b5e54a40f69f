"""TFTP (RFC 1350) read request for the first block only: enough to prove that a file can
be fetched without any credential. The server answers from a port of its own (its
transfer id), which is why a port scanner sees udp/69 as 'open|filtered'."""
from __future__ import annotations

import socket
import struct
import time

from harness.errors import DeviceError

RRQ, DATA, ACK, ERROR = 1, 3, 4, 5


def read_first_block(wire, host: str, port: int, filename: str,
                     timeout: float = 2.0) -> dict:
    """{'answer': 'data', 'bytes': n, 'start': text} when the first block came;
    {'answer': 'error', 'code': c, 'message': m}; {'answer': 'none'} when nothing answered
    within `timeout`."""
    ip = wire.scope.check(host)
    channel = f"tftp:{ip}:{port}"
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        wire.transcript.sent(channel, f"RRQ {filename!r} octet")
        sock.sendto(struct.pack("!H", RRQ) + filename.encode() + b"\0octet\0", (ip, port))
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(1024)
            except socket.timeout:
                break
            except OSError as exc:
                raise DeviceError(f"{channel}: {exc.strerror or exc}") from None
            if peer[0] != ip or len(data) < 4:
                continue                    # not the device's answer
            op, arg = struct.unpack("!HH", data[:4])
            if op == DATA:
                # stop the transfer: one block proves the read
                sock.sendto(struct.pack("!HH", ERROR, 0) + b"harness: enough\0", peer)
                start = data[4:68].decode("utf-8", "replace")
                wire.transcript.received(channel, f"DATA block {arg}: {len(data) - 4} bytes")
                return {"answer": "data", "bytes": len(data) - 4, "start": start}
            if op == ERROR:
                message = data[4:].split(b"\0")[0].decode("utf-8", "replace")[:120]
                wire.transcript.received(channel, f"ERROR {arg} {message}")
                return {"answer": "error", "code": arg, "message": message}
        wire.transcript.received(channel, f"no answer within {timeout:g}s")
        return {"answer": "none"}
    finally:
        sock.close()
