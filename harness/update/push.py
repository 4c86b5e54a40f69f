"""The channel of a unit that takes its images as uploads (kinds `json`, `swupdate`, `web`): each
image is one upload, and TC-UPD-01 checks the upload endpoint itself — served over TLS, an
upload without credentials refused (401/403), and the lab's credential shown to pass the same
server's login (the positive control: the refusal was for lack of credentials). Nothing is
uploaded with the credential here: TC-UPD-01 changes nothing on the unit."""
from __future__ import annotations

import contextlib

from harness.errors import Inconclusive


class Channel:
    """TC-UPD-02's offers, each an upload by the kind's `upload`."""

    def __init__(self, device, upload):
        self.device, self._upload = device, upload

    def upload(self, image: bytes) -> dict:
        return self._upload(self.device, image)


def kind(upload, signed_in):
    """The `channel` and `check_channel` of a kind whose images are uploaded by `upload`
    (device, image, with_auth) -> {status, accepted, …}; `signed_in(device)` -> {status,
    path}: a request with the lab's credential to the server that takes the uploads, one
    that changes nothing (its version page)."""
    @contextlib.contextmanager
    def channel(device, run_context, lifecycle):
        yield Channel(device, upload)

    def check_channel(device, evidence, run_context, lifecycle) -> None:
        u = device.profile.update
        evidence.expect("update endpoint uses TLS", u.tls, True, u.tls,
                        reason=f"update endpoint on port {u.port} is plain HTTP")
        r = upload(device, b"{}", with_auth=False)
        evidence.expect("unauthenticated upload not accepted", not r["accepted"], "401/403",
                        r, reason=f"unauthenticated upload accepted ({r['status']})")
        if r["status"] not in (401, 403):
            raise Inconclusive(f"unauthenticated upload answered {r['status']}, not 401/403: "
                               "refusal for lack of credentials is not shown")
        ok = signed_in(device)
        evidence.record("positive control: the lab's credential passes the same server's "
                        "login", ok)
        if not 200 <= ok["status"] < 300:      # a form login's refusal may be a redirect
            raise Inconclusive(f"the lab's credential is refused too ({ok['status']} on "
                               f"{ok['path']}): the refusal for lack of credentials is not "
                               "shown")
    return channel, check_channel


def version_page(version):
    """`signed_in` for a kind whose version page is behind the upload's own login."""
    def signed_in(device) -> dict:
        return {"status": version(device)["status"], "path": device.profile.update.version_path}
    return signed_in
