"""RAUC bundles: the variants the harness derives from a vendor's bundle, judged by RAUC
itself (`rauc info` with the vendor's keyring): the vendor's passes, the tampered one fails
its signature, the unsigned one has none, the one signed by the harness is not trusted; a
verity bundle's re-signed variants are said to be out of reach, never faked."""
import os
import subprocess

import pytest

from harness.emulate import rauc
from harness.update import bump, raucb


def _info(bundle, keyring, tmp_path):
    path = tmp_path / "b.raucb"
    path.write_bytes(bundle)
    return subprocess.run(["rauc", "info", f"--keyring={keyring}", "--output-format=json",
                           str(path)], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor")
    key, cert = rauc.vendor_signer(d)
    rauc.bundle(key, cert, "2.4.2", d / "valid.raucb", b"new")
    return cert, (d / "valid.raucb").read_bytes()


def test_variants_are_refused_by_rauc_for_their_own_reason(vendor, tmp_path):
    cert, valid = vendor
    body, sig = raucb.split(valid)
    assert raucb.field(raucb.manifest(body), "update", "version") == "2.4.2"
    ok = _info(valid, cert, tmp_path)
    assert ok.returncode == 0, ok.stderr                   # the positive control
    v = raucb.variants(valid, bump)
    assert len(v["tampered"]) == len(valid) and v["tampered"] != valid
    bad = _info(v["tampered"], cert, tmp_path)
    assert bad.returncode != 0 and "signature" in bad.stderr.lower(), bad.stderr
    with pytest.raises(raucb.FormatError, match="no signature"):
        raucb.split(v["unsigned"])
    assert raucb.field(raucb.manifest(v["unsigned"]), "update", "version") == "2.4.3"
    assert _info(v["unsigned"], cert, tmp_path).returncode != 0
    body, _ = raucb.split(v["untrusted"])                 # well formed, version raised
    assert raucb.field(raucb.manifest(body), "update", "version") == "2.4.3"
    foreign = _info(v["untrusted"], cert, tmp_path)
    assert foreign.returncode != 0 and "verif" in foreign.stderr.lower(), foreign.stderr


def test_what_cannot_be_derived_says_why(tmp_path):
    v = raucb.variants(b"hsqs" + b"not a bundle" * 20, bump)
    assert all("not a RAUC bundle" in v[k] for k in ("tampered", "unsigned", "untrusted"))
    key, cert = rauc.vendor_signer(tmp_path)
    # a verity bundle's SquashFS must be larger than one 4 KiB block: content that
    # does not compress
    rauc.bundle(key, cert, "2.4.2", tmp_path / "verity.raucb", os.urandom(16384), "verity")
    verity = (tmp_path / "verity.raucb").read_bytes()
    v = raucb.variants(verity, bump)
    assert isinstance(v["tampered"], bytes)          # a changed byte needs no re-signing
    # the signature covers the manifest only; dm-verity catches the changed byte on reading
    # the payload, as an install does (`rauc extract` reads it the same way)
    path = tmp_path / "tampered.raucb"
    path.write_bytes(v["tampered"])
    read = subprocess.run(["rauc", "extract", f"--keyring={cert}", str(path),
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=900)
    assert read.returncode != 0 and "corrupted" in read.stderr, read.stderr
    assert "verity format" in v["unsigned"] and "verity format" in v["untrusted"]
