"""Verified boot for the QEMU units' firmware (issue 26), as a vendor sets it up on U-Boot:
the kernel, the initramfs and the board's device tree in one FIT image whose configuration is
signed (sha256, RSA 2048) with the vendor's boot key, and the public key in U-Boot's control
device tree with `required = "conf"`, so U-Boot refuses to boot a FIT whose images or
signature do not verify ("Bad Data Hash", "Failed to verify required signature").

qemu_arm64 U-Boot takes its control device tree from the board (QEMU): the board's tree is
dumped once with the unit's exact machine options (`-machine dumpdtb`), its random seeds
removed, and handed back with the key through `-dtb`, the way a vendor burns the key into
the ROM's tree. The same tree, without the key, is the FIT's kernel device tree.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.emulate import files

MEMORY_MB = 192
UBOOT = Path("/usr/lib/u-boot/qemu_arm64/u-boot.bin")
FIT_NAME = "firmware.itb"
FIT_ADDR = "0x44000000"        # above the kernel (0x40400000, 32 MiB) in 192 MiB of RAM
KEY_NAME = "vendor-boot"

ITS = """/dts-v1/;
/ {{
	description = "Emulab ER-50 firmware";
	#address-cells = <1>;
	images {{
		kernel {{
			data = /incbin/("{d}/Image");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x40400000>; entry = <0x40400000>;
			hash-1 {{ algo = "sha256"; }};
		}};
		ramdisk {{
			data = /incbin/("{d}/initrd.gz");
			type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none";
			hash-1 {{ algo = "sha256"; }};
		}};
		fdt {{
			data = /incbin/("{d}/board.dtb");
			type = "flat_dt"; arch = "arm64"; compression = "none";
			hash-1 {{ algo = "sha256"; }};
		}};
	}};
	configurations {{
		default = "conf";
		conf {{
			kernel = "kernel"; ramdisk = "ramdisk"; fdt = "fdt";
			signature-1 {{
				algo = "sha256,rsa2048"; key-name-hint = "{key}";
				sign-images = "kernel", "ramdisk", "fdt";
			}};
		}};
	}};
}};
"""


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


def pack(disk: Path, key_dir: Path, control_dtb: Path, epoch: int) -> Path:
    """Replace the disk's Image and initrd.gz with a signed FIT; write the control device
    tree holding the public key to `control_dtb`."""
    board = board_dtb(disk / "board.dtb")
    its = disk / "firmware.its"
    files.write(its, ITS.format(d=disk, key=KEY_NAME))
    fit = disk / FIT_NAME
    env = {"SOURCE_DATE_EPOCH": str(epoch)}
    _run("mkimage", "-f", str(its), str(fit), env=env)
    shutil.copyfile(board, control_dtb)
    _run("mkimage", "-F", "-k", str(boot_key(key_dir)), "-K", str(control_dtb), "-r",
         str(fit), env=env)
    for name in ("Image", "initrd.gz", "board.dtb", "firmware.its"):
        (disk / name).unlink()
    os.utime(fit, (epoch, epoch))
    return fit


def bootcmd() -> str:
    """Load and boot the FIT; a FIT that does not verify powers the board off."""
    return (f"pci enum; virtio scan; load virtio 0 {FIT_ADDR} /{FIT_NAME} && bootm {FIT_ADDR}"
            "; poweroff")
