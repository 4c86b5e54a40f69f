"""Verified boot for the QEMU units' firmware (issue 26), as a vendor sets it up on U-Boot:
the kernel, the initramfs and the board's device tree in one FIT image whose configuration is
signed (sha256, RSA 2048) with the vendor's boot key, and the public key in U-Boot's control
device tree with `required = "conf"`, so U-Boot refuses to boot a FIT whose images or
signature do not verify ("Bad Data Hash", "Failed to verify required signature").

qemu_arm64 U-Boot takes its control device tree from the board (QEMU): the board's tree is
dumped once with the unit's exact machine options (`-machine dumpdtb`), its random seeds
removed, and handed back with the key through `-dtb`, the way a vendor burns the key into
the ROM's tree. The same tree, without the key, is the FIT's kernel device tree.

A unit whose vendor never turned verification on boots the same FIT without hashes or a
signature, and a control tree without a key. Both keep two slots on the firmware disk
(slot-a.itb, slot-b.itb) and boot.env, which U-Boot imports: the unit's `fw-upgrade` writes
the slot not running and names it `try`; U-Boot boots it once, and the firmware commits it
when it comes up, or forgets it when U-Boot fell back to the committed slot.
"""
from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from harness.emulate import files

MEMORY_MB = 256          # the firmware, and a 40 MiB update image in /tmp
UBOOT = Path("/usr/lib/u-boot/qemu_arm64/u-boot.bin")
FIT_ADDR = "0x44000000"        # above the kernel (0x40400000, 32 MiB) in 256 MiB of RAM
KEY_NAME = "vendor-boot"

ITS = """/dts-v1/;
/ {{
	description = "Emulab ER-50 firmware {version}";
	#address-cells = <1>;
	images {{
		kernel {{
			data = /incbin/("{d}/Image.gz");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "gzip";
			load = <0x40400000>; entry = <0x40400000>;{hash}
		}};
		ramdisk {{
			data = /incbin/("{d}/initrd.gz");
			type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none";{hash}
		}};
		fdt {{
			data = /incbin/("{d}/board.dtb");
			type = "flat_dt"; arch = "arm64"; compression = "none";{hash}
		}};
	}};
	configurations {{
		default = "conf";
		conf {{
			kernel = "kernel"; ramdisk = "ramdisk"; fdt = "fdt";{signature}
		}};
	}};
}};
"""
HASH = """
			hash-1 {{ algo = "sha256"; }};"""
SIGNATURE = """
			signature-1 {{
				algo = "sha256,rsa2048"; key-name-hint = "{key}";
				sign-images = "kernel", "ramdisk", "fdt";
			}};"""


class FitError(RuntimeError):
    pass


def machine_args() -> list[str]:
    """The board: what the control device tree depends on (the same for the dump and the
    unit)."""
    return ["-M", "virt", "-cpu", "cortex-a53", "-smp", "1", "-m", str(MEMORY_MB),
            "-display", "none", "-monitor", "none", "-nodefaults", "-bios", str(UBOOT)]


def _run(*cmd, env=None, timeout=120) -> str:
    return files.run_tool(*cmd, error=FitError, env=env, timeout=timeout)


def board_dtb(out: Path) -> Path:
    """The board's device tree as QEMU builds it for the unit, its random seeds removed."""
    qemu = shutil.which("qemu-system-aarch64") or "qemu-system-aarch64"
    m = machine_args()
    m[1] = f"virt,dumpdtb={out}"
    _run(qemu, *m)
    for prop in ("rng-seed", "kaslr-seed"):
        _run("fdtput", "-d", str(out), "/chosen", prop)
    # written again by dtc: the deleted seeds' bytes stay in the dumped blob's slack
    _run("dtc", "-q", "-I", "dtb", "-O", "dtb", "-p", "4096", "-o", str(out), str(out))
    return out


def boot_key(key_dir: Path) -> Path:
    """The vendor's boot signing key (kept beside the firmware cache: one per machine)."""
    key, crt = key_dir / f"{KEY_NAME}.key", key_dir / f"{KEY_NAME}.crt"
    if not (key.exists() and crt.exists()):
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Emulab boot")])
        now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(k.public_key()).serial_number(1).not_valid_before(now)
                .not_valid_after(now + datetime.timedelta(days=3650)).sign(k, hashes.SHA256()))
        files.write(key, k.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption()).decode(), 0o600)
        files.write(crt, cert.public_bytes(serialization.Encoding.PEM).decode())
    return key_dir


def its(d: Path, version: str, signed: bool) -> str:
    """The FIT's source: hashed images and a signed configuration, or (a vendor that never
    turned verification on) the images alone."""
    return ITS.format(d=d, version=version, hash=HASH.format() if signed else "",
                      signature=SIGNATURE.format(key=KEY_NAME) if signed else "")


def pack(disk: Path, epoch: int, version: str, key_dir: Path | None = None,
         control_dtb: Path | None = None) -> Path:
    """Replace the disk's Image and initrd.gz with a FIT in slot a; signed with the key in
    `key_dir` (the control device tree holding the public key written to `control_dtb`), or
    without hashes and signature when no key is given."""
    board = board_dtb(disk / "board.dtb")
    kernel = disk / "Image"
    with open(kernel, "rb") as f, gzip.GzipFile(disk / "Image.gz", "wb", mtime=epoch,
                                                 compresslevel=6) as gz:
        shutil.copyfileobj(f, gz)
    src = disk / "firmware.its"
    files.write(src, its(disk, version, key_dir is not None))
    fit = disk / slot_file("a")
    env = {"SOURCE_DATE_EPOCH": str(epoch)}
    _run("mkimage", "-f", str(src), str(fit), env=env)
    if key_dir is not None and control_dtb is not None:
        shutil.copyfile(board, control_dtb)
        _run("mkimage", "-F", "-k", str(boot_key(key_dir)), "-K", str(control_dtb), "-r",
             str(fit), env=env)
    for name in ("Image", "Image.gz", "initrd.gz", "board.dtb", "firmware.its"):
        (disk / name).unlink()
    files.write(disk / BOOT_ENV, "slot=a\n")
    for f in (fit, disk / BOOT_ENV):
        os.utime(f, (epoch, epoch))
    return fit


def slot_file(slot: str) -> str:
    return f"slot-{slot}.itb"


BOOT_ENV = "boot.env"       # slot=a|b (the committed one), try=a|b (an update's first boot)


def bootcmd() -> str:
    """A/B boot: the slot an update wrote, once (`try` in boot.env on the firmware disk),
    then the committed slot; the kernel is told which (fwslot=). Each FIT is verified by
    bootm (a FIT that does not verify is not booted: the next slot is tried); when none
    boots, the board powers off. No hush loop: a Ctrl-C on the console (a break key sent
    to a locked unit) ends a loop, and the unit must boot all the same."""
    def boot(slot: str) -> str:
        return (f"setenv bootargs console=ttyAMA0 quiet panic=5 fwslot={slot}; "
                f"load virtio 0 {FIT_ADDR} /{slot_file(slot)} && bootm {FIT_ADDR}")
    return ("pci enum; virtio scan; setenv slot a; setenv try; "
            f"if load virtio 0 {FIT_ADDR} /{BOOT_ENV}; then env import -t {FIT_ADDR} "
            "${filesize}; fi; if test -n \"${try}\"; then " + boot("${try}") + "; fi; "
            + boot("${slot}") + "; poweroff")
