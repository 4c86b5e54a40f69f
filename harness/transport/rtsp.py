"""RTSP: DESCRIBE, with or without basic credentials (one request, one bounded reply)."""
from __future__ import annotations

import base64
import re
import socket
import time

MAX_REPLY = 64 * 1024


def describe(device, creds: tuple[str, str] | None = None) -> dict:
    p, w = device.profile, device.wire
    url = f"rtsp://{p.address}:{p.rtsp.port}{p.rtsp.path}"
    head = f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n"
    if creds:
        head += "Authorization: Basic " + base64.b64encode(
            f"{creds[0]}:{creds[1]}".encode()).decode() + "\r\n"
    channel = f"rtsp:{p.address}:{p.rtsp.port}"
    sock = w.connect(p.address, p.rtsp.port, channel)
    data = b""
    try:
        w.transcript.sent(channel, f"DESCRIBE {url}" + (" (with credentials)" if creds else ""))
        sock.sendall((head + "\r\n").encode())
        deadline = time.monotonic() + w.connect_timeout
        while len(data) < MAX_REPLY and time.monotonic() < deadline:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                headers, _, body = data.partition(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", headers)
                if len(body) >= (int(m.group(1)) if m else 0):
                    break
    finally:
        sock.close()
    text = data.decode("latin-1", "replace")
    w.transcript.received(channel, text)
    first = text.split("\r\n", 1)[0]
    try:
        status = int(first.split()[1])
    except (IndexError, ValueError):
        status = 0
    return {"url": url, "status": status, "status_line": first, "has_sdp": "\nv=0" in text}
