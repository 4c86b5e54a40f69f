"""Third-party IoT software in its shipped configuration and each login style, against the
emulated units that run it: Node-RED (OAuth2 password grant, or no login at all), motion's
endless MJPEG stream, tftpd-hpa, net-snmp (v2c and v3), the appliance app's JSON token
login. A refusal counts only with its positive control: a declared login procedure that
cannot succeed leaves the surface not tested (NOT_RUN), never PASS."""

import pytest

from harness import weblogin
from harness.lab.scope import Scope
from harness.profile.loader import load_profile
from harness.transport import http, snmp, tftp
from harness.transport.transcript import Transcript
from harness.transport.wire import Wire
from tests.conftest import REPO, harness, load_run


@pytest.fixture
def wire(tmp_path):
    return Wire(Scope(["198.18.0.0/24", "2001:2::/64"]), Transcript(tmp_path / "t.log"), 3, 10)


def _pw(emulated_lab, name):
    return load_profile(emulated_lab[name])[0].ssh.password.get_secret_value()


def _derived(emulated_lab, tmp_path, name, edit):
    text = open(emulated_lab[name]).read().replace(
        "extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
    path = tmp_path / f"{name}.yaml"
    path.write_text(edit(text))
    return path


@pytest.mark.units("appliance-1")
@pytest.mark.parametrize("use", ["bearer", "cookie"])
def test_token_login_json_body_bearer_or_cookie(emulated_lab, wire, tmp_path, use):
    from harness.profile.schema import Web
    good = _pw(emulated_lab, "appliance-1")
    web = Web(port=443, tls=True, auth="token", login_path="/api/login.cgi", body="json",
              token_field="token", token_use=use, admin_paths=["/api/settings.cgi"])
    assert http.request(wire, "198.18.0.22", 443, "/api/settings.cgi", tls=True).status == 401
    assert weblogin.login(wire, "198.18.0.22", web, "admin", good) is True
    assert weblogin.login(wire, "198.18.0.22", web, "admin", good + "x") is False
    log = (tmp_path / "t.log").read_text()
    assert good not in log and "(body not logged: a login answer)" in log   # nor the token


@pytest.mark.units("hub-1")
def test_oauth2_password_grant_on_node_red(emulated_lab, wire):
    profile, _ = load_profile(emulated_lab["hub-1"])
    web, good = profile.web[0], _pw(emulated_lab, "hub-1")
    assert (web.auth, web.login_path, web.client_id) == ("oauth2", "/auth/token", "node-red-admin")
    assert http.request(wire, profile.address, 1880, "/flows", tls=True).status == 401
    assert weblogin.login(wire, profile.address, web, "admin", good) is True
    assert weblogin.login(wire, profile.address, web, "admin", "hx-" + good) is False


@pytest.mark.units("hub-1")
def test_a_login_style_that_cannot_succeed_is_not_run_never_pass(emulated_lab, tmp_path):
    """hub-1 declared with the wrong style (a form login where Node-RED speaks OAuth2):
    every known credential would read as refused; without its positive control the web
    surface is not tested, and TC-CRED-01 says so instead of PASS."""
    path = _derived(emulated_lab, tmp_path, "hub-1", lambda t: t.replace(
        "auth: oauth2, login_path: /auth/token", "auth: form, login_path: /auth/token"))
    out = tmp_path / "out"
    proc = harness("run", "--profile", path, "-k", "TC-CRED-01", "--out", out)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    r = load_run(out)["devices"][0]["results"][0]
    assert r["verdict"] == "NOT_RUN", r
    assert "http-form:1880: the lab's own credential was refused by the declared login " \
           "procedure (auth: form)" in r["reason"]
    surface = next(e["observed"] for e in r["evidence"] if e["check"] == "surface http-form:1880")
    assert surface["untested"] and surface["tried"]      # the list was still tried: no hit


@pytest.mark.units("hub-open")
def test_no_login_at_all_is_open_access_and_its_credentials_not_tested(emulated_lab, tmp_path):
    """Node-RED as shipped: the manual's login does not exist (its token endpoint answers
    404) and the editor's admin API answers anyone: TC-AUTH-01 FAIL, TC-CRED-01 NOT_RUN."""
    out = tmp_path / "out"
    proc = harness("run", "--profile", emulated_lab["hub-open"], "-k",
                   "TC-CRED-01 or TC-AUTH-01", "--out", out)
    assert proc.returncode == 1, proc.stderr[-2000:]
    res = {r["test_id"]: r for r in load_run(out)["devices"][0]["results"]}
    assert res["TC-AUTH-01"]["verdict"] == "FAIL"
    assert "http:1880/flows" in res["TC-AUTH-01"]["reason"]
    assert res["TC-CRED-01"]["verdict"] == "NOT_RUN"
    assert "http-oauth2:1880" in res["TC-CRED-01"]["reason"]


@pytest.mark.units("camera-mjpeg", "camera-mjpeg-open")
def test_an_endless_stream_is_decided_from_its_headers(emulated_lab, wire):
    from harness.probe.patience import Patience
    for host in ("198.18.0.33", "198.18.0.34"):     # motion may still be restarting its
        Patience(budget=30).call(http.request, wire, host, 8081, "/", "GET", True)  # stream
    r = http.request(wire, "198.18.0.34", 8081, "/", tls=True)         # motion, no auth
    assert r.status == 200 and r.content_type == "multipart/x-mixed-replace"
    assert r.truncated and len(r.body) <= 64 << 10      # the body is not read to its end
    assert http.request(wire, "198.18.0.33", 8081, "/", tls=True).status == 401
    good = _pw(emulated_lab, "camera-mjpeg")
    ok = http.request(wire, "198.18.0.33", 8081, "/", tls=True, basic=("admin", good))
    assert ok.status == 200 and ok.truncated


@pytest.mark.units("router-udp", "router-snmpv3")
def test_snmp_and_tftp_transports(emulated_lab, wire):
    assert snmp.get(wire, "198.18.0.35", 161, "2c", "public")["answered"]
    with pytest.raises(Exception, match="no answer"):          # a wrong community: silence
        snmp.get(wire, "198.18.0.35", 161, "2c", "hx-wrong-community")
    good = _pw(emulated_lab, "router-snmpv3")
    assert snmp.get(wire, "198.18.0.36", 161, "3", good, "admin")["answered"]
    refused = snmp.get(wire, "198.18.0.36", 161, "3", "hx-wrong-" + good, "admin")
    assert not refused["answered"] and "Authentication failure" in refused["why"]
    read = tftp.read_first_block(wire, "198.18.0.35", 69, "backup.cfg")
    assert read["answer"] == "data" and "router-udp configuration backup" in read["start"]
    assert tftp.read_first_block(wire, "198.18.0.35", 69, "nope.bin")["answer"] == "error"
    assert tftp.read_first_block(wire, "198.18.0.36", 69, "backup.cfg", 1.0)["answer"] == "none"
    assert "public" not in (wire.transcript.path.read_text())        # the community masked


@pytest.mark.units("hub-1", "hub-open", "camera-mjpeg", "appliance-1")
def test_probe_login_tells_the_style_and_proves_it(emulated_lab):
    hub = harness("probe-login", "198.18.0.31", "1880", "--username", "admin",
                  "--password-env", "HX_TEST_PW", env={"HX_TEST_PW": _pw(emulated_lab, "hub-1")})
    assert hub.returncode == 0, hub.stdout + hub.stderr
    assert 'auth: "oauth2", login_path: "/auth/token", client_id: "node-red-admin"' in hub.stdout
    assert "with the lab's credential: proven" in hub.stdout
    cam = harness("probe-login", "198.18.0.33", "8081")
    assert cam.returncode == 0 and 'auth: "basic"' in cam.stdout
    form = harness("probe-login", "198.18.0.22", "443")
    assert form.returncode == 0 and 'auth: "form", login_path: "/login.cgi"' in form.stdout
    none = harness("probe-login", "198.18.0.32", "1880")
    assert none.returncode == 1 and "no login style recognised" in none.stdout
    assert "Node-RED without adminAuth" in none.stdout
    wrong = harness("probe-login", "198.18.0.31", "1880", "--username", "admin",
                    "--password-env", "HX_TEST_PW", env={"HX_TEST_PW": "hx-not-it"})
    assert wrong.returncode == 1 and "NOT proven" in wrong.stdout
    outside = harness("probe-login", "127.0.0.1", "22")
    assert outside.returncode == 2 and "refusing to send anything" in outside.stderr


@pytest.mark.units("router-udp")
def test_discover_drafts_only_what_the_unit_shows(emulated_lab, tmp_path):
    proc = harness("discover", "198.18.0.35", "--name", "r1", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    type_text = (tmp_path / "r1.type.yaml").read_text()
    inst = (tmp_path / "r1.yaml").read_text()
    assert "vendor: null  # NOT SHOWN" in type_text and "firmware_version: null" in type_text
    for needle in ("{port: 22, service: ssh", "{port: 69, proto: udp, service: tftp",
                   "{port: 161, proto: udp, service: snmp", "{port: 443, service: https"):
        assert needle in type_text, needle
    assert "mac: '02:00:5e:00:00:19'" in inst, inst
    assert "address6: '2001:2::35'" in inst, inst
    assert 'auth: "basic", admin_paths: ["/admin/"]' in inst
    assert "host key ssh-ed25519 SHA256:" in inst and "password: {env: CHANGE_ME}" in inst
    assert _pw(emulated_lab, "router-udp") not in type_text + inst
