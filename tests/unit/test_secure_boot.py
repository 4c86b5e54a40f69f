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
