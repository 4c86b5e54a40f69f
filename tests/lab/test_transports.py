"""Each transport against the real daemons of the emulated devices."""
import pytest

from harness.errors import ScopeError
from harness.lab.scope import Scope
from harness.profile.loader import load_profile
from harness.profile.schema import Prompts
from harness.transport import http, net, ssh
from harness.transport.mqtt import MQTTSession
from harness.transport.serial import SerialConsole
from harness.transport.telnet import TelnetConsole
from harness.redact import Redactor
from harness.transport.transcript import Transcript
from harness.transport.wire import Wire


@pytest.fixture
def wire(tmp_path):
    return Wire(Scope(["198.18.0.0/24"]), Transcript(tmp_path / "t.log"), 3, 10)


def pw(emulated_lab, name):
    profile, _ = load_profile(emulated_lab[name])
    return profile.ssh.password.get_secret_value()


@pytest.mark.units("router-1")
def test_ssh(emulated_lab, wire):
    good = pw(emulated_lab, "router-1")
    assert ssh.try_password(wire, "198.18.0.11", 22, "admin", good) == "accepted"
    s = ssh.SSHSession(wire, "198.18.0.11", 22)
    try:
        assert s.auth_password("admin", good)
        status, out = s.run("echo $((6*7)); exit 3")
        assert (status, out.strip()) == (3, "42")
        assert s.host_key()["type"] == "ssh-ed25519"
        shell = s.interactive(Prompts())
        shell.drain(quiet=0.5)
        assert shell.proves_shell()
        assert shell.run("echo $((40+2))") == (0, "42")
        shell.close()
    finally:
        s.close()
    # last: earlier tests' failed logins count towards the unit's lockout (8 in 60 s); this
    # one may complete it, and the ban must not hit the checks above
    assert ssh.try_password(wire, "198.18.0.11", 22, "admin", good + "x") == "rejected"


@pytest.mark.units("router-telnet")
def test_telnet(emulated_lab, wire):
    c = TelnetConsole(wire, Prompts(), "198.18.0.15", 23)
    try:
        assert c.login("admin", pw(emulated_lab, "router-telnet")) == "accepted"
        assert c.run("echo $((40+2))") == (0, "42")
    finally:
        c.close()
    c = TelnetConsole(wire, Prompts(), "198.18.0.15", 23)
    try:
        assert c.login("admin", "wrong-password") == "rejected"
    finally:
        c.close()


@pytest.mark.units("appliance-1", "appliance-noverify", "appliance-open")
def test_serial_console_on_a_pty(emulated_lab, wire):
    profile, _ = load_profile(emulated_lab["appliance-1"])
    c = SerialConsole(wire, Prompts(), profile.serial.port)
    try:
        assert c.login("admin", "wrong") == "rejected"
        assert c.login("admin", profile.serial.password.get_secret_value()) == "accepted"
        status, out = c.run("cat etc/firmware.json")
        assert status == 0 and '"version"' in out
    finally:
        c.close()
    open_console = load_profile(emulated_lab["appliance-open"])[0].serial.port
    c = SerialConsole(wire, Prompts(), open_console)
    try:
        assert c.login("anyone", "anything") == "no-login"
    finally:
        c.close()


@pytest.mark.units("router-1")
def test_http(emulated_lab, wire):
    good = pw(emulated_lab, "router-1")
    assert http.request(wire, "198.18.0.11", 443, "/admin/", tls=True).status == 401
    r = http.request(wire, "198.18.0.11", 443, "/admin/", tls=True, basic=("admin", good))
    assert r.status == 200 and b"Settings" in r.body


@pytest.mark.units("appliance-1", "appliance-noverify", "appliance-open")
def test_mqtt(emulated_lab, wire):
    s = MQTTSession(wire, "198.18.0.2", 1883)                 # appliance-open: anonymous
    try:
        assert s.accepted and s.subscribe("probe/#")
        s.publish("probe/x", "hello")
        assert s.wait_for("probe/x", 3.0) == [b"hello"]
    finally:
        s.close()
    s = MQTTSession(wire, "198.18.0.2", 8883, tls=True)       # appliance-1: needs credentials
    try:
        assert not s.accepted
    finally:
        s.close()
    good = pw(emulated_lab, "appliance-1")
    s = MQTTSession(wire, "198.18.0.2", 8883, tls=True, username="appliance-1-app", password=good)
    try:
        assert s.accepted
        assert s.subscribe("home/appliance-1/heater/state")
        assert s.wait_for("home/appliance-1/heater/state", 5.0)      # retained by the device
    finally:
        s.close()


@pytest.mark.units("router-1")
def test_net_banner_and_nmap(emulated_lab, wire):
    assert net.banner(wire, "198.18.0.11", 22, until=b"\n").startswith(b"SSH-2.0-dropbear")
    host, xml = net.nmap_scan(wire, "198.18.0.11", "-n -Pn -sS -p 20-25", 60)
    assert host["tcp"][22]["state"] == "open" and host["tcp"][23]["state"] == "closed"
    assert "<nmaprun" in xml


@pytest.mark.units()
def test_transports_refuse_out_of_scope(tmp_path):
    wire = Wire(Scope(["198.18.0.0/28"]), Transcript(tmp_path / "t.log"), 1, 1)
    with pytest.raises(ScopeError):
        ssh.try_password(wire, "198.18.0.21", 22, "a", "b")
    with pytest.raises(ScopeError):
        http.request(wire, "192.0.2.1", 80, "/")  # never sent: the Wire refuses first
    with pytest.raises(ScopeError):
        MQTTSession(wire, "127.0.0.1", 1883)
    with pytest.raises(ScopeError):
        net.nmap_scan(wire, "127.0.0.1", "-p 22", 10)
    with pytest.raises(ScopeError):
        SerialConsole(wire, Prompts(), "socket://127.0.0.1:7000")
    assert not (tmp_path / "t.log").exists() or "connect" not in (tmp_path / "t.log").read_text()


@pytest.mark.units()
def test_transcript_redacts(tmp_path):
    t = Transcript(tmp_path / "t.log", Redactor(["s3cret-value"]))
    t.sent("ssh", "password is s3cret-value")
    t.received("ssh", b"echo s3cret-value back")
    t.flush()
    text = (tmp_path / "t.log").read_text()
    assert "s3cret-value" not in text and text.count("***") == 2


@pytest.mark.units("camera-open", "router-1")
def test_ftp(emulated_lab, wire):
    from harness.transport import ftp
    r = ftp.login(wire, "198.18.0.21", 21, "anonymous", "lab@example.invalid", list_files=True)
    assert r["accepted"] and "README" in r["listing"]
    assert ftp.login(wire, "198.18.0.21", 21, "admin", "wrong")["accepted"] is False
    assert ftp.login(wire, "198.18.0.11", 21, "anonymous", "x") is None    # no FTP service
