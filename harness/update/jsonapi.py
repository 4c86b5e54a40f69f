"""The emulated units' own update protocol (kind `json`): an image is JSON with version,
payload (base64) and an Ed25519 signature over both, POSTed as application/octet-stream to
upload_path; the version is read from JSON at version_path. No product ships it; it stays
as one kind among the real ones."""
from __future__ import annotations

import base64
import json

from harness.transport import http
from harness.update import push, refusal


def creds(device) -> tuple[str, str] | None:
    """The lab's credential for the update channel: the web surface's, else SSH's."""
    web = next((w for w in device.profile.web if w.password), None)
    if web:
        return (web.username, web.password.get_secret_value())
    ssh = device.profile.ssh
    return (ssh.username, ssh.password.get_secret_value()) if ssh and ssh.password else None


def version(device) -> dict:
    u = device.profile.update
    r = http.request(device.wire, device.profile.address, u.port, u.version_path, tls=u.tls,
                     basic=creds(device))
    try:
        return {"status": r.status, "version": json.loads(r.body)["version"]}
    except (ValueError, KeyError, TypeError):
        return {"status": r.status, "version": None, "body": r.text()[:200]}


def upload(device, image: bytes, with_auth: bool = True) -> dict:
    u = device.profile.update
    r = http.request(device.wire, device.profile.address, u.port, u.upload_path, "POST",
                     tls=u.tls, body=image, basic=creds(device) if with_auth else None,
                     headers={"Content-Type": "application/octet-stream"})
    out = {"status": r.status, "reply": r.text()[:200]}
    return refusal.by_status(out, r.status) if with_auth else \
        {**out, "accepted": 200 <= r.status < 300}


def variants(valid: bytes, bump, update=None) -> dict[str, bytes | str]:
    """tampered (one payload bit flipped, signature kept), unsigned (no signature) and
    untrusted (signed by a key of the harness's own), each with a raised version."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    try:
        doc = json.loads(valid)
        payload = bytearray(base64.b64decode(doc["payload"]))
        v = str(doc["version"])
    except (ValueError, KeyError, TypeError):
        why = "the valid image is not the JSON image this kind reads"
        return {k: why for k in ("tampered", "unsigned", "untrusted")}
    payload[0] ^= 0xFF
    tampered = dict(doc, payload=base64.b64encode(bytes(payload)).decode(), version=bump(v, 2))
    unsigned = dict(doc, signature="", version=bump(v, 3))
    raised = bump(v, 4)
    sig = Ed25519PrivateKey.generate().sign(raised.encode() + b"\n" + base64.b64decode(
        doc["payload"]))
    untrusted = dict(doc, version=raised, signature=base64.b64encode(sig).decode())
    return {k: json.dumps(d).encode() for k, d in (("tampered", tampered),
                                                   ("unsigned", unsigned),
                                                   ("untrusted", untrusted))}


channel, check_channel = push.kind(upload, push.version_page(version))
