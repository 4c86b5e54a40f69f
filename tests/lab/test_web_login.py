"""Web logins against the real lighttpd of the emulated devices: HTTP basic (routers),
digest (cameras) and a form login with a session cookie (appliances) — the right password
is proven by the admin page, a wrong one is refused, and the credential test finds a
documented default on each kind."""
import pytest

from harness.lab.scope import Scope
from harness.profile.loader import load_profile
from harness import weblogin
from harness.probe.patience import Patience
from harness.transport import http
from harness.transport.transcript import Transcript
from harness.transport.wire import Wire
from tests.conftest import REPO, harness, load_run

# appliances share the cloud broker: the matrix borrows appliance-1 for its sibling
# appliance-noverify's tests, so a test of appliance-1 also waits until the matrix is
# done with that sibling (it holds both)
pytestmark = pytest.mark.units("router-1", "camera-1", "appliance-1", "appliance-noverify")

KINDS = {"router-1": "basic", "camera-1": "digest", "appliance-1": "form"}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_login_kinds(emulated_lab, tmp_path, name):
    profile, _ = load_profile(emulated_lab[name])
    web = profile.web[0]
    assert web.auth == KINDS[name]
    wire = Wire(Scope(["198.18.0.0/24"]), Transcript(tmp_path / "t.log"), 3, 10)
    good = web.password.get_secret_value()
    anonymous = http.request(wire, profile.address, web.port, "/admin/", tls=web.tls)
    assert anonymous.status in (302, 401)
    # the unit's guard may still be slowing logins down after the matrix's brute force:
    # back off as the credential probes do (bounded), never read a 429 as a refusal
    login = lambda pw: Patience().call(weblogin.login, wire, profile.address, web,  # noqa: E731
                                       "admin", pw)
    assert login(good + "x") is False
    assert login(good) is True
    assert good not in (tmp_path / "t.log").read_text()      # the form body is not logged


@pytest.mark.parametrize("name", ["camera-1", "appliance-1"])
def test_documented_default_found_on_web_login(emulated_lab, tmp_path, name):
    """The unit's password, declared as the vendor's documented default: TC-CRED-01 FAILs
    and names the digest or form surface among the hits."""
    profile, _ = load_profile(emulated_lab[name])
    good = profile.web[0].password.get_secret_value()
    text = open(emulated_lab[name]).read().replace(
        "extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
    text += f"default_credentials:\n  - {{username: admin, password: '{good}', source: test}}\n"
    derived = tmp_path / f"{name}.yaml"
    derived.write_text(text)
    out = tmp_path / "out"
    proc = harness("run", "--profile", derived, "-k", "TC-CRED-01", "--out", out)
    assert proc.returncode == 1, proc.stderr[-2000:]
    result = load_run(out)["devices"][0]["results"][0]
    assert result["verdict"] == "FAIL"
    assert f"http-{KINDS[name]}:443: admin/" in result["reason"], result["reason"]
