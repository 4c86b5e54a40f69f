"""Software update: a recognisable version, an authenticated encrypted channel, and only
genuine newer images accepted — over the unit's own update channel (harness/update/: one
module per kind)."""
from harness import update
from harness.errors import DeviceError, Inconclusive, NotRun
from harness.model import testcase
from harness.profile import applicability as a


@testcase("TC-UPD-01", "The update channel is encrypted and authenticated",
          steps=["a unit that takes uploads: the update endpoint is served over TLS, and an "
                 "upload without credentials is refused (401/403)",
                 "positive control: the lab's credential passes the same server's login (a "
                 "request that changes nothing: its version page); without it the refusal "
                 "proves nothing",
                 "a unit that pulls its updates: the harness stands in for its update server "
                 "with a certificate from a CA made for the run; a poll in plain HTTP or a "
                 "completed handshake FAILs, the unit's own TLS alert is its refusal; with the "
                 "vendor's certificate for the server, a poll over TLS is the positive control"],
          applies=[a.update], disrupts="redirect")
def test_update_channel_protected(device, evidence, run_context, lifecycle):
    update.check_channel(device, evidence, run_context, lifecycle)


def _read(device, after: str) -> str:
    now = update.version(device)["version"]
    if now is None:
        raise DeviceError(f"the firmware version is unreadable {after}")
    return now


def _put_back(ch, device, lifecycle, start: str) -> dict | str:
    if hasattr(ch, "restore"):                 # the kind's own way back (RAUC's other slot)
        try:
            return ch.restore()
        except DeviceError as exc:
            return {"back": False, "why": str(exc)}
    return update.restore(device, lifecycle, start)


@testcase("TC-UPD-02", "Tampered, unsigned, foreign-signed and older images are refused; a "
          "genuine one is applied",
          steps=["read the version",
                 "derive from the vendor's valid image: a tampered one (bytes changed inside "
                 "the signed content, signature kept), an unsigned one and one signed by a "
                 "key of the harness's own (each with a raised version where the kind "
                 "knows the format; a vendor's binary format: the two latter only where "
                 "its IXIT says where the signature is)",
                 "hand the unit each (an upload, or a deployment offered by the harness "
                 "standing in for the update server a pulling unit polls), and the vendor's "
                 "older signed image: each must be refused "
                 "(the unit's own report where its channel gives one) and the version "
                 "unchanged",
                 "an image wrongly applied is undone before the next is offered (the "
                 "kind's way back or the lab's restore_firmware), so each is judged on the "
                 "starting firmware; without a way back, later refusals prove nothing",
                 "positive control: the vendor's valid image is applied and the version "
                 "changes; without it no refusal counts",
                 "a variant that could not be built or handed over, whose outcome the "
                 "unit did not report, or whose failed install names no check on the image "
                 "(an update framework's own words: hash, signature, signer, version, the "
                 "vendor's check hook) is NOT_RUN for its part",
                 "always, where the kind has a way back (RAUC: the slot the unit started "
                 "from marked active again) or the lab a restore_firmware action (the "
                 "vendor's recovery path): back on the starting firmware"],
          applies=[a.update_images], destructive=True, disrupts="firmware")
def test_update_integrity(device, evidence, run_context, lifecycle):
    imgs = update.images(device)
    before = start = _read(device, "before the update")
    problems, untested = [], []
    with update.channel(device, run_context, lifecycle) as ch:
        for variant in update.VARIANTS:
            image = imgs[variant]
            if isinstance(image, str):
                evidence.record(f"{variant} image", f"not tested: {image}")
                untested.append(f"{variant}: {image}")
                continue
            r = ch.upload(image)
            now = _read(device, f"after the {variant} image")
            seen = {**r, "version_after": now}
            if before != start and not r["accepted"] and now == before:
                # the unit runs a wrongly applied image still: a refusal may be its version
                # check ("not newer"), not its signature check
                seen["decided"] = (f"no: an earlier image was applied (version now {now}), "
                                   "so this refusal proves nothing about the image")
            if r["accepted"] or now != before:
                problems.append(f"{variant} image accepted (version {before} -> {now})")
                # undone before the next image, so that each is judged on the starting
                # firmware (the kind's way back, else the lab's restore_firmware)
                seen["put_back"] = back = _put_back(ch, device, lifecycle, start)
                before = start if isinstance(back, dict) and back.get("back") else now
            elif r["accepted"] is None:
                # no word from the unit, or a failure in which the framework names no check
                # on the image: an unchanged version read now proves no refusal
                untested.append(f"{variant}: " + (r.get("undecided") or (
                    f"the unit reported no outcome ({r.get('outcome') or r.get('note')}), "
                    "so its refusal is not shown")))
            evidence.record(f"{variant} image", seen)
        r = ch.upload(imgs["valid"])
        after = _read(device, "after the valid image")
    evidence.record("valid image (positive control)", {**r, "version_after": after})
    evidence.record("back on the starting firmware", getattr(ch, "restored", None) or
                    update.restore(device, lifecycle, start))
    evidence.expect("only the genuine newer image is applied", not problems, "refused",
                    problems, reason="; ".join(problems))
    if r["accepted"] is False or after == before:
        raise Inconclusive(f"positive control failed: the vendor's valid image was not "
                           f"applied ({r.get('outcome', r['status'])}); the refusals prove "
                           "nothing")
    if untested:
        raise NotRun("not run in part: " + "; ".join(untested))
