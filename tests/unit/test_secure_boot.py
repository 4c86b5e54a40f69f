"""The secure-boot probe's pure parts: finding a kernel without knowing the image format,
changing one byte of it, and reading a watched boot (scripted consoles; the lab test and the
matrix prove it on the QEMU units' real U-Boot)."""
import struct

from harness.probe import secure_boot
from tests.unit.test_console import _console, _ScriptedLogin


def _arm64_kernel(size=0x3000) -> bytes:
    head = bytearray(size)
    struct.pack_into("<Q", head, 0x10, size)          # image_size
    head[0x38:0x3c] = b"ARM\x64"
    for i in range(0x40, size):
        head[i] = i & 0xFF
    return bytes(head)


def test_one_byte_of_the_kernel_changes_wherever_the_image_puts_it(tmp_path):
    vendor = tmp_path / "vendor.img"
    before = b"\x00" * 5000 + b"ARM\x64" + b"\x00" * 100      # a magic without a header
    vendor.write_bytes(before + _arm64_kernel() + b"\xff" * 4096)
    out = tmp_path / "modified.img"
    change = secure_boot.modified_image(vendor, out)
    assert change["kernel_format"] == "arm64 Image" and change["kernel_offset"] == len(before)
    a, b = vendor.read_bytes(), out.read_bytes()
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    assert diff == [len(before) + secure_boot.CHANGE_AT]
    assert b[diff[0]] == a[diff[0]] ^ 0xFF
    assert change["vendor_sha256"] != change["modified_sha256"]


FIT = """/dts-v1/;
/ { description = "t"; #address-cells = <1>;
 images { kernel { data = /incbin/("Image.gz"); type = "kernel"; arch = "arm64";
   os = "linux"; compression = "gzip"; load = <0x40400000>; entry = <0x40400000>;
   hash-1 { algo = "sha256"; }; }; };
 configurations { default = "conf"; conf { kernel = "kernel"; }; }; };
"""


def test_a_gzip_kernel_in_a_fit_changes_where_only_a_check_can_see_it(tmp_path):
    import gzip
    import hashlib
    import subprocess
    kernel = _arm64_kernel()
    (tmp_path / "Image.gz").write_bytes(gzip.compress(kernel, mtime=0))
    (tmp_path / "fw.its").write_text(FIT)
    subprocess.run(["mkimage", "-f", "fw.its", "fw.itb"], cwd=tmp_path, check=True,
                   capture_output=True)
    fit_bytes = (tmp_path / "fw.itb").read_bytes()
    pad = b"\x00" * 8192                      # a disk image around it
    vendor = tmp_path / "vendor.img"
    vendor.write_bytes(pad + fit_bytes + pad)
    out = tmp_path / "modified.img"
    change = secure_boot.modified_image(vendor, out)
    assert change["kernel_format"] == secure_boot.GZIP_IN_FIT, change
    a, b = vendor.read_bytes(), out.read_bytes()
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    assert diff == [change["kernel_offset"] + 4] and b[change["kernel_offset"]:][:2] == \
        b"\x1f\x8b"
    # the decompressor still gives the same kernel (a bootloader that checks nothing boots
    # it); the hash the FIT holds for the kernel no longer matches its data
    gz = b[change["kernel_offset"]:change["kernel_offset"] + len(gzip.compress(kernel,
                                                                               mtime=0))]
    assert gzip.decompress(gz) == kernel
    held = subprocess.run(["fdtget", "-t", "bx", str(tmp_path / "fw.itb"),
                           "/images/kernel/hash-1", "value"], capture_output=True, text=True)
    held = bytes.fromhex("".join(x.zfill(2) for x in held.stdout.split()))
    assert hashlib.sha256(gz).digest() != held == hashlib.sha256(
        a[change["kernel_offset"]:change["kernel_offset"] + len(gz)]).digest()


def test_an_image_without_a_kernel_header_is_not_modified(tmp_path):
    vendor = tmp_path / "vendor.img"
    vendor.write_bytes(b"hsqs" + b"\x01" * 20000)
    assert secure_boot.modified_image(vendor, tmp_path / "m.img") is None
    assert not (tmp_path / "m.img").exists()


class _Board(_ScriptedLogin):
    """A console that shows nothing until the power cycle writes the boot."""

    def __init__(self):
        super().__init__("x")
        self.state = "off"

    def write(self, data: bytes):
        pass


def _watch(boot: bytes, cycle_fails=False, boot_wait=3.0):
    from harness.profile.access import Bootloader
    board = _Board()

    def cycle():
        board.out += boot
        if cycle_fails:
            raise RuntimeError("the board powered itself off during the boot")
    settings = Bootloader(boot_wait=boot_wait)
    return secure_boot.watch(_console(board), cycle, settings, ["login:", r"[#$] ?$"])


def test_a_refused_boot_ends_when_the_board_goes_quiet(monkeypatch):
    monkeypatch.setattr(secure_boot, "QUIET", 0.5)
    seen = _watch(b"U-Boot 2023.01\nVerifying Hash Integrity ... sha256 error!\n"
                        b"Bad Data Hash\npoweroff ...\n", cycle_fails=True, boot_wait=30.0)
    assert seen["bootloader_started"] and not seen["kernel_started"] and not seen["booted"]
    assert "Bad Data Hash" in seen["bootloader_said"]
    assert seen["ended"].startswith("quiet")       # not the 30 s boot_wait


def test_a_boot_into_the_kernel_and_a_login_is_booted():
    seen = _watch(b"U-Boot 2023.01\nStarting kernel ...\n[ 0.0] Linux version 6.1\n"
                     b"\nfw login: ")
    assert seen["kernel_started"] and seen["booted"] == "login prompt"


def test_output_before_the_banner_is_not_a_boot():
    seen = _watch(b"Starting kernel ...\nlogin: ")
    assert not seen["bootloader_started"] and not seen["kernel_started"]
    assert not seen["booted"]
