"""Information before authentication: banners and public pages that reveal the firmware
version, keys or Wi-Fi passphrases."""
from __future__ import annotations

import re

from harness import surfaces
from harness.errors import DeviceError
from harness.transport import http, net

PUBLIC_PATHS = ["/", "/status.html", "/status", "/info", "/api/status", "/cgi-bin/status"]
SECRET_PATTERNS = [
    (r"(?i)(psk|passphrase|wpa[_ -]?key|wifi[_ -]?password)\s*[:=]\s*\S{6,}", "Wi-Fi passphrase"),
    (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "private key"),
]


def gather(device) -> list[dict]:
    """Everything the device shows without credentials: (where, text) pairs. Raises
    DeviceError when nothing at all answered (silence is not a clean result)."""
    p, w, seen, errors, answered = device.profile, device.wire, [], [], 0
    for web in p.web:
        for path in PUBLIC_PATHS:
            try:
                r = http.request(w, p.address, web.port, path, tls=web.tls)
                answered += 1
            except DeviceError as exc:
                errors.append(str(exc))
                continue
            server = r.headers.get("server")         # the transport lower-cases names
            where = f"{'https' if web.tls else 'http'}:{web.port} Server header"
            if server and not any(s["where"] == where for s in seen):
                seen.append({"where": where, "text": server[:200]})
            if r.status == 200:
                seen.append({"where": f"{'https' if web.tls else 'http'}:{web.port}{path}",
                             "text": r.text()[:4000]})
    for name, port in [(s.kind, s.port) for s in surfaces.of(p) if s.banner]:
        if port:
            try:
                seen.append({"where": f"{name}:{port} banner",
                             "text": net.banner(w, p.address, port, until=b"\n")
                             .decode("utf-8", "replace")})
                answered += 1
            except DeviceError as exc:
                errors.append(str(exc))
    if not answered and errors:
        raise DeviceError("nothing answered without credentials: " + errors[0])
    return seen


def findings(seen: list[dict], firmware_version: str) -> list[dict]:
    out = []
    version_rx = re.compile(rf"(?<![\d.]){re.escape(firmware_version)}(?![\d.])")
    for item in seen:
        if firmware_version and version_rx.search(item["text"]):
            out.append({"where": item["where"], "reveals": f"firmware version {firmware_version}"})
        for rx, what in SECRET_PATTERNS:
            if re.search(rx, item["text"]):
                out.append({"where": item["where"], "reveals": what})
    return out
