"""The labgrid client's pure logic: reading a place, waiting for a holder, scope checks.
(The backend against a real coordinator, exporter and ser2net: tests/lab/test_labgrid.py.)"""
import subprocess

import pytest

from harness.errors import ScopeError
from harness.lab.config import Labgrid
from harness.lab.labgrid import Client, PlaceError, holder, parse_show
from harness.lab.scope import Scope

SHOW = """Place 'emu-router-1':
  matches:
    hx-bench/router-1/*
  acquired: vm/harness-run-1
  acquired resources:
    hx-bench/router-1/NetworkPowerPort/NetworkPowerPort
    hx-bench/router-1/NetworkSerialPort/RawSerialPort
  created: 2026-11-28 02:05:41.019177
Acquired resource 'NetworkPowerPort' (hx-bench/router-1/NetworkPowerPort/NetworkPowerPort):
  {'acquired': 'emu-router-1',
   'avail': True,
   'cls': 'NetworkPowerPort',
   'params': {'extra': {'proxy': 'localhost', 'proxy_required': False},
              'host': 'http://{host}:8090/outlet/{index}/{value}',
              'index': 1,
              'model': 'simplerest'}}
Acquired resource 'RawSerialPort' (hx-bench/router-1/NetworkSerialPort/RawSerialPort):
  {'acquired': 'emu-router-1',
   'avail': True,
   'cls': 'NetworkSerialPort',
   'params': {'extra': {'path': '/dev/pts/0', 'proxy': 'localhost', 'proxy_required': False},
              'host': '{host}',
              'port': 41237,
              'speed': 115200}}
"""
SCOPE = Scope(["198.18.0.0/24"])
CFG = Labgrid(coordinator="198.18.0.3:20408", client="/opt/lg/labgrid-client",
              acquire_timeout=10)


class FakeClient:
    """labgrid-client's answers, one per call, by command."""

    def __init__(self, **answers):
        self.answers = {k: list(v) for k, v in answers.items()}
        self.calls = []

    def __call__(self, cmd, **kw):
        self.calls.append((cmd, kw["env"]["LG_USERNAME"]))
        verb = cmd[5]
        code, text = self.answers[verb].pop(0) if len(self.answers[verb]) > 1 \
            else self.answers[verb][0]
        return subprocess.CompletedProcess(cmd, code, text if code == 0 else "",
                                           "" if code == 0 else text)


def client(fake, cfg=CFG):
    return Client(cfg, SCOPE, holder("20261128-1"), runner=fake)


def show(host="198.18.0.3"):
    return (0, SHOW.replace("{host}", host))


def test_show_is_read_per_resource_class():
    found = parse_show(SHOW.replace("{host}", "198.18.0.3"))
    assert found["NetworkSerialPort"][0]["port"] == 41237
    assert found["NetworkPowerPort"][0]["model"] == "simplerest"
    assert parse_show("Place 'x':\n  acquired: None\n") == {}


def test_acquire_returns_the_console_and_power_switch_in_scope():
    fake = FakeClient(acquire=[(0, "acquired place emu-router-1\n")], show=[show()])
    res = client(fake).acquire("emu-router-1")
    assert res == {"serial": "rfc2217://198.18.0.3:41237",
                   "power": "198.18.0.3"}
    assert {user for _, user in fake.calls} == {holder("20261128-1")} == {"harness-20261128-1"}
    assert fake.calls[0][0][:5] == ["/opt/lg/labgrid-client", "-x", "198.18.0.3:20408", "-p",
                                    "emu-router-1"]


def test_a_place_this_run_already_holds_is_taken_back():
    """A killed run's place is still acquired in its name: --resume goes on with it."""
    fake = FakeClient(acquire=[(1, "labgrid-client: Error: You have already acquired place "
                                   "emu-router-1.")], show=[show()])
    assert client(fake).acquire("emu-router-1")["serial"].startswith("rfc2217://198.18.0.3")


def test_a_held_place_is_waited_for_then_taken():
    held = (1, "labgrid-client: Error: Place emu-router-1 is already acquired by vm/alice. "
               "To work simultaneously, ...")
    fake = FakeClient(acquire=[held, held, (0, "acquired")], show=[show()])
    slept = []
    client(fake).acquire("emu-router-1", sleep=slept.append, clock=lambda: 0.0)
    assert len(slept) == 2


def test_a_place_held_past_the_wait_names_its_holder():
    held = (1, "labgrid-client: Error: Place emu-router-1 is already acquired by vm/alice. "
               "To work simultaneously, alice can execute ...")
    now = iter([0.0, 5.0, 11.0])
    with pytest.raises(PlaceError, match=r"held by vm/alice: waited 10s"):
        client(FakeClient(acquire=[held])).acquire("emu-router-1", sleep=lambda s: None,
                                                   clock=lambda: next(now))


def test_other_failures_are_not_waited_for():
    fake = FakeClient(acquire=[(1, "labgrid-client: Error: place emu-x does not exist")])
    with pytest.raises(PlaceError, match="does not exist"):
        client(fake).acquire("emu-x", sleep=lambda s: pytest.fail("waited"))


@pytest.mark.parametrize("where", ["console", "power"])
def test_a_place_whose_hardware_is_out_of_scope_is_refused(where):
    text = SHOW.replace("{host}", "198.18.0.3")
    text = text.replace("'host': '198.18.0.3'" if where == "console" else
                        "'host': 'http://198.18.0.3:8090", "'host': '198.18.7.7'" if
                        where == "console" else "'host': 'http://198.18.7.7:8090")
    fake = FakeClient(acquire=[(0, "acquired")], show=[(0, text)])
    with pytest.raises(PlaceError, match="out of scope"):
        client(fake).acquire("emu-router-1")


def test_coordinator_out_of_scope_is_refused_before_any_call():
    fake = FakeClient()
    with pytest.raises(ScopeError):
        Client(Labgrid(coordinator="198.18.9.3:20408"), SCOPE, holder("r"), runner=fake)
    assert fake.calls == []


def test_missing_client_tool_says_how_to_install_it():
    def missing(cmd, **kw):
        raise FileNotFoundError(cmd[0])
    with pytest.raises(PlaceError, match="scripts/setup.sh"):
        client(missing).release("emu-router-1")


def test_power_cycle_passes_the_off_time():
    fake = FakeClient(power=[(0, "")])
    client(fake).power("emu-router-1", "cycle", 2.0)
    assert fake.calls[0][0][5:] == ["power", "cycle", "-t", "2"]


def test_every_rfc2217_console_ignores_set_control_answers():
    """ser2net (labgrid's exporter, and the usual RFC 2217 server) does not answer every
    SET_CONTROL as pyserial waits for: the serial transport asks pyserial not to wait, for
    every rfc2217:// URL, keeping the URL's own options; socket:// is left alone."""
    from types import SimpleNamespace
    from harness.transport.serial import _checked_url
    wire = SimpleNamespace(scope=SCOPE)
    assert _checked_url(wire, "rfc2217://198.18.0.3:4001") == \
        "rfc2217://198.18.0.3:4001?ign_set_control"
    assert _checked_url(wire, "RFC2217://198.18.0.3:4001?timeout=5") == \
        "rfc2217://198.18.0.3:4001?timeout=5&ign_set_control"
    assert _checked_url(wire, "socket://198.18.0.3:4001") == "socket://198.18.0.3:4001"
