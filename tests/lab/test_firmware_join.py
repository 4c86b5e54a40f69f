"""A profile's firmware image beside the running unit (harness/firmware/join.py): router-1
runs compliant; given the image of a unit that stores its password as MD5-crypt, TC-STORE-01
FAILs from the image and says what the unit itself showed; given its own image, nothing
changes; an image that cannot be read changes nothing and says why."""
import os
import re

import pytest

from harness.emulate import image
from harness.emulate.variants import BY_NAME
from tests.conftest import REPO, harness, load_run

pytestmark = pytest.mark.units("router-1")


def _run(emulated_lab, tmp_path, img):
    text = open(emulated_lab["router-1"]).read().replace(
        "extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
    path = tmp_path / "router-1-with-image.yaml"
    text = re.sub(r"^firmware_image: .*$", f"firmware_image: {img}", text, flags=re.M)
    assert f"firmware_image: {img}" in text
    path.write_text(text)
    out = tmp_path / "out"
    proc = harness("run", "--profile", path, "-k", "TC-STORE-01 or TC-CRED-01", "--out", out,
                   "--no-pdf")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return {r["test_id"]: r for r in load_run(out)["devices"][0]["results"]}


def _image(tmp_path, name):
    os.chmod(tmp_path, 0o711)
    return image.build(BY_NAME[name], tmp_path / f"{name}.sqfs", "squashfs")


def test_a_flaw_the_image_shows_fails_the_test_case_and_keeps_the_units_outcome(
        emulated_lab, tmp_path):
    res = _run(emulated_lab, tmp_path, _image(tmp_path, "router-plainstore"))
    store = res["TC-STORE-01"]
    assert store["verdict"] == "FAIL", store
    assert store["reason"].startswith("the firmware image (")
    assert "account admin: password stored as md5crypt" in store["reason"]
    assert "the unit itself: PASS" in store["reason"]
    assert res["TC-CRED-01"]["verdict"] == "PASS"
    seen = next(e["observed"] for e in res["TC-CRED-01"]["evidence"]
                if e["check"] == "firmware image")
    assert seen["findings"] == [] and len(seen["sha256"]) == 64


def test_its_own_image_changes_nothing_and_an_unreadable_one_says_why(emulated_lab, tmp_path):
    res = _run(emulated_lab, tmp_path, _image(tmp_path, "router-1"))
    assert {t: r["verdict"] for t, r in res.items()} == {"TC-STORE-01": "PASS",
                                                          "TC-CRED-01": "PASS"}
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(4096))
    other = tmp_path / "junk-run"
    other.mkdir()
    res = _run(emulated_lab, other, junk)
    assert res["TC-STORE-01"]["verdict"] == "PASS"
    seen = next(e["observed"] for e in res["TC-STORE-01"]["evidence"]
                if e["check"] == "firmware image")
    assert "no file system found" in seen["error"]
