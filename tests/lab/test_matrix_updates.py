"""The detection matrix's run, read for the update mechanisms: each kind's compliant unit
refuses every image the harness derives on the framework's own word and applies the vendor's
valid one; each flawed unit accepts what its flaw lets through."""
from harness.update import RESTORE
from tests.conftest import load_run


# the check SWUpdate names refusing each image (web upload and over-the-air alike)
SWUPDATE_WHY = {"tampered": "HASH mismatch", "unsigned": "instead of sw-description.sig",
                "untrusted": "Authentication of all signatures failed",
                "older": "No downgrading allowed"}


def _results(matrix_run) -> dict:
    """unit -> test id -> result, from the matrix's run.json."""
    return {d["name"]: {r["test_id"]: r for r in d["results"]}
            for d in load_run(matrix_run[0])["devices"]}


def test_updates_through_swupdate(matrix_run):
    """router-swu (SWUpdate as a vendor ships it) refuses each image the harness derives on
    SWUpdate's own word (FAILURE on its websocket, the version read back unchanged) and
    applies the vendor's valid one; router-swu-downgrade installs the older signed image."""
    res = _results(matrix_run)
    upd = res["router-swu"]["TC-UPD-02"]
    ev = {e["check"]: e["observed"] for e in upd["evidence"]}
    for variant, words in SWUPDATE_WHY.items():
        seen = ev[f"{variant} image"]
        assert seen["outcome"] == "FAILURE" and seen["version_after"] == "2.4.1", (variant, seen)
        assert words in seen["refused_by"], (variant, seen)      # SWUpdate names its check
    assert any("HASH mismatch" in x for x in ev["tampered image"]["errors"])
    assert any("signature" in x.lower() for x in ev["untrusted image"]["errors"])
    valid = ev["valid image (positive control)"]
    assert valid["outcome"] == "SUCCESS" and valid["version_after"] == "2.4.2", valid
    assert upd["verdict"] == "PASS" and res["router-swu"]["TC-UPD-01"]["verdict"] == "PASS"
    # no way back of SWUpdate's own: the lab's recovery path (harness emulate recover)
    assert ev["back on the starting firmware"] == {"back": True, "version": "2.4.1",
                                                   "how": RESTORE}, ev
    down = res["router-swu-downgrade"]["TC-UPD-02"]
    assert down["verdict"] == "FAIL", down
    assert down["reason"] == "older image accepted (version 2.4.1 -> 2.3.0)", down["reason"]


def test_updates_pulled_over_the_air(matrix_run):
    """router-ota polls its update server (SWUpdate's suricatta, hawkBit DDI): it refuses
    the harness standing in with a certificate of the run's own CA (its TLS alert), polls
    the stand-in holding the vendor's certificate (the positive control), reports FAILURE
    for each derived image and SUCCESS for the valid one after its reboot. router-ota-http
    polls in plain HTTP; router-ota-nocheck completes the handshake with the untrusted
    certificate (TC-UPD-01 and, as a TLS client, TC-TLS-02)."""
    res = _results(matrix_run)
    ota = res["router-ota"]
    ch = {e["check"]: e["observed"] for e in ota["TC-UPD-01"]["evidence"]}
    assert ota["TC-UPD-01"]["verdict"] == "PASS", ota["TC-UPD-01"]
    assert ch["stand-in with an untrusted certificate"]["attempts"][-1]["outcome"] == "rejected"
    assert ch["positive control: the vendor's certificate"]["polled"] is True
    ev = {e["check"]: e["observed"] for e in ota["TC-UPD-02"]["evidence"]}
    for variant, words in SWUPDATE_WHY.items():
        seen = ev[f"{variant} image"]
        assert seen["outcome"] == "failure" and seen["version_after"] == "2.4.1", (variant, seen)
        assert seen["downloaded"] >= 1, (variant, seen)
        # read from this deployment's own install (the log begins with the last one's)
        assert words in seen["refused_by"], (variant, seen)
    valid = ev["valid image (positive control)"]
    assert valid["outcome"] == "success" and valid["version_after"] == "2.4.2", valid
    assert ota["TC-UPD-02"]["verdict"] == "PASS", ota["TC-UPD-02"]
    assert ev["back on the starting firmware"] == {"back": True, "version": "2.4.1",
                                                   "how": RESTORE}, ev
    plain = res["router-ota-http"]["TC-UPD-01"]
    assert plain["verdict"] == "FAIL" and "plain HTTP" in plain["reason"], plain
    assert res["router-ota-http"]["TC-UPD-02"]["verdict"] == "PASS"    # images still checked
    nocheck = res["router-ota-nocheck"]["TC-UPD-01"]
    assert nocheck["verdict"] == "FAIL" and "cannot verify" in nocheck["reason"], nocheck


def test_updates_through_rauc(matrix_run):
    """router-rauc (RAUC as a vendor ships it, A/B slots) refuses each bundle the harness
    derives on RAUC's own word (`rauc install` fails, the version and booted slot read back
    unchanged), installs the vendor's valid one into the other slot and boots it, and is put
    back on the slot it started from afterwards; router-rauc-downgrade installs the older
    signed bundle, which overwrites the starting firmware, and the evidence says so."""
    res = _results(matrix_run)
    upd = res["router-rauc"]["TC-UPD-02"]
    ev = {e["check"]: e["observed"] for e in upd["evidence"]}
    why = {"tampered": "signature verification failed", "unsigned": "Signature size is 0",
           "untrusted": "signature verification failed", "older": "Pre-install handler error"}
    for variant, words in why.items():
        seen = ev[f"{variant} image"]
        assert seen["accepted"] is False and seen["version_after"] == "2.4.1", (variant, seen)
        assert words in seen["refused_by"], (variant, seen)
    valid = ev["valid image (positive control)"]
    assert valid["accepted"] is True and valid["version_after"] == "2.4.2", valid
    assert valid["booted_slot"] == "B", valid
    back = ev["back on the starting firmware"]
    assert back["back"] is True and back["slot"] == "A" and back["version"] == "2.4.1", back
    assert upd["verdict"] == "PASS", upd
    down = res["router-rauc-downgrade"]["TC-UPD-02"]
    assert down["verdict"] == "FAIL", down
    assert down["reason"] == "older image accepted (version 2.4.1 -> 2.3.0)", down["reason"]
    # the older bundle went to slot B and booted: slot A, still the starting firmware, was
    # made active again before the valid bundle, and is again at the end
    ev = {e["check"]: e["observed"] for e in down["evidence"]}
    put = ev["older image"]["put_back"]
    assert put["back"] is True and put["slot"] == "A" and put["version"] == "2.4.1", put
    back = ev["back on the starting firmware"]
    assert back["back"] is True and back["slot"] == "A", back


def test_updates_through_mender(matrix_run):
    """router-mender (the Mender client as a vendor ships it) refuses each artifact the
    harness derives on Mender's own word — the tampered one by its header checksum, the
    unsigned one for its missing signature, the foreign-signed one for its signature, the
    older one by the unit's state script — installs and commits the vendor's valid one, and
    is put back by the lab's recovery path; router-mender-nosig (no verification key)
    installs the unsigned and foreign-signed artifacts, and still refuses the tampered one
    (its checksums are Mender's, with or without a key)."""
    res = _results(matrix_run)
    upd = res["router-mender"]["TC-UPD-02"]
    ev = {e["check"]: e["observed"] for e in upd["evidence"]}
    why = {"tampered": "invalid checksum", "unsigned": "expecting signed artifact",
           "untrusted": "invalid signature", "older": "not newer than 2.4.1"}
    for variant, words in why.items():
        seen = ev[f"{variant} image"]
        assert seen["accepted"] is False and seen["version_after"] == "2.4.1", (variant, seen)
        assert any(words in x for x in seen["errors"]), (variant, seen["errors"])
        assert seen["refused_by"], (variant, seen)
    valid = ev["valid image (positive control)"]
    assert valid["accepted"] is True and valid["version_after"] == "2.4.2", valid
    assert valid["commit"] == "exit 0", valid
    assert ev["back on the starting firmware"] == {"back": True, "version": "2.4.1",
                                                   "how": RESTORE}, ev
    assert upd["verdict"] == "PASS", upd
    nosig = res["router-mender-nosig"]["TC-UPD-02"]
    assert nosig["verdict"] == "FAIL", nosig
    assert nosig["reason"].startswith("unsigned image accepted (version 2.4.1 -> 2.4.3); "
                                      "untrusted image accepted"), nosig["reason"]
    tampered = {e["check"]: e["observed"] for e in nosig["evidence"]}["tampered image"]
    assert tampered["accepted"] is False, tampered


def test_updates_through_a_web_upload(matrix_run):
    """router-webfw (the ER-70W: the vendor's binary image uploaded in its web UI) refuses
    each image the harness derives from the vendor's without knowing its format — tampered
    by its signature (403), unsigned as malformed (400), foreign-signed (403), the older one
    as no upgrade (409) — and applies the valid one; router-webfw-nosig applies the tampered."""
    res = _results(matrix_run)
    upd = res["router-webfw"]["TC-UPD-02"]
    ev = {e["check"]: e["observed"] for e in upd["evidence"]}
    for variant, code in (("tampered", 403), ("unsigned", 400), ("untrusted", 403),
                          ("older", 409)):
        seen = ev[f"{variant} image"]
        assert seen["status"] == code and seen["version_after"] == "2.4.1", (variant, seen)
    valid = ev["valid image (positive control)"]
    assert valid["accepted"] is True and valid["version_after"] == "2.4.2", valid
    assert upd["verdict"] == "PASS", upd
    assert res["router-webfw"]["TC-UPD-01"]["verdict"] == "PASS"
    assert ev["back on the starting firmware"] == {"back": True, "version": "2.4.1",
                                                   "how": RESTORE}, ev
    bad = res["router-webfw-nosig"]["TC-UPD-02"]
    assert bad["verdict"] == "FAIL" and bad["reason"].startswith(
        "tampered image accepted (version 2.4.1 -> 2.4.2)"), bad
    # put back by the lab's recovery before the next image: the foreign-signed one is then
    # judged on the starting firmware (and taken), not refused as "not newer"
    later = {e["check"]: e["observed"] for e in bad["evidence"]}
    assert later["tampered image"]["put_back"]["back"] is True, later
    assert later["untrusted image"]["accepted"] is True and "decided" not in \
        later["untrusted image"], later
    assert "untrusted image accepted (version 2.4.1 -> 2.4.2)" in bad["reason"], bad
    assert not any("decided" in v for v in ev.values() if isinstance(v, dict)), ev


def test_updates_of_real_firmware_through_its_upgrade_command(matrix_run):
    """fw-router (the ER-50 in QEMU: `fw-upgrade` writes the vendor's FIT to the other slot,
    U-Boot verifies it with the vendor's key at the next boot) takes each image the harness
    derives from the FIT — the tampered, unsigned and foreign-signed ones are written, and
    U-Boot does not boot them (the version after the power cycle is the old one) — refuses
    the older one itself, boots the valid one, and the lab's recovery puts it back;
    fw-router-open (no key in U-Boot) boots the unsigned FIT."""
    res = _results(matrix_run)
    upd = res["fw-router"]["TC-UPD-02"]
    ev = {e["check"]: e["observed"] for e in upd["evidence"]}
    for variant in ("tampered", "unsigned", "untrusted"):
        seen = ev[f"{variant} image"]
        assert seen["status"].endswith(": exit 0"), (variant, seen)     # written…
        assert seen["accepted"] is False and seen["version_after"] == "5.0.2", (variant, seen)
        assert "runs 5.0.2 still" in seen["outcome"], (variant, seen)   # …and not booted
    older = ev["older image"]
    assert older["accepted"] is False and "5.0.1 is not newer than the running 5.0.2" in \
        older["reply"], older
    valid = ev["valid image (positive control)"]
    assert valid["accepted"] is True and valid["version_after"] == "5.0.3", valid
    assert ev["back on the starting firmware"] == {"back": True, "version": "5.0.2",
                                                   "how": RESTORE}, ev
    assert upd["verdict"] == "PASS", upd
    assert res["fw-router"]["TC-ID-01"]["verdict"] == "PASS"
    opened = res["fw-router-open"]["TC-UPD-02"]
    assert opened["verdict"] == "FAIL", opened
    assert opened["reason"].startswith("unsigned image accepted (version 5.0.2 -> 5.0.3)"), \
        opened["reason"]
    seen = {e["check"]: e["observed"] for e in opened["evidence"]}
    assert seen["tampered image"]["accepted"] is False, seen     # its hashes still checked
    # put back (the vendor's disk flashed again) before the foreign-signed one, which boots
    assert seen["unsigned image"]["put_back"] == {"back": True, "version": "5.0.2",
                                                  "how": RESTORE}, seen
    assert "untrusted image accepted (version 5.0.2 -> 5.0.3)" in opened["reason"], opened
