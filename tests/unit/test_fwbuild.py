"""The QEMU units' firmware (harness/emulate/fwbuild.py): the U-Boot environment that locks
or opens autoboot, the init script's choices, and a build from Debian's arm64 packages that
gives the same kernel and initramfs bytes as the lab's own build (the packages come from
the cache scripts/setup.sh filled, else from the package registry)."""
import gzip
import json
import subprocess

from harness.emulate import fwbuild, qemu
from harness.emulate.variants import BY_NAME


def test_the_flash_environment_opens_or_locks_autoboot_and_boots_a_slot_from_the_disk():
    open_env, locked = fwbuild.uboot_env(2), fwbuild.uboot_env(-2)
    assert "bootdelay=2\n" in open_env and "bootdelay=-2\n" in locked
    boot = next(x for x in locked.splitlines() if x.startswith("bootcmd="))
    # boot.env names the committed slot and an update's slot to try once; bootm verifies
    # each FIT, the next slot is tried when one does not; none: the board powers off
    assert "env import -t" in boot and "if test -n \"${try}\"" in boot
    assert "/slot-${try}.itb && bootm " in boot and "fwslot=${slot}" in boot
    assert "for " not in boot and boot.endswith(" && bootm 0x44000000; poweroff")


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
    assert c["initrd_sha256"] != a["initrd_sha256"] and c["fit_sha256"] != a["fit_sha256"]

    def ls(img):
        return subprocess.run(["debugfs", "-R", "ls -l /", str(img)],
                              capture_output=True, text=True).stdout
    for img in (c_img, tmp_path / "a.img"):       # slot a and the boot environment
        assert "slot-a.itb" in ls(img) and "boot.env" in ls(img) and "Image" not in ls(img)
    # U-Boot's control device tree holds the vendor's key, required for the configuration
    # (that U-Boot verifies the signature with it: the lab test boots it, and refuses a change)
    ctl = str(fwbuild.control_dtb(tmp_path / "a.img"))
    key = subprocess.run(["fdtget", ctl, "/signature/key-vendor-boot", "required"],
                         capture_output=True, text=True)
    assert key.stdout.strip() == "conf", key.stderr
    fit = tmp_path / "a.itb"
    subprocess.run(["debugfs", "-R", f"dump /slot-a.itb {fit}", str(tmp_path / "a.img")],
                   capture_output=True, check=True)
    assert fit.read_bytes() == (tmp_path / "a.itb").read_bytes()   # the update image's form
    sig = subprocess.run(["fdtget", str(fit), "/configurations/conf/signature-1", "algo"],
                         capture_output=True, text=True)
    assert sig.stdout.strip() == "sha256,rsa2048", sig.stderr
    desc = subprocess.run(["fdtget", str(fit), "/", "description"], capture_output=True,
                          text=True)
    assert desc.stdout.strip() == f"Emulab ER-50 firmware {fwbuild.VERSION}"
    # the open flavour's FIT: neither a signature nor hashes (nothing for U-Boot to check)
    nosig = subprocess.run(["fdtget", "-l", str(c_img.with_suffix(".itb")),
                            "/configurations/conf"], capture_output=True, text=True)
    assert nosig.returncode == 0 and "signature" not in nosig.stdout
    nohash = subprocess.run(["fdtget", "-l", str(c_img.with_suffix(".itb")), "/images/kernel"],
                            capture_output=True, text=True)
    assert nohash.returncode == 0 and "hash" not in nohash.stdout
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
    assert (root / "etc" / "version").read_text() == fwbuild.VERSION + "\n"
    upgrade = (root / "usr" / "bin" / "fw-upgrade").read_text()
    assert "is not newer than the running" in upgrade and "try=%s" in upgrade
    assert "firmware in slot $run committed" in rcs and "did not boot: discarded" in rcs
