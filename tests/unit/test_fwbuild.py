"""The QEMU units' firmware (harness/emulate/fwbuild.py): the U-Boot environment that locks
or opens autoboot, the init script's choices, and a build from Debian's arm64 packages that
gives the same kernel and initramfs bytes as the lab's own build (the packages come from
the cache scripts/setup.sh filled, else from the package registry)."""
import gzip
import json
import subprocess

from harness.emulate import fwbuild, qemu
from harness.emulate.variants import BY_NAME


def test_the_flash_environment_opens_or_locks_autoboot_and_boots_from_the_firmware_disk():
    open_env, locked = fwbuild.uboot_env(2), fwbuild.uboot_env(-2)
    assert "bootdelay=2\n" in open_env and "bootdelay=-2\n" in locked
    for env in (open_env, locked):
        boot = next(x for x in env.splitlines() if x.startswith("bootcmd="))
        assert "load virtio 0 ${kernel_addr_r} /Image" in boot and "booti" in boot
    # verified boot: the signed FIT, and a board that powers off when it does not verify
    boot = next(x for x in fwbuild.uboot_env(-2, fit=True).splitlines()
                if x.startswith("bootcmd="))
    assert "/firmware.itb && bootm " in boot and boot.endswith("; poweroff")


def test_two_builds_give_the_same_kernel_and_initramfs(tmp_path):
    # one build here, the other the lab's own (the QEMU units' firmware cache: built by
    # another process at another time, or now if the cache holds none; kept for the lab)
    a = fwbuild.build(tmp_path / "a.img", fwbuild.Flavour(), tmp_path / "wa")
    b_img, b = qemu.firmware(BY_NAME["fw-router"])
    assert a["initrd_sha256"] == b["initrd_sha256"] and a["kernel_sha256"] == b["kernel_sha256"]
    assert a["fit_sha256"] and b["fit_sha256"]    # each signed with its lab's vendor key
    assert json.loads((tmp_path / "a.json").read_text()) == a
    # what went in: busybox init on the console with a login, the unit's own Ed25519 key,
    # the rate limit; the open flavour (the open unit's) differs exactly there
    c_img, c = qemu.firmware(BY_NAME["fw-router-open"])
    assert c["initrd_sha256"] != a["initrd_sha256"] and "fit_sha256" not in c

    def ls(img):
        return subprocess.run(["debugfs", "-R", "ls -l /", str(img)],
                              capture_output=True, text=True).stdout
    assert "Image" in ls(c_img) and "initrd.gz" in ls(c_img)
    assert "firmware.itb" in ls(tmp_path / "a.img") and "Image" not in ls(tmp_path / "a.img")
    # U-Boot's control device tree holds the vendor's key, required for the configuration
    # (that U-Boot verifies the signature with it: the lab test boots it, and refuses a change)
    ctl = str(fwbuild.control_dtb(tmp_path / "a.img"))
    key = subprocess.run(["fdtget", ctl, "/signature/key-vendor-boot", "required"],
                         capture_output=True, text=True)
    assert key.stdout.strip() == "conf", key.stderr
    fit = tmp_path / "a.itb"
    subprocess.run(["debugfs", "-R", f"dump /firmware.itb {fit}", str(tmp_path / "a.img")],
                   capture_output=True, check=True)
    sig = subprocess.run(["fdtget", str(fit), "/configurations/conf/signature-1", "algo"],
                         capture_output=True, text=True)
    assert sig.stdout.strip() == "sha256,rsa2048", sig.stderr
    out = tmp_path / "initrd.gz"
    subprocess.run(["dumpimage", "-T", "flat_dt", "-p", "1", "-o", str(out), str(fit)],
                   capture_output=True, check=True)
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["cpio", "-id", "--quiet"], cwd=root, input=gzip.decompress(out.read_bytes()),
                   check=True)
    assert "getty -L 115200 ttyAMA0" in (root / "etc" / "inittab").read_text()
    rcs = (root / "etc" / "init.d" / "rcS").read_text()
    assert "dropbearkey -t ed25519" in rcs and "dropbear -R" not in rcs
    assert "limit rate over 20/minute" in (root / "etc" / "nftables.conf").read_text()
    assert "nft add element inet fw ban" in (root / "usr" / "sbin" / "login-guard").read_text()
    assert (root / "usr" / "sbin" / "dropbear").is_file() and (root / "bin" / "busybox").is_file()
    assert "rm -rf /data/etc /data/user " in (root / "usr" / "bin" / "factory-reset").read_text()
