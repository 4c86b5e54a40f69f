"""The emulated heater: driven over MQTT (command channel), seen on the serial console
(independent observation channel), and its safe state when the link is cut. This proves
the planted `unsafe_on_link_loss` flaw exists for the S-mark safe-state tests to find."""

import pytest

from harness.emulate import lab
from harness.errors import TransportTimeout
from harness.runner.context import build_context
from harness.transport.mqtt import MQTTSession

# appliances share the cloud broker: the matrix borrows appliance-1 for its sibling
# appliance-noverify's tests, so a test of appliance-1 also waits until the matrix is
# done with that sibling (it holds both)
pytestmark = pytest.mark.units("appliance-1", "appliance-noverify", "appliance-open")


def _heat_then_cut(emulated_lab, tmp_path, name):
    ctx = build_context([emulated_lab[name]], out=tmp_path / "out")
    device = ctx.devices[0]
    m = device.profile.mqtt
    console = device.console()
    console.drain(quiet=0.3)
    s = MQTTSession(device.wire, m.host, m.port, m.tls, m.username,
                    m.password.get_secret_value() if m.password else None)
    try:
        s.publish(f"{m.topic_prefix}/heater/set", "on")
    finally:
        s.close()
    console.expect([r"\[heater\] on \(remote\)"], 10)
    lab.link(name, "down")
    try:
        console.expect([r"\[link\] broker connection lost"], 30)
        try:
            console.expect([r"\[heater\] off \(safe state"], 10)   # compliant: ~3 s
            safe = True
        except TransportTimeout:
            safe = False
    finally:
        lab.link(name, "up")
        console.close()
    return safe


def test_compliant_heater_goes_safe_when_the_link_is_lost(emulated_lab, tmp_path):
    assert _heat_then_cut(emulated_lab, tmp_path, "appliance-1") is True


def test_flawed_heater_keeps_heating(emulated_lab, tmp_path):
    assert _heat_then_cut(emulated_lab, tmp_path, "appliance-open") is False


def test_a_command_while_the_unit_reconnects_is_repeated_until_seen(emulated_lab, tmp_path):
    """Right after its link comes back the unit is still reconnecting to the broker, and a
    command sent then is lost (a clean session keeps nothing): the positive control repeats
    it (what made a resumed TC-SMARK-02 INCONCLUSIVE on a slower machine)."""
    from harness.probe import remote
    device = build_context([emulated_lab["appliance-1"]], out=tmp_path / "out").devices[0]
    obs = remote.Observer(device)
    try:
        lab.link("appliance-1", "down")
        try:
            obs.console.expect([r"\[link\] broker connection lost"], 30)
        finally:
            lab.link("appliance-1", "up")
        tl = remote.Timeline()
        assert remote.switch(device, obs, "on", tl), tl.events
        assert remote.switch(device, obs, "off", tl), tl.events
    finally:
        obs.close()
