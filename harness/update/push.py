"""The channel of a unit that takes its images as uploads (kinds `json`, `swupdate`): each
image is one upload, and TC-UPD-01 checks the upload endpoint itself — served over TLS, an
upload without credentials refused (401/403: the refusal for lack of credentials shown)."""
from __future__ import annotations

import contextlib

from harness.errors import Inconclusive


class Channel:
    """TC-UPD-02's offers, each an upload by the kind's `upload`."""

    def __init__(self, device, upload):
        self.device, self._upload = device, upload

    def upload(self, image: bytes) -> dict:
        return self._upload(self.device, image)


def kind(upload):
    """The `channel` and `check_channel` of a kind whose images are uploaded by `upload`
    (device, image, with_auth) -> {status, accepted, …}."""
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
    return channel, check_channel
