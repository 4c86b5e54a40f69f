"""Mender artifacts: the variants the harness derives from a vendor's artifact, checked by
Mender's own tool (`mender-artifact validate` with the vendor's key): the vendor's passes,
the tampered one fails its header checksum, the unsigned one has no signature, the
foreign-signed one fails the vendor's key — and each raised one names a newer artifact."""
import subprocess

import pytest

from harness.emulate import mender
from harness.update import bump, menderart


def _validate(tmp_path, data: bytes, key=None) -> subprocess.CompletedProcess:
    path = tmp_path / "a.mender"
    path.write_bytes(data)
    return subprocess.run(["mender-artifact", "validate", *(["-k", str(key)] if key else []),
                           str(path)], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor")
    key, pub = mender.vendor_signer(d)
    mender.artifact(key, "2.4.2", d / "valid.mender", d / "dest", "new")
    return pub, (d / "valid.mender").read_bytes()


def test_variants_are_refused_by_menders_own_check(vendor, tmp_path):
    pub, valid = vendor
    members = menderart.read(valid)
    assert menderart.name(members) == "emulab-er80-2.4.2"
    assert menderart.signature_kind(members) == ("rsa", 2048)
    # the harness writes the manifest byte for byte as the vendor's tool did
    assert menderart.manifest_for(members) == dict(members)["manifest"]
    assert _validate(tmp_path, valid, pub).returncode == 0

    v = menderart.variants(valid, bump)
    tampered = _validate(tmp_path, v["tampered"], pub)
    assert tampered.returncode != 0 and "invalid checksum" in tampered.stderr + tampered.stdout
    assert menderart.name(menderart.read(v["tampered"])) == "emulab-er80-2.4.3"

    unsigned = menderart.read(v["unsigned"])
    assert menderart.SIGNATURE not in dict(unsigned)
    assert menderart.name(unsigned) == "emulab-er80-2.4.3"
    assert _validate(tmp_path, v["unsigned"]).returncode == 0          # well formed
    assert _validate(tmp_path, v["unsigned"], pub).returncode != 0     # but not signed

    untrusted = _validate(tmp_path, v["untrusted"], pub)
    assert untrusted.returncode != 0 and "verification" in \
        untrusted.stderr + untrusted.stdout
    assert menderart.signature_kind(menderart.read(v["untrusted"])) == ("rsa", 2048)


def test_an_ecdsa_signed_artifact_is_re_signed_with_ecdsa(tmp_path):
    key = tmp_path / "ec.pem"
    subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout",
                    "-out", str(key)], check=True, capture_output=True, timeout=900)
    pub = tmp_path / "ec-pub.pem"
    subprocess.run(["openssl", "ec", "-in", str(key), "-pubout", "-out", str(pub)],
                   check=True, capture_output=True, timeout=900)
    mender.artifact(key, "1.0.0", tmp_path / "v.mender", tmp_path / "dest")
    valid = (tmp_path / "v.mender").read_bytes()
    assert menderart.signature_kind(menderart.read(valid)) == ("ecdsa", 256)
    v = menderart.variants(valid, bump)
    assert menderart.signature_kind(menderart.read(v["untrusted"])) == ("ecdsa", 256)
    assert _validate(tmp_path, v["untrusted"], pub).returncode != 0


def test_what_is_not_an_artifact_says_why(tmp_path):
    v = menderart.variants(b"not a tar at all" * 64, bump)
    assert set(v) == {"tampered", "unsigned", "untrusted"}
    assert all(isinstance(x, str) and "not a Mender artifact" in x for x in v.values())
    # a vendor artifact without a signature: no scheme to imitate for the foreign signer
    key, _ = mender.vendor_signer(tmp_path)
    mender.artifact(key, "1.0.0", tmp_path / "s.mender", tmp_path / "dest")
    plain = menderart.variants((tmp_path / "s.mender").read_bytes(), bump)["unsigned"]
    v = menderart.variants(plain, bump)
    assert isinstance(v["untrusted"], str) and "not signed" in v["untrusted"]
    assert menderart.name(menderart.read(v["unsigned"])) == "emulab-er80-1.0.2"
