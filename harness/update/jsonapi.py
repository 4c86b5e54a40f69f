"""The firmware update channel: version read-out, authentication, image acceptance."""
from __future__ import annotations

import base64
import json
from pathlib import Path

from harness.errors import DeviceError
from harness.transport import http


def _creds(device) -> tuple[str, str] | None:
    web = next((w for w in device.profile.web if w.password), None)
    if web:
        return (web.username, web.password.get_secret_value())
    ssh = device.profile.ssh
    return (ssh.username, ssh.password.get_secret_value()) if ssh and ssh.password else None


def version(device) -> dict:
    u = device.profile.update
    r = http.request(device.wire, device.profile.address, u.port, u.version_path, tls=u.tls,
                     basic=_creds(device))
    try:
        return {"status": r.status, "version": json.loads(r.body)["version"]}
    except (ValueError, KeyError, TypeError):
        return {"status": r.status, "version": None, "body": r.text()[:200]}


def upload(device, image: bytes, with_auth: bool = True) -> dict:
    u = device.profile.update
    r = http.request(device.wire, device.profile.address, u.port, u.upload_path, "POST",
                     tls=u.tls, body=image, basic=_creds(device) if with_auth else None,
                     headers={"Content-Type": "application/octet-stream"})
    return {"status": r.status, "accepted": 200 <= r.status < 300, "reply": r.text()[:200]}


def images(device) -> dict[str, bytes]:
    """The vendor's valid and older images, and the harness's tampered and unsigned ones."""
    imgs = device.profile.update_images
    if not imgs.valid:
        raise DeviceError("the profile names no vendor update image (update_images.valid)")
    try:
        valid = Path(imgs.valid).read_bytes()
        older = Path(imgs.older).read_bytes() if imgs.older else None
    except OSError as exc:
        raise DeviceError(f"cannot read update image: {exc}") from None
    doc = json.loads(valid)
    payload = bytearray(base64.b64decode(doc["payload"]))
    payload[0] ^= 0xFF                                    # one flipped bit, same signature
    tampered = dict(doc, payload=base64.b64encode(bytes(payload)).decode(),
                    version=_bump(doc["version"], 2))
    unsigned = dict(doc, signature="", version=_bump(doc["version"], 3))
    out = {"tampered": json.dumps(tampered).encode(), "unsigned": json.dumps(unsigned).encode(),
           "valid": valid}
    if older:
        out["older"] = older
    return out


def _bump(v: str, n: int) -> str:
    parts = v.split(".")
    parts[-1] = str(int(parts[-1]) + n) if parts[-1].isdigit() else parts[-1] + f"-{n}"
    return ".".join(parts)
