"""MQTT through paho-mqtt 2.x: connect with or without credentials, publish, subscribe."""
from __future__ import annotations

import secrets
import ssl
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from harness.errors import DeviceError, TransportTimeout


class MQTTSession:
    def __init__(self, wire, host: str, port: int = 1883, tls: bool = False,
                 username: str | None = None, password: str | None = None):
        self.wire = wire
        ip = wire.scope.check(host)
        self.channel = f"mqtt:{ip}:{port}"
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id=f"harness-{secrets.token_hex(4)}")
        if tls:
            self.client.tls_set(cert_reqs=ssl.CERT_NONE)
            self.client.tls_insecure_set(True)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connected = threading.Event()
        self.reason: str | None = None
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda *a: None
        wire.transcript.sent(self.channel, f"CONNECT user={username!r}")
        try:
            self.client.connect(ip, port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            raise DeviceError(f"{self.channel}: cannot connect: {exc}") from None
        self.client.loop_start()
        if not self.connected.wait(wire.connect_timeout):
            self.close()
            raise TransportTimeout(f"{self.channel}: no CONNACK in {wire.connect_timeout:.0f}s")
        wire.transcript.received(self.channel, f"CONNACK {self.reason}")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.reason = str(reason_code)
        self.accepted = not reason_code.is_failure
        self.connected.set()

    def _on_message(self, client, userdata, msg):
        with self._lock:
            self.messages.append((msg.topic, msg.payload))
        self.wire.transcript.received(self.channel, f"PUBLISH {msg.topic} {msg.payload[:200]!r}")

    def subscribe(self, topic: str) -> bool:
        """True when the broker granted the subscription."""
        granted = threading.Event()
        result = {}

        def on_sub(client, userdata, mid, reason_codes, properties):
            result["codes"] = [str(rc) for rc in reason_codes]
            result["ok"] = all(not rc.is_failure for rc in reason_codes)
            granted.set()
        self.client.on_subscribe = on_sub
        self.wire.transcript.sent(self.channel, f"SUBSCRIBE {topic}")
        self.client.subscribe(topic, qos=1)
        if not granted.wait(self.wire.connect_timeout):
            raise TransportTimeout(f"{self.channel}: no SUBACK for {topic}")
        self.wire.transcript.received(self.channel, f"SUBACK {result['codes']}")
        return result["ok"]

    def publish(self, topic: str, payload: bytes | str, qos: int = 1,
                retain: bool = False) -> None:
        self.wire.transcript.sent(self.channel, f"PUBLISH {topic} {payload!r}"
                                  + (" (retained)" if retain else ""))
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        try:
            info.wait_for_publish(timeout=self.wire.connect_timeout)
        except (RuntimeError, ValueError) as exc:
            raise DeviceError(f"{self.channel}: publish failed: {exc}") from None

    def wait_for(self, topic: str, timeout: float) -> list[bytes]:
        """Payloads received on a topic within timeout (polls; bounded)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                got = [p for t, p in self.messages if mqtt.topic_matches_sub(topic, t)]
            if got:
                return got
            time.sleep(0.05)
        return []

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._lock:
            self.messages.clear()

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
