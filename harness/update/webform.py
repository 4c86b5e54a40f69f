"""A firmware upload in the unit's web UI (kind `web`), as most consumer routers and cameras
take an update by hand: the vendor's image, in the vendor's own binary format, is the file
field `update.form_field` of a multipart form POSTed to `update.upload_path`, behind the UI's
own login (the credential and login style of the web surface on `update.port`, else of the
first web surface: basic, digest, a form's session cookie, a token); the running version is
read from the page at `version_path` with `version_regex`.

The harness need not know the format. From any valid image it derives a tampered one (bytes
flipped inside the signed content, the signature kept). Where the vendor's IXIT describes
the signature's layout (`update.signature`: a trailing signature over every byte before it,
or a U-Boot FIT's signed configurations, harness/update/fit.py) it also derives an unsigned
image (the content without its signature) and one signed by a key of the harness's own;
otherwise it says why those are missing (their parts NOT_RUN).

A web UI's answer alone is weak evidence (many answer "200 OK" with an error page): an
upload answered 2xx counts as applied only when the version then changes (read again for at
most `apply_within`); an answer in 4xx/5xx is the unit's refusal."""
from __future__ import annotations

import re
import time

from harness import weblogin
from harness.errors import Inconclusive, NotRun
from harness.transport import http
from harness.update import fit, push, refusal

TRAILER = {"rsa2048-sha256": 256, "ed25519": 64}
VERSION_POLL = 2.0


def _login(device, with_auth: bool = True) -> dict | http.Response:
    """http.request's arguments carrying the web UI's own login (its declared style: a
    credential, a session cookie, a token), or the UI's answer refusing the lab's
    credential."""
    p = device.profile
    web = next((w for w in p.web if w.port == p.update.port), None) or \
        next(iter(p.web), None)
    if not with_auth or web is None or web.auth == "none":
        return {}
    if not web.password:
        raise NotRun(f"the web surface on port {web.port} gives no credential for the "
                     "upload page's login")
    return weblogin.auth(device.wire, p.address, web, web.username or "admin",
                         web.password.get_secret_value())


def version(device, login: dict | http.Response | None = None) -> dict:
    """The version page's answer, with a login of its own unless one is given."""
    p, u = device.profile, device.profile.update
    login = _login(device) if login is None else login
    r = login if isinstance(login, http.Response) else \
        http.request(device.wire, p.address, u.port, u.version_path, tls=u.tls, **login)
    m = re.search(u.version_regex, r.text(), re.M) if 200 <= r.status < 300 else None
    return {"status": r.status, "version": m.group(1) if m else None,
            **({} if m else {"page": r.text()[:200]})}


def upload(device, image: bytes, with_auth: bool = True) -> dict:
    p, u = device.profile, device.profile.update
    login = _login(device, with_auth)
    if isinstance(login, http.Response):
        raise Inconclusive(f"the web UI refused the lab's credential at its login "
                           f"({login.status} {login.reason}): no image could be uploaded")
    before = version(device, login)["version"] if with_auth else None
    body, headers = http.file_form(u.form_field, "firmware.bin", image)
    r = http.request(device.wire, p.address, u.port, u.upload_path, "POST", tls=u.tls,
                     body=body, **{**login, "headers": {**headers, **login.get("headers", {})}})
    out = {"status": r.status, "reply": re.sub(r"\s+", " ", r.text())[:200]}
    if not with_auth:
        return {**out, "accepted": 200 <= r.status < 300}
    if not 200 <= r.status < 300:
        return refusal.by_status(out, r.status)
    end = time.monotonic() + u.apply_within
    # taken: applied once the version changes. Each read logs in anew (a unit that boots
    # its new firmware ends the sessions), and only a version read counts: a page that
    # shows none (the unit still booting) is no change
    while True:
        now = version(device)["version"]
        if now is not None and now != before:
            return {**out, "accepted": True, "outcome": f"version {before} -> {now}"}
        if time.monotonic() > end:
            return {**out, "accepted": None, "outcome": f"answered {r.status}, but the "
                    f"version stayed {before} for {u.apply_within:.0f}s"}
        time.sleep(VERSION_POLL)


def variants(valid: bytes, bump, update=None) -> dict[str, bytes | str]:
    """tampered (a byte in the middle of the signed content flipped, the signature kept);
    with a declared trailing signature also unsigned (the content alone) and untrusted (the
    content signed by a key made here). The version inside stays the valid image's (the
    format is the vendor's): TC-UPD-02 offers these before the valid image, so it is newer
    than the running one and a downgrade check cannot be what refuses them."""
    layout = update.signature if update is not None else None
    if layout == "fit":
        return fit.variants(valid)
    n = TRAILER.get(layout, 0)
    if len(valid) <= n + 16:
        why = f"the valid image ({len(valid)} bytes) is too short for its declared signature"
        return {k: why for k in ("tampered", "unsigned", "untrusted")}
    content = valid[:len(valid) - n]
    flipped = bytearray(valid)
    flipped[len(content) // 2] ^= 0xFF
    out: dict[str, bytes | str] = {"tampered": bytes(flipped)}
    if not layout:
        why = ("the image format is the vendor's and its signature's layout is not declared "
               "(update.signature in the profile's IXIT): no unsigned or foreign-signed image "
               "can be made from it")
        return {**out, "unsigned": why, "untrusted": why}
    return {**out, "unsigned": content, "untrusted": content + _foreign_signature(layout,
                                                                                 content)}


def _foreign_signature(layout: str, content: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
    if layout == "ed25519":
        return ed25519.Ed25519PrivateKey.generate().sign(content)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.sign(content, padding.PKCS1v15(), hashes.SHA256())


channel, check_channel = push.kind(upload, push.version_page(version))
