"""The firmware of the emulated units that boot in QEMU (issue 26), built reproducibly from
Debian's arm64 packages (`apt-get download`: nothing from outside the package registries):

- a firmware disk (ext4, two slots): the kernel (Debian's linux-image-arm64, its Image as
  shipped) and an initramfs with busybox (static; its init and getty), dropbear and its
  libraries, the few kernel modules the virt board needs, rcS, and the unit's tools
  (set-password, factory-reset, fw-upgrade), with the board's device tree in a FIT in slot
  a: signed with the vendor's boot key on a verified-boot flavour, without hashes or
  signature otherwise (harness/emulate/fitboot.py). The same FIT of another version is the
  vendor's update image (`build(..., version)`, beside the disk as .itb). Files sorted,
  owners root, times fixed: two builds from the same packages give the same kernel and
  initramfs bytes (the manifest records packages and digests; the ext4 container's inode
  generations are mkfs's own random numbers);
- per unit (`unit_disks`): the U-Boot environment on the second flash bank (its bootdelay:
  2, interruptible, on an open unit; -2 on a locked one), and the data disk with the unit's
  factory partition (its own admin password, host address) from which /data/etc is made on
  the first boot and after a factory reset.
U-Boot itself is Debian's u-boot-qemu (qemu_arm64), started as the board's boot ROM.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.emulate import files, fitboot

ARCH = "arm64"
PACKAGES = ("busybox-static", "dropbear-bin", "libc6", "libcrypt1", "libgmp10",
            "libtomcrypt1", "libtommath1", "zlib1g",
            # nftables: the firmware's own rate limit on new SSH connections
            "nftables", "libnftables1", "libedit2", "libbsd0", "libmd0", "libtinfo6",
            "libjansson4", "libmnl0", "libnftnl11", "libxtables12")
KERNEL_META = "linux-image-arm64"
EPOCH = 1767225600                   # 2026-01-01: every file time in the image
MODULES = ("net/core/failover", "drivers/net/net_failover",
           "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev",
           "drivers/virtio/virtio_pci", "drivers/net/virtio_net", "drivers/block/virtio_blk",
           "lib/crc16", "crypto/crc32c_generic", "fs/mbcache", "fs/jbd2/jbd2", "fs/ext4/ext4",
           "net/netfilter/nfnetlink", "lib/libcrc32c", "net/ipv4/netfilter/nf_defrag_ipv4",
           "net/ipv6/netfilter/nf_defrag_ipv6", "net/netfilter/nf_conntrack",
           "net/netfilter/nf_tables", "net/netfilter/nft_ct", "net/netfilter/nft_limit")
VERSION = "5.0.2"                    # the firmware's own version (/etc/version)
FLASH_SIZE, ENV_SIZE = 64 << 20, 0x40000     # qemu_arm64: env at the start of flash bank 1
BLOCK = 4096                         # the disks' ext4 block size


class BuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness" / "firmware-debs"


def _run(*cmd, cwd=None, env=None, timeout=300) -> str:
    return files.run_tool(*cmd, error=BuildError, cwd=cwd, env=env, timeout=timeout)


def kernel_package() -> str:
    """The kernel package linux-image-arm64 stands for now (e.g. linux-image-6.1.0-57-arm64)."""
    out = _run("apt-cache", "depends", f"{KERNEL_META}:{ARCH}")
    m = re.search(r"Depends: (linux-image-[\w.+-]+?)(?::arm64)?$", out, re.M)
    if not m:
        raise BuildError(f"apt-cache knows no {KERNEL_META}:{ARCH} (is the arm64 architecture "
                         "added? scripts/setup.sh adds it)")
    return m.group(1)


def fetch() -> dict[str, Path]:
    """The packages' .deb files, downloaded once into the cache (apt-get download)."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in (*PACKAGES, kernel_package()):
        have = sorted(cache.glob(f"{name}_*_{ARCH}.deb"))
        if not have:
            _run("apt-get", "download", f"{name}:{ARCH}", cwd=cache)
            have = sorted(cache.glob(f"{name}_*_{ARCH}.deb"))
        if not have:
            raise BuildError(f"apt-get download {name}:{ARCH} left no .deb in {cache}")
        out[name] = have[-1]
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# dropbear: the unit's own Ed25519 host key, made on the first boot; or, as Debian's package
# does with -R, a key of every type compiled in (DSS among them: the weak_ssh flaw)
DROPBEAR = {"ed25519": "k=/etc/dropbear/dropbear_ed25519_host_key; [ -f $k ] || "
                       "dropbearkey -t ed25519 -f $k >/dev/null; dropbear -r $k -p 22",
            "any": "dropbear -R -p 22"}
NFTABLES = """table inet fw {
 set ban { type ipv4_addr; flags timeout; }
 chain input { type filter hook input priority 0;
  ip saddr @ban tcp dport 22 drop
  tcp dport 22 ct state new limit rate over 20/minute burst 8 packets drop
 }
}
"""
# fail2ban's idea in the firmware: 8 refused SSH logins from one address within 60 s ban it
# for 20 s (read from dropbear's syslog lines; a rate limit alone lets a slow burst through)
LOGIN_GUARD = r"""#!/bin/sh
mkdir -p /tmp/guard
tail -n 0 -F /var/log/messages 2>/dev/null | while read -r line; do
  case "$line" in
    *"Bad password attempt for"*" from "*|*"Login attempt for nonexistent user"*" from "*) ;;
    *) continue ;;
  esac
  ip=${line##* from }; ip=${ip%:*}
  now=$(cut -d. -f1 /proc/uptime); f=/tmp/guard/$ip
  { [ -f "$f" ] && cat "$f"; echo "$now"; } | awk -v n="$now" 'n - $1 < 60' > "$f.new"
  mv "$f.new" "$f"
  if [ "$(wc -l < "$f")" -ge 8 ]; then
    nft add element inet fw ban "{ $ip timeout 20s }" && : > "$f"
  fi
done
"""


@dataclass(frozen=True)
class Flavour:
    """What the model's firmware does, flaws included."""
    console_login: bool = True           # False: a root shell on the console
    host_keys: str = "ed25519"           # "any": dropbear -R, every key type (DSS too)
    reset_keeps_user_data: bool = False  # the reset erases the settings only
    verified_boot: bool = True           # a signed FIT U-Boot verifies (else a plain Image)

    def name(self) -> str:
        """A file name per flavour: "login" for the compliant one, else what differs."""
        return "-".join(k for k, v in asdict(self).items() if v != getattr(Flavour, k)) \
            or "login"


def _rootfs(root: Path, debs: dict[str, Path], kernel_dir: Path, f: Flavour,
            version: str) -> str:
    for name in PACKAGES:
        _run("dpkg-deb", "-x", str(debs[name]), str(root))
    shutil.rmtree(root / "usr" / "share", ignore_errors=True)
    kv = next((kernel_dir / "lib" / "modules").iterdir()).name
    for m in MODULES:
        src = kernel_dir / "lib" / "modules" / kv / "kernel" / f"{m}.ko"
        dst = root / "lib" / "modules" / kv / f"{Path(m).name}.ko"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    for d in ("proc", "sys", "dev", "tmp", "data", "root", "var/run", "var/log", "etc/dropbear",
              "sbin", "usr/bin", "usr/sbin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "init").symlink_to("bin/busybox")          # busybox init reads /etc/inittab
    console = ("ttyAMA0::respawn:/bin/busybox getty -L 115200 ttyAMA0 vt100" if f.console_login
               else "ttyAMA0::respawn:-/bin/sh")          # the flaw: a root shell, no login
    files.write(root / "etc" / "inittab", "::sysinit:/etc/init.d/rcS\n"
                f"{console}\n::ctrlaltdel:/bin/busybox reboot -f\n")
    files.write(root / "etc" / "init.d" / "rcS", RCS.format(
        kv=kv, modules=" ".join(Path(m).name for m in MODULES),
        dropbear=DROPBEAR[f.host_keys]), 0o755)
    files.write(root / "etc" / "nftables.conf", NFTABLES)
    files.write(root / "usr" / "sbin" / "login-guard", LOGIN_GUARD, 0o755)
    files.write(root / "etc" / "version", version + "\n")
    files.write(root / "etc" / "profile", "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:"
                "/sbin\nexport PS1='# '\n")
    files.write(root / "usr" / "bin" / "set-password", SET_PASSWORD, 0o755)
    files.write(root / "usr" / "bin" / "fw-upgrade", FW_UPGRADE, 0o755)
    files.write(root / "usr" / "bin" / "factory-reset", FACTORY_RESET.format(
        erase="/data/etc" if f.reset_keeps_user_data else "/data/etc /data/user"), 0o755)
    files.write(root / "etc" / "hosts", "127.0.0.1 localhost\n")
    return kv


RCS = r"""#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts
mount -t tmpfs -o size=64m tmpfs /tmp      # room for an update image (fw-upgrade)
for m in {modules}; do insmod /lib/modules/{kv}/$m.ko || echo "rcS: module $m failed"; done
mount -t ext4 /dev/vdb /data || echo "rcS: no data partition"
mkdir -p /boot && mount -t ext4 /dev/vda /boot || echo "rcS: no firmware disk"
run=$(sed -n 's/.*fwslot=\([ab]\).*/\1/p' /proc/cmdline)
try=$(sed -n 's/^try=//p' /boot/boot.env 2>/dev/null)
if [ -n "$try" ] && [ "$try" = "$run" ]; then     # an update's first boot: it came up
  echo "slot=$run" > /boot/boot.env && sync && echo "rcS: firmware in slot $run committed"
elif [ -n "$try" ]; then             # U-Boot fell back: the update did not boot
  rm -f /boot/slot-$try.itb; echo "slot=$run" > /boot/boot.env && sync
  echo "rcS: the firmware in slot $try did not boot: discarded, slot $run runs"
fi
if [ ! -f /data/etc/shadow ]; then      # first boot
  rm -rf /data/etc && mkdir -p /data/etc && cp -a /data/factory/. /data/etc/ && sync
fi
mkdir -p /data/user && sync
cp /data/etc/passwd /data/etc/shadow /data/etc/group /etc/ && chmod 600 /etc/shadow
. /data/etc/net.conf
hostname "$HOSTNAME"
ip link set lo up; ip link set eth0 up
ip addr add "$ADDRESS" dev eth0 && ip route add default via "$GATEWAY"
[ -n "$ADDRESS6" ] && ip -6 addr add "$ADDRESS6" dev eth0
nft -f /etc/nftables.conf || echo "rcS: no rate limit"
syslogd -O /var/log/messages && (/usr/sbin/login-guard &)
mkdir -p /data/dropbear && mount --bind /data/dropbear /etc/dropbear
{dropbear}
echo "rcS: up in $(cut -d' ' -f1 /proc/uptime)s, firmware $(cat /etc/version), slot $run"
"""
SET_PASSWORD = r"""#!/bin/sh
# set-password USER NEWPASSWORD: the login password, kept on the data partition
[ -n "$2" ] || { echo "usage: set-password USER NEWPASSWORD"; exit 2; }
h=$(printf '%s' "$2" | mkpasswd -m sha512 -P 0) || exit 1
t=/tmp/.shadow.$$
awk -F: -v u="$1" -v h="$h" 'BEGIN{OFS=":"} $1==u{$2=h; f=1} {print} END{exit !f}' \
  /etc/shadow > $t || { rm -f $t; echo "set-password: no user $1" >&2; exit 1; }
cat $t > /etc/shadow && rm -f $t && cp /etc/shadow /data/etc/shadow && sync || exit 1
echo password changed
"""
# fw-upgrade IMAGE: the vendor's image (a FIT whose description names its version) into the
# slot not running, to be booted once at the next start; an older or equal version refused
FW_UPGRADE = r"""#!/bin/sh
img=$1
[ -f "$img" ] || { echo "fw-upgrade: no such file: $img" >&2; exit 2; }
[ "$(head -c 4 "$img" | od -An -tx1 | tr -d ' \n')" = d00dfeed ] || {
  echo "fw-upgrade: not a firmware image (no FIT header)" >&2; exit 1; }
new=$(head -c 4096 "$img" | strings | sed -n 's/^Emulab ER-50 firmware \([0-9.]*\)$/\1/p' |
  head -n 1)
[ -n "$new" ] || { echo "fw-upgrade: the image names no ER-50 firmware version" >&2; exit 1; }
num() { echo "$1" | awk -F. '{ printf "%d", $1 * 1000000 + $2 * 1000 + $3 }'; }
cur=$(cat /etc/version)
[ "$(num "$new")" -gt "$(num "$cur")" ] || {
  echo "fw-upgrade: $new is not newer than the running $cur: refused" >&2; exit 1; }
run=$(sed -n 's/.*fwslot=\([ab]\).*/\1/p' /proc/cmdline)
[ "$run" = b ] && other=a || other=b
rm -f /boot/slot-$other.itb
cp "$img" /boot/slot-$other.itb && printf 'slot=%s\ntry=%s\n' "$run" "$other" \
  > /boot/boot.env && sync || { echo "fw-upgrade: writing slot $other failed" >&2; exit 1; }
echo "fw-upgrade: firmware $new written to slot $other; it starts at the next boot"
"""
FACTORY_RESET = r"""#!/bin/sh
# factory-reset: the live settings and the user's data go, the factory partition's come
# back (the unit's own host key stays: it is the unit's identity)
rm -rf {erase} && mkdir -p /data/etc /data/user || exit 1
cp -a /data/factory/. /data/etc/ && sync || exit 1
cp /data/etc/passwd /data/etc/shadow /data/etc/group /etc/ && chmod 600 /etc/shadow
echo factory reset done
"""


def _cpio(root: Path, out: Path) -> None:
    """A newc archive of `root` (sorted, owner root, every time EPOCH), gzip without a name
    or time: the same tree gives the same bytes."""
    for p in [root, *root.rglob("*")]:
        os.utime(p, (EPOCH, EPOCH), follow_symlinks=False)
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    p = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "--reproducible", "-R", "0:0"],
                       cwd=root, input=("\n".join(names) + "\n").encode(),
                       capture_output=True, timeout=120)
    if p.returncode:
        raise BuildError(f"cpio: {p.stderr.decode(errors='replace')[-300:]}")
    with open(out, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0,
                                             compresslevel=6, filename="") as gz:
        gz.write(p.stdout)


def ext4(tree: Path, out: Path, size_mb: int, label: str, journal: bool = False) -> None:
    """An ext4 image of `tree` (mkfs.ext4 -d), its UUID, hash seed and times fixed; with a
    journal where the unit writes (a power cut must not corrupt it). 4 KiB blocks: one
    block group up to 128 MiB, so a file written by mkfs lies in one piece, as a FIT does
    in a vendor's raw boot partition."""
    fixed = str(uuid.uuid5(uuid.NAMESPACE_URL, f"harness:{label}"))
    out.unlink(missing_ok=True)
    _run("mkfs.ext4", "-q", "-F", "-b", str(BLOCK), "-L", label, "-U", fixed, "-E",
         f"hash_seed={fixed}",
         "-O", "has_journal" if journal else "^has_journal", "-d", str(tree), str(out),
         f"{size_mb}M",
         env={"E2FSPROGS_FAKE_TIME": str(EPOCH)})


def _recipe() -> str:
    """A digest of what this module puts into the image besides the packages: a change to
    a script rebuilds a cached firmware."""
    parts = [RCS, SET_PASSWORD, FACTORY_RESET, FW_UPGRADE, NFTABLES, LOGIN_GUARD,
             *DROPBEAR.values(), *MODULES, str(EPOCH), fitboot.ITS, fitboot.HASH,
             fitboot.SIGNATURE, str(BLOCK), *fitboot.machine_args()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def build(out: Path, flavour: Flavour, work: Path, version: str = VERSION) -> dict:
    """The firmware disk `out` (and out.with_suffix('.json'): what went in; '.itb': the FIT
    alone, the image a vendor's update carries); a build whose
    manifest matches the packages and choices is kept. One build at a time per image: two
    labs coming up on one machine share the cache (the lock goes with a killed process)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(out, flavour, work, version)


def _build(out: Path, flavour: Flavour, work: Path, version: str) -> dict:
    debs = fetch()
    manifest = out.with_suffix(".json")
    want = {"packages": {n: p.name for n, p in sorted(debs.items())},
            **asdict(flavour), "version": version,
            "recipe": _recipe()}
    if out.exists() and manifest.exists():
        have = json.loads(manifest.read_text())
        if {k: have.get(k) for k in want} == want and (
                out.with_suffix(".itb").exists() and
                (not flavour.verified_boot or control_dtb(out).exists())):
            return have
    shutil.rmtree(work, ignore_errors=True)
    kernel_dir, root, disk = work / "kernel", work / "root", work / "disk"
    for d in (kernel_dir, root, disk):
        d.mkdir(parents=True)
    kpkg = next(n for n in debs if n.startswith("linux-image-"))
    _run("dpkg-deb", "-x", str(debs[kpkg]), str(kernel_dir))
    kv = _rootfs(root, debs, kernel_dir, flavour, version)
    shutil.copy(next((kernel_dir / "boot").glob("vmlinuz-*")), disk / "Image")
    _cpio(root, disk / "initrd.gz")
    parts = {"initrd_sha256": _sha256(disk / "initrd.gz"),
             "kernel_sha256": _sha256(disk / "Image")}
    manifest.unlink(missing_ok=True)          # an image without its manifest is rebuilt
    signed = flavour.verified_boot
    try:
        fit = fitboot.pack(disk, EPOCH, version, out.parent / "boot-key" if signed else None,
                           control_dtb(out) if signed else None)
    except fitboot.FitError as exc:
        raise BuildError(f"FIT: {exc}") from None
    parts["fit_sha256"] = _sha256(fit)
    shutil.copyfile(fit, out.with_suffix(".itb"))
    # room for both slots; a journal: the unit writes here (an update, the slot's commit)
    ext4(disk, out.with_suffix(".tmp"), 128, "firmware", journal=True)
    out.with_suffix(".tmp").replace(out)
    info = {**want, "kernel": kv, "image_sha256": _sha256(out), **parts}
    files.write(manifest, json.dumps(info, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return info


def control_dtb(image: Path) -> Path:
    """U-Boot's control device tree with the vendor's boot key, beside a verified-boot image."""
    return image.with_suffix(".dtb")


def uboot_env(bootdelay: int) -> str:
    """The environment on the unit's flash: boot a FIT from the firmware disk (virtio 0),
    slot a or b (fitboot.bootcmd). bootdelay 2: a key stops autoboot at an open prompt; -2:
    no stop."""
    boot = fitboot.bootcmd()
    return "\n".join([
        "arch=arm", "baudrate=115200", "board=qemu-arm", "board_name=qemu-arm",
        f"bootdelay={bootdelay}", "kernel_addr_r=0x40400000", "ramdisk_addr_r=0x44000000",
        "fdt_high=0xffffffff", "initrd_high=0xffffffff",
        "bootargs=console=ttyAMA0 quiet panic=5",
        f"bootcmd={boot}",
        "stdin=pl011@9000000", "stdout=pl011@9000000", "stderr=pl011@9000000"]) + "\n"


def unit_disks(d: Path, firmware: Path, *, name: str, password: str, address: str,
               gateway: str, address6: str, locked: bool, fit: bool) -> dict[str, Path]:
    """The unit's own copy of the firmware disk, its flash (U-Boot's environment) and its
    data disk with the factory partition."""
    fw = d / "firmware.img"
    shutil.copyfile(firmware, fw)
    shutil.copyfile(firmware, d / "vendor-firmware.img")    # as handed over: the profile's
    env_txt = files.write(d / "uboot-env.txt", uboot_env(-2 if locked else 2))
    if fit:
        shutil.copyfile(control_dtb(firmware), d / "control.dtb")
    flash = d / "flash1.img"
    _run("mkenvimage", "-s", hex(ENV_SIZE), "-o", str(flash), str(env_txt))
    with open(flash, "r+b") as f:
        f.truncate(FLASH_SIZE)
    tree = d / "data-tree"
    shutil.rmtree(tree, ignore_errors=True)
    fac = tree / "factory"
    h = files.crypt_hash(password)
    files.write(fac / "passwd", "root:x:0:0:root:/root:/bin/sh\nadmin:x:0:0:admin:/root:"
                "/bin/sh\n")
    files.write(fac / "shadow", f"root:*:20454:0:99999:7:::\nadmin:{h}:20454:0:99999:7:::\n",
                0o600)
    files.write(fac / "group", "root:x:0:\n")
    files.write(fac / "net.conf", f"HOSTNAME={name}\nADDRESS={address}/24\nGATEWAY={gateway}\n"
                f"ADDRESS6={address6}/64\n")
    ext4(tree, d / "data.img", 16, f"data-{name}", journal=True)
    shutil.rmtree(tree)
    return {"firmware": fw, "flash": flash, "data": d / "data.img",
            **({"control_dtb": d / "control.dtb"} if fit else {})}


if __name__ == "__main__":          # scripts/setup.sh: fetch the packages while online
    import sys
    try:
        print("\n".join(str(p) for p in fetch().values()))
    except BuildError as exc:
        sys.exit(f"harness firmware packages: {exc}")
