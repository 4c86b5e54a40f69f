"""Configuration, control or data reachable without authentication: HTTP admin paths,
RTSP DESCRIBE, anonymous FTP, anonymous MQTT publish/subscribe (two clients: one tries,
one watches), a telnet shell without login (proved by a command's output)."""
from __future__ import annotations

import secrets

from harness.errors import TransportTimeout
from harness.transport import http


def web_admin(device) -> list[dict]:
    out = []
    for web in device.profile.web:
        if web.auth == "none":
            continue
        for path in web.admin_paths:
            r = http.request(device.wire, device.profile.address, web.port, path, tls=web.tls)
            out.append({"surface": f"{'https' if web.tls else 'http'}:{web.port}{path}",
                        "status": r.status, "open": 200 <= r.status < 300})
    return out


def ssh_none(device) -> list[dict]:
    """SSH's 'none' authentication for the lab's account and root: a server that lets
    either in without a credential is open; one that answers with the methods it wants
    refuses (evidence for an SSH-only device too)."""
    from harness.transport.ssh import SSHSession
    p = device.profile
    if not p.ssh:
        return []
    out = []
    for user in dict.fromkeys([p.ssh.username, "root"]):
        s = SSHSession(device.wire, p.address, p.ssh.port)
        try:
            accepted, methods = s.auth_none(user)
        finally:
            s.close()
        out.append({"surface": f"ssh:{p.ssh.port} (user {user}, no credential)",
                    "offers": methods, "open": accepted})
    return out


def telnet_shell(device) -> list[dict]:
    p = device.profile
    if not p.telnet:
        return []
    console = device.telnet()
    try:
        outcome = console.login("hx-nobody", "hx-wrong-" + secrets.token_hex(4))
    finally:
        console.close()
    return [{"surface": f"telnet:{p.telnet.port}", "login": outcome,
             "open": outcome in ("no-login", "accepted")}]


def rtsp(device) -> list[dict]:
    if not device.profile.rtsp:
        return []
    from harness.probe.rtsp import describe
    d = describe(device)
    return [{"surface": f"rtsp:{device.profile.rtsp.port}", "status": d["status"],
             "open": d["status"] == 200 and d["has_sdp"]}]


def ftp_anonymous(device, port: int | None = None) -> list[dict]:
    """On the profile's FTP port (else 21); a refused connection is no finding."""
    from harness.transport import ftp
    port = port or (device.profile.ftp.port if device.profile.ftp else 21)
    r = ftp.login(device.wire, device.profile.address, port, "anonymous",
                  "harness@lab.invalid", list_files=True)
    if r is None:
        return []
    return [{"surface": f"ftp:{port}", "reply": r["reply"], "open": r["accepted"],
             "listing": r["listing"]}]


def mqtt_anonymous(device) -> list[dict]:
    """Two anonymous clients: a watcher subscribes, a sender publishes a nonce."""
    from harness.transport.mqtt import MQTTSession
    m = device.profile.mqtt
    if not m:
        return []
    surface = f"mqtt:{m.host}:{m.port}"
    watcher = MQTTSession(device.wire, m.host, m.port, m.tls)
    try:
        if not watcher.accepted:
            return [{"surface": surface, "connect": watcher.reason, "open": False}]
        topic = f"{m.topic_prefix or 'harness'}/harness-probe/{secrets.token_hex(4)}"
        subscribed = watcher.subscribe(topic)
        sender = MQTTSession(device.wire, m.host, m.port, m.tls)
        nonce = secrets.token_hex(8)
        try:
            sender.publish(topic, nonce)
        finally:
            sender.close()
        got = watcher.wait_for(topic, 3.0)
        delivered = any(nonce.encode() in p for p in got)
        return [{"surface": surface, "connect": watcher.reason, "subscribe": subscribed,
                 "publish_delivered": delivered, "open": True}]
    except TransportTimeout as exc:
        return [{"surface": surface, "error": str(exc), "open": True}]
    finally:
        watcher.close()
