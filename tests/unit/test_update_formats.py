"""Update images the harness derives (harness/update/): each variant is checked by the
real SWUpdate (`swupdate -c`, no network: the same verification its web server runs)."""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import update
from harness.emulate import swupdate as emulated
from harness.update import jsonapi, swu


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor")
    key, cert, cert_file = emulated.vendor_signer(d)
    return key, cert, cert_file, d


def _check(image: bytes, cert_file: Path, d: Path) -> tuple[bool, str]:
    """SWUpdate's verdict on the image: its own words (its exit status in check mode is
    sometimes 1 after "SWUPDATE successful": a race in its shutdown)."""
    (d / "t.swu").write_bytes(image)
    # SWUpdate makes its IPC sockets in TMPDIR: a short one (a socket path has at most 107
    # bytes; pytest's own directories can be longer, and SWUpdate then exits 1)
    tmp = tempfile.mkdtemp(prefix="hx-swu-")
    try:
        p = subprocess.run(["swupdate", "-H", f"{emulated.BOARD}:{emulated.REVISION}", "-k",
                            str(cert_file), "-c", "-i", str(d / "t.swu")], capture_output=True,
                           text=True, timeout=900, env={**os.environ, "TMPDIR": tmp})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = p.stdout + p.stderr
    return "SWUPDATE successful" in out and "SWUPDATE failed" not in out, out


def test_swupdate_accepts_the_vendors_image_and_refuses_each_variant(vendor, tmp_path):
    key, cert, cert_file, _ = vendor
    valid = emulated.image(key, cert, "2.4.2", tmp_path / "slot", b"test")
    assert swu.version(swu.read(valid)) == "2.4.2"
    assert swu.read(swu.write(swu.read(valid))) == swu.read(valid)       # round trip
    ok, out = _check(valid, cert_file, tmp_path)
    assert ok, out                                                     # the positive control
    made = swu.variants(valid, update.bump)
    why = {"tampered": "HASH mismatch", "unsigned": "Image invalid",
           "untrusted": "Authentication of all signatures failed"}
    for name, expect in why.items():
        ok, out = _check(made[name], cert_file, tmp_path)
        assert not ok and expect in out, (name, out[-600:])
    assert swu.version(swu.read(made["unsigned"])) == "2.4.5"
    assert swu.SIGNATURE not in dict(swu.read(made["unsigned"]))
    tampered, original = dict(swu.read(made["tampered"])), dict(swu.read(valid))
    assert tampered[swu.SIGNATURE] == original[swu.SIGNATURE]            # signature kept
    assert tampered["rootfs.img"] != original["rootfs.img"]


def test_a_format_not_understood_says_why_for_each_variant():
    made = swu.variants(b"not a cpio archive", update.bump)
    assert set(made) == {"tampered", "unsigned", "untrusted"}
    assert all(isinstance(v, str) and "not a .swu" in v for v in made.values())
    with pytest.raises(swu.FormatError):
        swu.read(b"070702" + b"0" * 200)              # a member past the end
    assert all(isinstance(v, str) for v in jsonapi.variants(b"\x00binary", update.bump).values())


def test_the_json_kind_variants_keep_or_drop_the_signature_as_named():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from harness.emulate.files import firmware_image
    valid = firmware_image(Ed25519PrivateKey.generate(), "1.2.3", b"payload")
    made = {k: json.loads(v) for k, v in jsonapi.variants(valid, update.bump).items()}
    doc = json.loads(valid)
    assert made["tampered"]["signature"] == doc["signature"]
    assert made["tampered"]["payload"] != doc["payload"]
    assert made["unsigned"]["signature"] == ""
    assert made["untrusted"]["signature"] not in ("", doc["signature"])
    assert [made[k]["version"] for k in ("tampered", "unsigned", "untrusted")] == [
        "1.2.5", "1.2.6", "1.2.7"]
