"""TC-AUTH-01's positive control on a web admin path: a refusal counts only when the lab's
credential gets the same path; when it does not, the control says why (it once had no
reason, and the test case ended in an internal error instead of NOT_RUN)."""
from types import SimpleNamespace

from harness.probe import unauthenticated
from harness.profile.schema import DeviceProfile


def _device():
    profile = DeviceProfile.model_validate({
        "name": "u-1", "vendor": "V", "model": "M", "firmware_version": "1",
        "category": "hub", "address": "198.18.0.50",
        "web": [{"port": 1880, "auth": "basic", "admin_paths": ["/flows"], "username": "op",
                 "password": "y" * 12}]})
    return SimpleNamespace(profile=profile, wire=None)


def _answer(status):
    return SimpleNamespace(status=status, content_type="text/html", truncated=None)


def test_a_control_that_fails_says_why(monkeypatch):
    from harness import weblogin
    from harness.transport import http
    monkeypatch.setattr(http, "request", lambda *a, **k: _answer(503))
    monkeypatch.setattr(weblogin, "fetch", lambda *a, **k: _answer(503))
    monkeypatch.setattr(unauthenticated, "ALWAYS", {})      # no FTP/TFTP probes here
    seen = unauthenticated.gather(_device())
    assert [i["surface"] for i in seen] == ["http:1880/flows"]
    assert seen[0]["open"] is False and seen[0]["control"] == {
        "with the lab's credential": 503, "passed": False,
        "why": "http:1880/flows: 503 without credentials and 503 with the lab's: the refusal "
               "proves nothing"}
    monkeypatch.setattr(weblogin, "fetch", lambda *a, **k: _answer(200))
    control = unauthenticated.gather(_device())[0]["control"]
    assert control["passed"] is True and control["why"] == ""


def test_the_outcome_per_login():
    """TC-AUTH-01's outcome per login: the weakest of its items; something open on no login
    of the profile is the unit's; a refusal on no login is nobody's answer."""
    ok, bad = {"passed": True, "why": ""}, {"passed": False, "why": "ssh:22: no control"}
    seen = [{"surface": "https:443/admin", "login": "http-basic:443", "open": False,
             "control": ok},
            {"surface": "https:443/cfg", "login": "http-basic:443", "open": True},
            {"surface": "ssh:22 (user admin, no credential)", "login": "ssh:22",
             "open": False, "control": bad},
            {"surface": "rtsp:554", "login": "rtsp:554", "open": False, "control": ok},
            {"surface": "ftp:21", "open": True},
            {"surface": "tftp:69", "open": False, "control": bad}]
    assert unauthenticated.per_login(seen) == {
        "http-basic:443": ("FAIL", "https:443/cfg: reachable without authentication"),
        "ssh:22": ("NOT_RUN", "ssh:22: no control"),
        "rtsp:554": ("PASS", "refused without credentials; the lab's credential passes"),
        "*": ("FAIL", "ftp:21: reachable without authentication")}
