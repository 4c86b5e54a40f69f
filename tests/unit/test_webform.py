"""The web-upload update kind's images (harness/update/webform.py) against the emulated
ER-70W's own format and checks (harness/emulate/webfw.py). Pure logic: the units that run
the check are router-webfw and router-webfw-nosig in the detection matrix."""
from types import SimpleNamespace

import pytest

from harness.emulate import webfw
from harness.transport.http import file_form
from harness.update import bump, webform


class Unit:
    """The agent's state that webfw.apply touches."""

    def __init__(self, tmp_path, **flaws):
        self.cfg = {"unsigned_update": False, "downgrade_update": False, **flaws}
        self.running, self.fs = "2.4.1", tmp_path / "fs"    # its key: update_images put it

    def version(self):
        return self.running

    def set_version(self, v):
        self.running = v

    def console_out(self, text):
        pass


def newer(a, b):
    return tuple(map(int, a.split("."))) > tuple(map(int, b.split(".")))


@pytest.fixture
def images(tmp_path):
    (tmp_path / "fs" / "etc").mkdir(parents=True)
    webfw.update_images(tmp_path, webfw.vendor_key(tmp_path), "2.4.1", "unit")
    return (tmp_path / "update-valid.img").read_bytes(), (tmp_path / "update-old.img").read_bytes()


def test_declared_trailer_gives_all_three_and_a_checking_unit_refuses_them(tmp_path, images):
    valid, old = images
    got = webform.variants(valid, bump, SimpleNamespace(signature="rsa2048-sha256"))
    assert [i for i in range(len(valid)) if got["tampered"][i] != valid[i]] == \
        [(len(valid) - 256) // 2]                       # inside the signed content
    assert got["tampered"][-256:] == valid[-256:]       # its signature kept
    assert got["unsigned"] == valid[:-256]
    assert got["untrusted"][:-256] == valid[:-256] and got["untrusted"] != valid
    unit = Unit(tmp_path)
    codes = {k: webfw.apply(unit, got[k], newer)[0] for k in ("tampered", "unsigned",
                                                              "untrusted")}
    assert codes == {"tampered": 403, "unsigned": 400, "untrusted": 403}
    assert webfw.apply(unit, old, newer)[0] == 409 and unit.running == "2.4.1"
    assert webfw.apply(unit, valid, newer) == (200, "Upgrade complete: firmware 2.4.2")


def test_a_unit_that_checks_no_signature_takes_the_tampered_image(tmp_path, images):
    valid, _ = images
    got = webform.variants(valid, bump, SimpleNamespace(signature="rsa2048-sha256"))
    unit = Unit(tmp_path, unsigned_update=True)
    assert webfw.apply(unit, got["tampered"], newer)[0] == 200 and unit.running == "2.4.2"


def test_without_a_declared_layout_only_tampered_and_why_not_the_others(images):
    valid, _ = images
    got = webform.variants(valid, bump, SimpleNamespace(signature=None))
    assert isinstance(got["tampered"], bytes) and got["tampered"] != valid
    for k in ("unsigned", "untrusted"):
        assert "update.signature" in got[k]
    short = webform.variants(b"x" * 100, bump, SimpleNamespace(signature="rsa2048-sha256"))
    assert all("too short" in v for v in short.values())


def test_ed25519_trailer_is_64_bytes():
    got = webform.variants(b"h" * 200, bump, SimpleNamespace(signature="ed25519"))
    assert got["unsigned"] == b"h" * 136 and len(got["untrusted"]) == 200


def test_the_form_field_arrives_intact():
    data = bytes(range(256)) * 40 + b"\r\n--x\r\n"
    body, headers = file_form("firmware", "fw.bin", data)
    assert webfw.form_file(headers["Content-Type"], body) == data
    assert webfw.form_file(headers["Content-Type"], body, "other") is None
    assert webfw.form_file("text/plain", b"junk") is None


# ---- the upload behind each login style (stand-ins for the unit's answers: the login
# styles themselves are proven on real daemons in tests/lab/test_real_products.py and
# test_web_login.py, the form-login upload on router-webfw in the matrix)
class Answers:
    """http.request's stand-in: the login answers with a token, the pages with a version."""

    def __init__(self, login_status=200):
        self.sent, self.login_status = [], login_status

    def __call__(self, wire, host, port, path, method="GET", **kw):
        from harness.transport.http import Response
        self.sent.append((method, path, kw))
        if path == "/api/login":
            return Response(self.login_status, "OK", body=b'{"token": "t0k3n"}')
        if path == "/status":
            version = "2.4.2" if any(m == "POST" for m, p, _ in self.sent[:-1]
                                     if p == "/upload") else "2.4.1"
            return Response(200, "OK", body=f"Firmware {version}".encode())
        return Response(200, "OK", body=b"Upgrade complete")


def _device(auth="token"):
    web = SimpleNamespace(port=8443, tls=True, auth=auth, login_path="/api/login",
                          user_field="username", password_field="password", body="json",
                          token_field="token", token_use="bearer", token_cookie="token",
                          username="admin", password=SimpleNamespace(
                              get_secret_value=lambda: "secret"))
    update = SimpleNamespace(port=8443, tls=True, version_path="/status",
                             version_regex=r"Firmware (\S+)", upload_path="/upload",
                             form_field="firmware", apply_within=4)
    wire = SimpleNamespace(transcript=SimpleNamespace(redact=set()))
    return SimpleNamespace(wire=wire, profile=SimpleNamespace(address="198.18.0.48", web=[web],
                                                              update=update))


def test_an_upload_behind_a_token_login_carries_the_token_and_its_form(monkeypatch):
    from harness.transport import http
    answers = Answers()
    monkeypatch.setattr(http, "request", answers)
    got = webform.upload(_device(), b"image bytes")
    assert got["accepted"] is True and got["outcome"] == "version 2.4.1 -> 2.4.2", got
    method, path, kw = next(s for s in answers.sent if s[1] == "/upload")
    assert kw["headers"]["Authorization"] == "Bearer t0k3n"
    assert kw["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="firmware"' in kw["body"]


def test_a_login_the_ui_refuses_uploads_nothing_and_decides_nothing(monkeypatch):
    from harness.errors import Inconclusive
    from harness.transport import http
    answers = Answers(login_status=401)
    monkeypatch.setattr(http, "request", answers)
    with pytest.raises(Inconclusive, match=r"refused the lab's credential at its login \(401"):
        webform.upload(_device(), b"image bytes")
    assert not any(p == "/upload" for _, p, _ in answers.sent)
    assert webform.version(_device())["status"] == 401      # the control sees the refusal


def test_a_version_page_that_shows_none_is_no_change(monkeypatch):
    """A unit still booting answers its version page without a version: that is not an
    applied image (it was read as one: `None != before`)."""
    from harness.transport import http
    from harness.transport.http import Response
    answers = Answers()

    def booting(wire, host, port, path, method="GET", **kw):
        if path == "/status" and any(p == "/upload" for _, p, _ in answers.sent):
            answers.sent.append((method, path, kw))
            return Response(503, "booting", body=b"please wait")
        return answers(wire, host, port, path, method, **kw)
    monkeypatch.setattr(http, "request", booting)
    monkeypatch.setattr(webform, "VERSION_POLL", 0.1)
    dev = _device()
    dev.profile.update.apply_within = 0.5
    got = webform.upload(dev, b"image bytes")
    assert got["accepted"] is None and "stayed 2.4.1" in got["outcome"], got
    # the version before the upload was read with the upload's own login: one login for both
    first_upload = next(i for i, s in enumerate(answers.sent) if s[1] == "/upload")
    assert [p for _, p, _ in answers.sent[:first_upload]] == ["/api/login", "/status"]
