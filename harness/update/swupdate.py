"""SWUpdate's web server (kind `swupdate`): a .swu is POSTed as a multipart form to
/upload (behind the server's digest login when it has one), and the install's outcome is
what SWUpdate itself reports on its progress websocket (/ws): SUCCESS or FAILURE, with its
error lines. An accepted upload is not an applied update: the version is read back over
the unit's shell (update.version_command) by the test case."""
from __future__ import annotations

import json
import re
import time

from harness.errors import DeviceError
from harness.transport import http
from harness.transport.websocket import WebSocket
from harness.update import jsonapi, on_unit, push, refusal, swu

UPLOAD, PROGRESS = "/upload", "/ws"


def version(device) -> dict:
    u = device.profile.update
    status, out = on_unit(device, u.version_command)
    m = re.search(u.version_regex, out, re.M)
    return {"status": status, "version": m.group(1) if status == 0 and m else None,
            **({} if m else {"output": out[-200:]})}


def _authorization(device, path: str, creds) -> str | None:
    """The digest Authorization for GET `path` (the websocket's upgrade), from the challenge
    a plain request draws; None when the server asks for none."""
    p, u = device.profile, device.profile.update
    first = http.request(device.wire, p.address, u.port, path, tls=u.tls, max_body=4096,
                         body_seconds=1.0)
    challenge = first.headers.get("www-authenticate", "")
    if creds and first.status == 401 and challenge.lower().startswith("digest"):
        return http.digest_authorization(challenge, "GET", path, *creds)
    return None


def _progress(device, creds) -> WebSocket:
    p, u = device.profile, device.profile.update
    return WebSocket(device.wire, p.address, u.port, PROGRESS, u.tls,
                     _authorization(device, PROGRESS, creds))


def _json(text: str) -> dict:
    try:
        msg = json.loads(text)
    except ValueError:
        return {}
    return msg if isinstance(msg, dict) else {}


def _status(text: str) -> str | None:
    msg = _json(text)
    return msg.get("status") if msg.get("type") == "status" else None


BUSY_TRIES, BUSY_PAUSE = 4, 2.0


def _post(device, body: bytes, headers: dict, creds):
    """POST /upload. Right after an install SWUpdate is still busy finishing it and closes
    a new upload unanswered: tried again after a pause (at most BUSY_TRIES, said so)."""
    p, u = device.profile, device.profile.update
    busy = []
    for attempt in range(1, BUSY_TRIES + 1):
        try:
            return http.request(device.wire, p.address, u.port, UPLOAD, "POST", tls=u.tls,
                                body=body, headers=headers, digest=creds), busy
        except DeviceError as exc:
            if "closed" not in str(exc).lower() or attempt == BUSY_TRIES:
                raise
            busy.append(f"attempt {attempt}: {exc}; tried again after {BUSY_PAUSE:.0f}s")
            time.sleep(BUSY_PAUSE)
    raise AssertionError("unreachable")


def upload(device, image: bytes, with_auth: bool = True) -> dict:
    u = device.profile.update
    creds = jsonapi.creds(device) if with_auth else None
    ws, note = None, ""
    if with_auth:
        try:
            ws = _progress(device, creds)
        except DeviceError as exc:
            note = f"no progress report: {exc}"
    body, headers = http.file_form("file", "update.swu", image)
    try:
        r, busy = _post(device, body, headers, creds)
        out = {"status": r.status, "reply": r.text()[:200], **({"busy": busy} if busy else {})}
        if not with_auth:
            return {**out, "accepted": 200 <= r.status < 300}
        if not 200 <= r.status < 300:
            return refusal.by_status(out, r.status)
        if ws is None:               # taken; whether it was applied: the version read back
            return {**out, "accepted": None, "note": note}
        said = ws.messages(u.apply_within, stop=lambda t: _status(t) in ("SUCCESS", "FAILURE"))
        said += ws.messages(0.5)          # error lines that trail the final status
    finally:
        if ws is not None:
            ws.close()
    outcome = next((_status(t) for t in reversed(said) if _status(t) in ("SUCCESS",
                                                                            "FAILURE")), None)
    lines = [m["text"] for m in map(_json, said) if isinstance(m.get("text"), str)]
    errors = [m.get("text", "") for m in map(_json, said) if m.get("level") == "3"][-4:]
    out = {**out, "outcome": outcome or f"no result reported within {u.apply_within:.0f}s",
           **({"errors": errors} if errors else {})}
    if outcome is None:     # no final word within apply_within: neither accepted nor
        return {**out, "accepted": None}      # refused (an unchanged version proves nothing)
    if outcome == "SUCCESS":
        return {**out, "accepted": True}
    return refusal.judged("swupdate", out, lines)


def variants(valid: bytes, bump, update=None) -> dict[str, bytes | str]:
    return swu.variants(valid, bump)


def signed_in(device) -> dict:
    """SWUpdate's web server has one login for all it serves: its page, with the credential."""
    p, u = device.profile, device.profile.update
    r = http.request(device.wire, p.address, u.port, "/", tls=u.tls, digest=jsonapi.creds(device))
    return {"status": r.status, "path": "/"}


channel, check_channel = push.kind(upload, signed_in)
