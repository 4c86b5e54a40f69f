"""Remote operation: command the load over the remote channel the profile declares, watch it
on an independent observation channel, and keep a timeline of what happened when.

The S-mark criteria's official test steps are not public: these steps are the harness's
own design (the report says so through the catalog's provisional note)."""
from __future__ import annotations

import contextlib
import re
import time

from harness.errors import DeviceError, NotRun, TransportTimeout
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


def topic_of(device, sub: str) -> str:
    return "/".join(x.strip("/") for x in (device.profile.mqtt.topic_prefix, sub) if x)


def mqtt_session(device) -> MQTTSession:
    m = device.profile.mqtt
    return MQTTSession(device.wire, m.host, m.port, m.tls, m.username,
                       m.password.get_secret_value() if m.password else None)


def send(device, payload: str | bytes, retain: bool = False) -> str:
    """Publish one frame on the command topic, QoS 1. Not retained unless asked: a retained
    command is replayed by the broker on every subscription (TC-SMARK-03P leaves one there
    on purpose, and removes it with an empty retained frame)."""
    topic = topic_of(device, device.profile.remote_control.command.topic)
    s = mqtt_session(device)
    try:
        s.publish(topic, payload, retain=retain)
    finally:
        s.close()
    return topic


RECONNECT = 30.0     # s a unit may take to be back on its command channel (link restored, reboot)
RESEND = 3.0         # s between repeats of a command not yet seen


def switch(device, obs, state: str, tl: Timeline | None = None, what: str = "") -> bool:
    """Command the load ON or OFF and see it on the observation channel. A unit that is
    still reconnecting to its command channel (after a link restore, a reboot, a stopped
    run's restores) loses a command sent meanwhile, as a clean MQTT session should: the
    command is repeated every RESEND s for the declared command_within plus RECONNECT, at
    most 15 sends. ON and OFF are idempotent, so a repeat changes nothing once it works."""
    rc = device.profile.remote_control
    deadline = time.monotonic() + rc.command_within + RECONNECT
    for sent in range(1, 16):
        topic = command(device, state)
        if tl is not None and sent == 1:
            tl.mark(f"command {state.upper()} sent{what}", topic)
        left = deadline - time.monotonic()
        if obs.wait(state, max(0.5, min(RESEND, left))):
            if tl is not None and sent > 1:
                tl.mark(f"command {state.upper()} repeated: seen after {sent} sends (the unit "
                        "was reconnecting)")
            return True
        if time.monotonic() >= deadline:
            break
    return False


class Reports:
    """What the device reports back on the command channel (its state topic)."""

    def __init__(self, device):
        self.topic = topic_of(device, device.profile.remote_control.command.state_topic)
        self.session = mqtt_session(device)
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
    sessions = [mqtt_session(device), mqtt_session(device)]
    topic = topic_of(device, rc.command.topic)
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



# ---------------------------------------------------------------- the steps test cases share
BORROW_WAIT = 600.0     # s to wait for a unit on the same command channel to be free


def channel_peers(device, devices, same_model: bool = False) -> list:
    """The other remotely operated units of the run on the device's command channel (the
    same broker); same_model: only units of its vendor and model."""
    m, p = device.profile.mqtt, device.profile
    return [d for d in devices
            if d.name != device.name and d.profile.mqtt and d.profile.remote_control
            and (d.profile.mqtt.host, d.profile.mqtt.port) == (m.host, m.port)
            and (not same_model or (d.profile.vendor, d.profile.model) == (p.vendor, p.model))]


def hold_channel(device, run_context, lifecycle, units: bool = False) -> list:
    """Remote-operation test cases on one command channel (one broker) take turns until
    the test case ends: a command sent there can reach a unit that is not under test (a
    flawed sibling obeys it) and spoil what that unit's own remote-operation test case
    observes. The units' other test cases go on meanwhile: a command moves a load, not
    what they probe. units=True: the peers themselves are borrowed too (a test case that
    commands them and reads their consoles). Locks are taken units first, then the
    channel, by every test case: no two wait for each other. Returns the peers."""
    peers = channel_peers(device, run_context.devices)
    if not peers:
        return peers
    wait = min(BORROW_WAIT, run_context.lab.timeouts.test_case / 2)
    m = device.profile.mqtt
    held = contextlib.ExitStack()
    try:
        if units:
            held.enter_context(run_context.units.borrow(device.name, [d.name for d in peers],
                                                        wait))
            held.enter_context(run_context.claims.borrowing(peers, wait))
        held.enter_context(run_context.units.taking(
            "channel-" + re.sub(r"[^\w.-]", "_", f"{m.host}-{m.port}"), wait,
            f"the command channel {m.host}:{m.port}"))
    except BaseException:
        held.close()
        raise
    lifecycle.on_exit("the command channel released", held.close)
    return peers


def begin(device, run_context, lifecycle, units: bool = False) -> list:
    """Registered before anything changes, so it runs last at the end whatever happened:
    the channel held, then the load commanded OFF (after the link is back: restores run
    newest first). Returns the units that share the command channel."""
    peers = hold_channel(device, run_context, lifecycle, units)
    lifecycle.on_exit("load commanded OFF", lambda: command(device, "off"))
    return peers


def link_test_setup(device, run_context):
    lab = run_context.lab
    if not (lab.actions.link_down and lab.actions.link_up):
        raise NotRun("the lab config has no link_down/link_up actions to cut the link")
    return device.profile, lab, device.profile.remote_control


def cut_link(lifecycle, tl) -> float:
    lifecycle.act("link_down")
    lifecycle.on_exit("link up", lambda: lifecycle.act("link_up"))    # proven ready
    return tl.mark("link cut")


def finish(obs, tl, evidence) -> None:
    obs.close()
    evidence.record("timeline (s since the first command)", tl.events)


def shell_run(device, command: str, what: str) -> str:
    """One command in a shell on the device; DeviceError unless it exits 0."""
    shell = device.shell()
    try:
        status, out = shell.run(command, timeout=120)
    finally:
        shell.close()
    if status != 0:
        raise DeviceError(f"{what} ({command}) failed with status {status}: {out[-200:]}")
    return out


def reenable(device) -> str:
    """After a factory reset: remote operation on again, as the lab received the unit (the
    manual's way, remote_control.enable). Nothing to do when the type declares none."""
    rc = device.profile.remote_control
    if not (rc and rc.enable):
        return "nothing to re-enable"
    return shell_run(device, rc.enable, "enabling remote operation")
