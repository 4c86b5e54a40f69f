"""Remote operation: command the load over the remote channel the profile declares, watch it
on an independent observation channel, and keep a timeline of what happened when.

The S-mark criteria's official test steps are not public: these steps are the harness's
own design (the report says so through the catalog's provisional note)."""
from __future__ import annotations

import re
import time

from harness.errors import DeviceError, TransportTimeout
from harness.transport.mqtt import MQTTSession


class Timeline:
    """Events with seconds since the test case's first command."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.events: list[dict] = []

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 2)

    def mark(self, event: str, detail: str = "") -> float:
        t = self.now()
        self.events.append({"t": t, "event": event, **({"detail": detail} if detail else {})})
        return t


# frames a command parser must not read as ON (the declared ON payload is "on" or similar)
MALFORMED = [b"", b"\x00\xff\xfe", b"o", b"onn", b"on\x00garbage", b'{"state":', b"O" * 4096]


def shown(frame: bytes) -> str:
    """A frame for the report: its repr, cut to 40 characters, with its length."""
    r = repr(frame)
    return r if len(r) <= 40 else f"{r[:37]}... ({len(frame)} bytes)"


def command(device, state: str) -> str:
    """Send the declared ON or OFF command over the command channel (MQTT); returns the
    topic."""
    rc = device.profile.remote_control
    return send(device, rc.command.on if state == "on" else rc.command.off)


def _topic(device, sub: str) -> str:
    return "/".join(x.strip("/") for x in (device.profile.mqtt.topic_prefix, sub) if x)


def _session(device) -> MQTTSession:
    m = device.profile.mqtt
    return MQTTSession(device.wire, m.host, m.port, m.tls, m.username,
                       m.password.get_secret_value() if m.password else None)


def send(device, payload: str | bytes) -> str:
    """Publish one frame on the command topic, QoS 1. Not retained: a retained command would
    replay itself on every reconnect."""
    topic = _topic(device, device.profile.remote_control.command.topic)
    s = _session(device)
    try:
        s.publish(topic, payload)
    finally:
        s.close()
    return topic


class Reports:
    """What the device reports back on the command channel (its state topic)."""

    def __init__(self, device):
        self.topic = _topic(device, device.profile.remote_control.command.state_topic)
        self.session = _session(device)
        if not self.session.subscribe(self.topic):
            self.session.close()
            raise DeviceError(f"the broker refused a subscription to {self.topic}")
        self.session.wait_for(self.topic, 1.0)      # the retained report, if any
        self.clear()

    def clear(self) -> None:
        self.session.clear()

    def latest(self, timeout: float) -> str | None:
        """The last report received so far (waiting up to timeout for one)."""
        got = self.session.wait_for(self.topic, timeout)
        return got[-1].decode("utf-8", "replace").strip() if got else None

    def next(self, timeout: float) -> str | None:
        """The first report after the last clear(), decoded; None when none came."""
        got = self.session.wait_for(self.topic, timeout)
        return got[0].decode("utf-8", "replace").strip() if got else None

    def close(self) -> None:
        self.session.close()


def conflicting(device, obs, within: float) -> str | None:
    """ON and OFF from two clients at the same moment; the state the load settles in (the
    last status line seen within `within`), or None when neither shows."""
    import threading
    rc = device.profile.remote_control
    sessions = [_session(device), _session(device)]
    topic = _topic(device, rc.command.topic)
    go = threading.Barrier(2, timeout=within)
    try:
        threads = [threading.Thread(target=lambda s=s, pay=pay: (go.wait(), s.publish(topic, pay)))
                   for s, pay in zip(sessions, (rc.command.on, rc.command.off))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(within)
    finally:
        for s in sessions:
            s.close()
    return obs.last_state(within)


class Observer:
    """The observation channel: the serial console's status lines."""

    def __init__(self, device):
        self.rc = device.profile.remote_control
        self.console = device.console()
        self.console.drain(quiet=0.3, limit=2.0)

    def wait(self, state: str, timeout: float) -> bool:
        pattern = self.rc.observe.on if state == "on" else self.rc.observe.off
        try:
            self.console.expect([pattern], timeout)
            return True
        except TransportTimeout:
            return False

    def last_state(self, quiet_for: float) -> str | None:
        """The state of the last status line once the console has been quiet (bounded)."""
        text = self.console.buffer.decode("utf-8", "replace") + \
            self.console.drain(quiet=min(2.0, quiet_for), limit=quiet_for + 2.0)
        last = None
        for m in re.finditer(f"(?P<on>{self.rc.observe.on})|(?P<off>{self.rc.observe.off})",
                             text):
            last = "on" if m.group("on") else "off"
        return last

    def alive(self, timeout: float = 5.0) -> bool:
        """Does the observation channel still answer at all (a silent channel proves
        nothing either way)?"""
        self.console.drain(quiet=0.2, limit=1.0)
        self.console.send("\n")
        try:
            self.console.expect([r"\S"], timeout)
            return True
        except TransportTimeout:
            return False

    def close(self) -> None:
        self.console.close()


def tolerance(declared: float) -> float:
    """Stated tolerance on a declared time limit: 20 %, at least 1 s (clocks, polling)."""
    return max(1.0, 0.2 * declared)

