"""Software update: a recognisable version, an authenticated encrypted channel, and only
genuine newer images accepted."""
from harness.profile import applicability as a
from harness.errors import DeviceError, Inconclusive
from harness.model import testcase
from harness.probe import update


@testcase("TC-UPD-01", "The update channel is encrypted and authenticated",
          steps=["the update endpoint is served over TLS",
                 "an upload without credentials is refused"],
          applies=[a.update])
def test_update_channel_protected(device, evidence):
    u = device.profile.update
    evidence.expect("update endpoint uses TLS", u.tls, True, u.tls,
                    reason=f"update endpoint on port {u.port} is plain HTTP")
    r = update.upload(device, b"{}", with_auth=False)
    evidence.expect("unauthenticated upload not accepted", not r["accepted"], "401/403", r,
                    reason=f"unauthenticated upload accepted ({r['status']})")
    if r["status"] not in (401, 403):
        raise Inconclusive(f"unauthenticated upload answered {r['status']}, not 401/403: "
                           "refusal for lack of credentials is not shown")


@testcase("TC-UPD-02", "Tampered, unsigned and older images are refused; a genuine one is applied",
          steps=["read the version", "upload a tampered image (one payload bit flipped)",
                 "upload an unsigned image", "upload the vendor's older signed image",
                 "each must be refused and the version unchanged",
                 "upload the vendor's valid image: accepted, version changes"],
          applies=[a.update_images], destructive=True, disrupts="firmware")
def test_update_integrity(device, evidence):
    imgs = update.images(device)
    before = update.version(device)["version"]
    if before is None:
        raise DeviceError("cannot read the firmware version before the update")
    problems = []
    for kind in ("tampered", "unsigned", "older"):
        if kind not in imgs:
            evidence.record(f"{kind} image", "not available (profile names none)")
            continue
        r = update.upload(device, imgs[kind])
        now = update.version(device)["version"]
        if now is None:
            raise DeviceError(f"firmware version unreadable after the {kind} image")
        evidence.record(f"{kind} image", {**r, "version_after": now})
        if r["accepted"] or now != before:
            problems.append(f"{kind} image accepted (version {before} -> {now})")
            before = now
    r = update.upload(device, imgs["valid"])
    after = update.version(device)["version"]
    if after is None:
        raise DeviceError("firmware version unreadable after the valid image")
    evidence.record("valid image", {**r, "version_after": after})
    evidence.expect("only the genuine newer image is applied", not problems, "refused",
                    problems, reason="; ".join(problems))
    if not r["accepted"] or after == before:
        raise Inconclusive(f"the vendor's valid image was not applied ({r['status']}); "
                           "the update path cannot be confirmed")
