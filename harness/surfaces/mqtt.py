"""MQTT: the broker the unit's profile names (on the unit, or the vendor's cloud). Two
anonymous clients (one subscribes, one publishes a nonce) check access without a
credential. Only a broker on the unit itself is the unit's brute-force surface: a vendor's
cloud broker is a service of its own (the lab does not brute-force it)."""
import secrets

from harness.surfaces import Kind, Surface, register


def build(p):
    if not p.mqtt:
        return []
    return [Surface(f"mqtt:{p.mqtt.port}", "mqtt", p.mqtt.port, p.mqtt.username,
                    p.mqtt.password, p.mqtt, host=p.mqtt.host)]


def on_unit(device, s) -> bool:
    return s.host in (device.profile.address, device.profile.address6)


def attempt(device, s):
    from harness.transport.mqtt import MQTTSession
    m = s.section

    def one(user, pw):
        session = MQTTSession(device.wire, m.host, m.port, m.tls, user, pw)
        try:
            return session.accepted
        finally:
            session.close()
    return one


def unauthenticated(device, s):
    from harness.errors import TransportTimeout
    from harness.transport.mqtt import MQTTSession
    m = s.section
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
        delivered = any(nonce.encode() in p for p in watcher.wait_for(topic, 3.0))
        return [{"surface": surface, "connect": watcher.reason, "subscribe": subscribed,
                 "publish_delivered": delivered, "open": True}]
    except TransportTimeout as exc:
        return [{"surface": surface, "error": str(exc), "open": True}]
    finally:
        watcher.close()


def cleartext(device, s):
    m = s.section
    if m.tls:
        return {"surface": f"mqtt:{m.host}:{m.port}", "over": "TLS", "finding": None}
    from harness.transport.mqtt import MQTTSession
    session = MQTTSession(device.wire, m.host, m.port, False, m.username,
                          m.password.get_secret_value() if m.password else None)
    session.close()
    return {"surface": f"mqtt:{m.port}", "tls": False, "connack": session.reason,
            "finding": f"mqtt:{m.host}:{m.port} without TLS"}


def brute(device, s):
    if on_unit(device, s):
        return None
    return (f"{s.name}: the broker at {s.host} is a service of its own (the vendor's cloud), "
            "not this unit's login: the lab does not brute-force it")


register(Kind("mqtt", build, attempt, unauthenticated, cleartext, brute=brute,
              services=("mqtt",), targets=lambda p: [p.mqtt.host] if p.mqtt else []))
