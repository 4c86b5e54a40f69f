"""`harness firmware`: the emulated units' images (real busybox, dropbear and lighttpd,
packed by mksquashfs, bsdtar, mkfs.ext4 and mkimage), flawed and compliant, in every format;
and hostile images: path traversal, links out of the image and in a loop, compression bombs,
nesting, time."""
from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from harness.emulate import image
from harness.emulate.variants import fixed_password
from harness.emulate.variants import BY_NAME
from harness.firmware import evidence
from harness.firmware.rootfs import RootFS
from harness.firmware.unpack import Limits, UnpackError, unpack
from harness.probe.credentials import load_list
from tests.conftest import REPO

ENTRIES = load_list()
# per unit, the image findings that must FAIL (kind of evidence -> test case), and no other
EXPECTED = {
    "router-1": set(),
    "camera-1": set(),
    "router-legacy-1": {"TC-CRED-01", "TC-UNIQ-02"},
    "router-weakpw": {"TC-CRED-01"},          # deep in the list: online tries never reach it
    "router-plainstore": {"TC-STORE-01"},
    "appliance-open": {"TC-DEBUG-01"},
    "router-telnet": {"TC-SURF-01"},
}


@pytest.fixture(scope="module")
def work():
    d = tempfile.mkdtemp(prefix="hx-fwtest-")
    os.chmod(d, 0o711)                  # the extraction tools run as nobody under root
    yield Path(d)
    subprocess.run(["rm", "-rf", d])


def _fresh(work: Path) -> Path:
    d = Path(tempfile.mkdtemp(dir=work))
    os.chmod(d, 0o711)
    return d


def _image(work: Path, name: str, fmt: str, keys: Path | None = None) -> Path:
    v = BY_NAME[name]
    pw = fixed_password(v)
    out = work / f"{name}-{len(list(work.iterdir()))}.{fmt}"
    return image.build(v, out, fmt, pw, keys or (work / "keys" / v.key_group
                                                   if v.has("shared_keys") else None))


def _evidence(work: Path, img: Path, limits: Limits | None = None):
    dest = _fresh(work) / "x"
    got = unpack(img, dest, limits)
    return got, evidence.collect(got.roots, ENTRIES)


def _fails(fss) -> set[str]:
    return {f["test_case"] for f in evidence.findings(fss) if f["strength"] == "FAIL"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_planted_flaw_and_no_other_from_the_squashfs_image(work, name):
    got, fss = _evidence(work, _image(work, name, "squashfs"))
    assert [c for c, _ in got.roots] == ["image > squashfs"]
    assert _fails(fss) == EXPECTED[name], evidence.findings(fss)
    text = json.dumps(fss)
    assert "$6$" not in text and "$1$" not in text and "PRIVATE KEY-----" not in text
    software = {c["name"] for c in fss[0]["software"]}
    assert {"busybox", "dropbear"} <= software           # read from the real binaries


@pytest.mark.parametrize("fmt", ["cpio", "tar", "ext4", "uimage"])
def test_every_format_gives_the_same_evidence(work, fmt):
    base = _evidence(work, _image(work, "router-legacy-1", "squashfs", work / "k1"))[1]
    got, fss = _evidence(work, _image(work, "router-legacy-1", fmt, work / "k1"))
    assert len(got.roots) == 1, (got.layers, got.notes)
    assert _fails(fss) == EXPECTED["router-legacy-1"]
    keys = lambda f: sorted((k["path"], k["fingerprint"]) for k in f[0]["private_keys"])  # noqa: E731
    assert keys(fss) == keys(base)                       # the same key, whatever the packing


def test_a_vendor_header_before_the_file_system_is_carved(work):
    sqfs = _image(work, "appliance-open", "squashfs").read_bytes()
    blob = work / "vendor.bin"
    blob.write_bytes(b"VNDR" + os.urandom(8188) + sqfs + os.urandom(4096))
    got, fss = _evidence(work, blob)
    assert [c for c, _ in got.roots] == ["image @0x2000 > squashfs"]
    assert _fails(fss) == EXPECTED["appliance-open"]
    upd = [f for f in evidence.findings(fss) if f["test_case"] == "TC-UPD-02"]
    assert upd and upd[0]["strength"] == "NOT_FOUND"      # absent is not proven absent


def test_two_units_of_one_image_share_a_key_and_units_of_their_own_do_not(work):
    a = _evidence(work, _image(work, "router-legacy-1", "squashfs", work / "kg"))[1]
    b = _evidence(work, _image(work, "router-legacy-2", "squashfs", work / "kg"))[1]
    fp = lambda f: {k["fingerprint"] for k in f[0]["private_keys"]}  # noqa: E731
    assert fp(a) & fp(b)
    assert not fp(_evidence(work, _image(work, "router-1", "squashfs"))[1])


def _tar(entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data
                t.addfile(info)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_program_that_names_a_key_format_ships_no_key(work):
    """Debian's dropbearconvert carries the BEGIN and END lines of a DSA key as strings with
    code between them: found in the ER-50's real firmware as 'an unencrypted private key
    shipped', a false FAIL. A key is a PEM block whose body is base64; a real one beside it
    is still found."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    program = (b"\x7fELF" + os.urandom(64) + b"\0-----BEGIN DSA PRIVATE KEY-----\0" +
               b"\0%s: bad key\0\x01\x02\x03" + os.urandom(300) +
               b"\0-----END DSA PRIVATE KEY-----\0" + os.urandom(64))
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    blob = work / "keys.tar"
    blob.write_bytes(_tar([("usr", "dir", ""), ("usr/bin", "dir", ""), ("etc", "dir", ""),
                           ("usr/bin/dropbearconvert", "file", program),
                           ("etc/device.key", "file", key)]))
    _, fss = _evidence(work, blob)
    assert [k["path"] for k in fss[0]["private_keys"]] == ["/etc/device.key"]


def test_traversal_and_links_out_of_the_image_read_nothing_of_this_host(work):
    marker = _fresh(work)
    blob = work / "hostile.tar"
    blob.write_bytes(_tar([
        ("etc", "dir", ""), ("bin", "dir", ""),
        ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/shadow", "link", "/etc/shadow"),               # this host's, if followed
        ("etc/a", "link", "b"), ("etc/b", "link", "a"),      # a loop
        ("etc/up", "link", "../../../../../../etc"),
        (f"../../../../..{marker}/escaped", "file", b"x"),
        (f"{marker}/absolute", "file", b"x"),
    ]))
    got, fss = _evidence(work, blob)
    assert not any(marker.iterdir())                   # nothing written outside
    fs = RootFS(got.roots[0][1])
    assert fs.resolve("/etc/a") is None                # a link loop ends
    assert fs.resolve("/etc/shadow") is None and fs.read("/etc/shadow") is None   # the
    # image's own /etc/shadow, which it does not have; never this host's
    assert fs.resolve("/etc/up/passwd") == fs.root / "etc" / "passwd"
    root = next(a for a in fss[0]["accounts"] if a["user"] == "root")
    assert root["password"] == "locked" and "fingerprint" not in root


def test_compression_bombs_stop_at_the_size_limit(work):
    bomb = work / "bomb.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        chunk = bytes(1 << 20)
        for _ in range(200):
            fh.write(chunk)
    with pytest.raises(UnpackError, match="size limit"):
        unpack(bomb, _fresh(work) / "x", Limits(total_bytes=32 << 20))
    tree = _fresh(work)
    (tree / "etc").mkdir()
    subprocess.run(["truncate", "-s", "300M", str(tree / "etc" / "zeros")], check=True)
    sq = work / "bomb.sqfs"
    subprocess.run(["mksquashfs", str(tree), str(sq), "-quiet", "-no-progress", "-noappend"],
                   check=True, capture_output=True)
    assert sq.stat().st_size < (1 << 20)
    dest = _fresh(work) / "x"
    with pytest.raises(UnpackError, match="size limit"):
        unpack(sq, dest, Limits(total_bytes=32 << 20))


def test_nesting_and_time_are_bounded(work):
    data = _tar([("etc", "dir", ""), ("etc/passwd", "file", b"root:x:0:0::/:/bin/sh\n")])
    for _ in range(8):
        data = gzip.compress(data)
    nested = work / "nested.gz"
    nested.write_bytes(data)
    got = unpack(nested, _fresh(work) / "x", Limits(depth=4))
    assert not got.roots and any("nested deeper than 4" in n for n in got.notes)
    with pytest.raises(UnpackError, match="time limit"):
        unpack(nested, _fresh(work) / "x", Limits(seconds=1e-6))


def test_a_broken_uimage_header_is_not_trusted(work):
    img = bytearray(_image(work, "router-1", "uimage").read_bytes())
    img[40] ^= 0xFF                                       # the name: header CRC now wrong
    broken = work / "broken.uimg"
    broken.write_bytes(bytes(img))
    got = unpack(broken, _fresh(work) / "x")
    assert any("header CRC wrong" in n for n in got.notes)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "harness", "firmware", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=900)


def test_cli_verdict_exit_codes_and_evidence_file(work):
    flawed = _cli(_image(work, "router-legacy-1", "squashfs"), "--out", work / "o1")
    assert flawed.returncode == 1, flawed.stderr
    doc = json.loads((work / "o1" / "firmware.json").read_text())
    assert len(doc["sha256"]) == 64 and doc["findings"]
    assert "FAIL      account admin: the shipped password is a known default" in flawed.stdout
    clean = _cli(_image(work, "router-1", "squashfs"), "--out", work / "o2")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert " FAIL " not in clean.stdout
    junk = work / "junk.bin"
    junk.write_bytes(os.urandom(65536))
    for args, what in (([work / "missing.img"], "no such file"),
                       ([junk], "no file system found"),
                       ([junk, "--max-bytes", "0"], "limits must be positive")):
        proc = _cli(*args)
        assert proc.returncode == 2 and what in proc.stderr and "Traceback" not in proc.stderr


def test_the_image_and_the_profile_disagree_on_a_service(work):
    from harness.profile.schema import DeclaredService

    class Profile:
        declared_services = [DeclaredService(port=22, service="ssh"),
                             DeclaredService(port=443, service="https")]
    fss = _evidence(work, _image(work, "router-telnet", "squashfs"))[1]
    diff = evidence.compare(fss, Profile())
    assert any("telnetd (telnet) starts at boot" in d for d in diff), diff
    assert not evidence.compare(_evidence(work, _image(work, "router-1", "squashfs"))[1],
                                Profile())


def test_the_readme_firmware_commands_run_as_written(tmp_path):
    text = (REPO / "README.md").read_text()
    block = text.split("## Firmware images", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 2
    written = Path("/tmp/legacy.squashfs")
    existed = written.exists()
    try:
        for line in lines:
            command, _, comment = line.partition("#")
            want = int(comment.split("exit ")[1][0]) if "exit " in comment else 0
            args = command.split()
            assert args[0] == "harness"
            proc = subprocess.run([sys.executable, "-m", "harness", *args[1:]], cwd=tmp_path,
                                  capture_output=True, text=True, timeout=900)
            assert proc.returncode == want, (line, proc.stdout[-1500:], proc.stderr[-1500:])
        assert "known default" in proc.stdout and "dropbear host key" in proc.stdout
    finally:
        if not existed:
            written.unlink(missing_ok=True)


def test_a_fixed_hash_is_compared_across_units_and_the_units_own_password_named(work):
    from types import SimpleNamespace as NS
    from harness.firmware.join import shared
    img = _image(work, "router-weakpw", "squashfs")
    got = unpack(img, _fresh(work) / "x")
    fss = evidence.collect(got.roots, ENTRIES, own=["not-it", fixed_password(BY_NAME["router-weakpw"])])
    admin = next(a for a in fss[0]["accounts"] if a["user"] == "admin")
    assert admin["unit_password"] is True
    assert "unit_password" not in next(a for a in evidence.collect(
        got.roots, ENTRIES, own=["not-it"])[0]["accounts"] if a["user"] == "admin")
    fixed = [f for f in evidence.findings(fss) if f["test_case"] == "TC-UNIQ-01"]
    assert [f["strength"] for f in fixed] == ["OBSERVED"] and "own password" in fixed[0]["finding"]
    mine = {"image": {"sha256": "a" * 64, "fails": [], **evidence.prints(fss)}}
    locked = evidence.collect(_evidence(work, _image(work, "router-1", "squashfs"))[0].roots,
                              ENTRIES)
    assert evidence.prints(locked)["accounts"] == []      # locked until provisioning
    other = {"image": {"sha256": "b" * 64, "fails": [], **evidence.prints(locked)}}
    problems, ev = shared(mine, [(NS(name="u2"), mine), (NS(name="u3"), other)],
                          "accounts", "fixed password hash")
    assert problems == ["its firmware image ships the same fixed password hash as u2's (admin)"]
    assert ev[0]["ok"] is False and ev[0]["observed"]["compared with"] == ["u2", "u3"]
    assert shared(mine, [(NS(name="u3"), other)], "accounts", "x") == (
        [], [{**ev[0], "check": "firmware image: no x shared with another unit's image",
              "observed": {**ev[0]["observed"], "compared with": ["u3"], "shared with": {}},
              "ok": True}])
    assert shared({"ssh": None}, [], "keys", "private key") == ([], [])   # no image given


def test_a_service_the_image_starts_and_the_scan_did_not_see():
    from harness.firmware.join import unseen
    from harness.probe.ports import Scan
    started = [{"service": "telnet", "daemon": "telnetd", "where": "/etc/init.d/rcS:5"},
               {"service": "ssh", "daemon": "dropbear", "port": 2222, "where": "/etc/rc:2"},
               {"service": "http", "daemon": "lighttpd", "where": "/etc/rc:3"}]
    scans = [Scan("198.18.0.11", tcp_open={443: "https"}),     # never sent: data only
             Scan("2001:2::11", tcp_open={2222: "ssh"})]
    assert unseen(started, scans) == ["/etc/init.d/rcS:5: the image starts telnetd (telnet) at "
                                      "boot; the scan saw nothing on port 23"]
    assert unseen(started, None) == []                  # no scan in the run: nothing said
