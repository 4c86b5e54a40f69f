"""FIT images (harness/update/fit.py): the device tree read and written here matches
mkimage's and dumpimage's idea of it, and the variants TC-UPD-02 offers are what they claim
(a signed FIT made by mkimage here, with a key of the test's own standing for the vendor's)."""
import os
import subprocess

import pytest

from harness.update import fit, webform
from harness.profile.schema import UpdateInfo

ITS = """/dts-v1/;
/ {
	description = "Test firmware 1.2.3";
	#address-cells = <1>;
	images {
		kernel {
			data = /incbin/("kernel.bin");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x40400000>; entry = <0x40400000>;
			hash-1 { algo = "sha256"; };
		};
		ramdisk {
			data = /incbin/("ramdisk.bin");
			type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none";
			hash-1 { algo = "sha256"; };
		};
	};
	configurations {
		default = "conf";
		conf {
			kernel = "kernel"; ramdisk = "ramdisk";
			signature-1 {
				algo = "sha256,rsa2048"; key-name-hint = "vendor";
				sign-images = "kernel", "ramdisk";
			};
		};
	};
};
"""


def _key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(k.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()))


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("fit")
    (d / "kernel.bin").write_bytes(bytes(range(256)) * 64)
    (d / "ramdisk.bin").write_bytes(b"ramdisk " * 100)
    (d / "fw.its").write_text(ITS)
    (d / "keys").mkdir()
    _key(d / "keys" / "vendor.key")
    p = subprocess.run(["mkimage", "-f", "fw.its", "-k", "keys", "fw.itb"], cwd=d,
                       capture_output=True, text=True, env={**os.environ,
                                                            "SOURCE_DATE_EPOCH": "0"})
    assert p.returncode == 0, p.stderr
    return d / "fw.itb"


def _get(path, node, prop):
    p = subprocess.run(["fdtget", "-t", "bx", str(path), node, prop], capture_output=True,
                       text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def _nodes(path, node):
    return subprocess.run(["fdtget", "-l", str(path), node], capture_output=True,
                          text=True).stdout.split()


def test_the_tree_is_read_as_mkimage_wrote_it_and_written_back_the_same(signed, tmp_path):
    blob = signed.read_bytes()
    root = fit.parse(blob)
    assert root.prop("description") == b"Test firmware 1.2.3\0"
    conf = root.child("configurations").child("conf")
    assert [c.name for c in conf.children] == ["signature-1"]
    kernel = root.child("images").child("kernel")
    data = next((v, off) for n, v, off in kernel.props if n == "data")
    assert data[0] == bytes(range(256)) * 64 and blob[data[1]:data[1] + 4] == b"\0\1\2\3"
    again = tmp_path / "again.itb"
    again.write_bytes(fit.serialize(root))
    # dtc reads both to the same source: the same tree, property by property
    src = [subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", str(f)], capture_output=True,
                          text=True, check=True).stdout for f in (signed, again)]
    assert src[0] == src[1]


def test_the_variants_differ_from_the_valid_image_where_they_claim(signed, tmp_path):
    blob = signed.read_bytes()
    got = fit.variants(blob)
    sig = "/configurations/conf/signature-1"
    # tampered: one byte of the kernel's data inverted, every signature and hash kept
    diff = [i for i, (a, b) in enumerate(zip(blob, got["tampered"])) if a != b]
    kernel_off = next(off for n, v, off in fit.parse(blob).child("images").child("kernel")
                      .props if n == "data")
    assert len(diff) == 1 and kernel_off <= diff[0] < kernel_off + 256 * 64
    (tmp_path / "t.itb").write_bytes(got["tampered"])
    assert _get(tmp_path / "t.itb", sig, "value") == _get(signed, sig, "value")
    # unsigned: the signature node gone, the images and their hashes as they were
    (tmp_path / "u.itb").write_bytes(got["unsigned"])
    assert _nodes(tmp_path / "u.itb", "/configurations/conf") == []
    for img in ("kernel", "ramdisk"):
        node = f"/images/{img}/hash-1"
        assert _get(tmp_path / "u.itb", node, "value") == _get(signed, node, "value")
    # untrusted: signed again under the vendor's key name by another key
    (tmp_path / "x.itb").write_bytes(got["untrusted"])
    assert _get(tmp_path / "x.itb", sig, "key-name-hint") == _get(signed, sig, "key-name-hint")
    assert _get(tmp_path / "x.itb", sig, "value") not in (None, _get(signed, sig, "value"))
    # the web and shell kinds take FIT variants from the IXIT's word
    update = UpdateInfo(kind="web", signature="fit")
    assert webform.variants(blob, None, update)["unsigned"] == got["unsigned"]


def test_without_mkimage_or_a_signature_or_a_fit_it_says_why(signed, monkeypatch):
    blob = signed.read_bytes()
    monkeypatch.setenv("PATH", "/nonexistent")
    got = fit.variants(blob)
    assert isinstance(got["unsigned"], bytes) and "mkimage (u-boot-tools)" in got["untrusted"]
    monkeypatch.undo()
    unsigned = fit.variants(fit.variants(blob)["unsigned"])
    assert "carries no signature node" in unsigned["unsigned"]
    assert isinstance(unsigned["tampered"], bytes)
    for bad, why in ((b"EMFW" + blob[4:], "no device-tree header"), (blob[:30], "shorter"),
                     (blob[:2000], "does not fit the image")):
        got = fit.variants(bad)
        assert all(why in got[k] for k in ("tampered", "unsigned", "untrusted")), got
