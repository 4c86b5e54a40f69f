"""TC-UPD-01's check of an upload channel (harness/update/push.py), its logic alone with
stand-ins for the unit's answers: the refusal of an upload without credentials counts only
once the lab's credential passes the same server's login. On the emulated units:
tests/lab/test_update_login.py."""
from types import SimpleNamespace

import pytest

from harness.errors import Inconclusive
from harness.model.evidence import Evidence, Failed
from harness.update import push

DEVICE = SimpleNamespace(profile=SimpleNamespace(update=SimpleNamespace(tls=True, port=8443)))


def check(without: int, with_credential: int) -> Evidence:
    sent = []

    def upload(device, image, with_auth=True):
        sent.append(with_auth)
        return {"status": without, "accepted": 200 <= without < 300}

    def signed_in(device):
        return {"status": with_credential, "path": "/version"}
    ev = Evidence()
    try:
        push.kind(upload, signed_in)[1](DEVICE, ev, None, None)
    finally:
        assert sent == [False]          # nothing is uploaded with the credential
    return ev


def test_a_refusal_for_lack_of_credentials_shown_by_the_control_passes():
    ev = check(401, 200)
    assert ev.items[-1]["observed"] == {"status": 200, "path": "/version"}


def test_the_credential_refused_as_well_proves_nothing():
    with pytest.raises(Inconclusive, match=r"refused too \(403 on /version\)"):
        check(401, 403)


def test_a_form_login_that_redirects_back_proves_nothing():
    """A form login that signs no one in leaves its pages redirecting to the login."""
    with pytest.raises(Inconclusive, match=r"refused too \(302 on /version\)"):
        check(403, 302)


def test_an_unauthenticated_upload_taken_fails_before_any_control():
    with pytest.raises(Failed, match="unauthenticated upload accepted"):
        check(200, 200)


def test_a_refusal_that_is_not_for_credentials_is_inconclusive():
    with pytest.raises(Inconclusive, match="answered 404, not 401/403"):
        check(404, 200)
