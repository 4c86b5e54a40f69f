"""Secure boot (ETSI EN 303 645 5.7-1 and 5.7-2, TS 103 701 5.7-1-2a and 5.7-2-2b): a
modified image is not booted, and the unit then opens no connection on the lab link."""
import shutil
import time

from harness import scratch
from harness.errors import DeviceError, Inconclusive, NotRun
from harness.model import testcase
from harness.probe import link_watch, secure_boot
from harness.profile import applicability as a


AFTER_REFUSAL = 15.0        # s the lab link is listened to after a refused boot


@testcase("TC-BOOT-01", "Secure boot: a firmware image with a modified kernel is not booted, "
          "and the unit then opens no connection",
          steps=["copy the vendor's firmware image (firmware_image) and invert one byte of "
                 "its kernel, found by the kernel's own header (a gzip-compressed kernel in "
                 "a FIT: a byte of its gzip header's time stamp, which decompressing ignores)",
                 "write the modified image to the unit's boot medium (lab action "
                 "write_boot_image), power-cycle and watch the boot on the serial console",
                 "a kernel start or a login/shell prompt is a FAIL",
                 f"listen on the lab link for {AFTER_REFUSAL:.0f}s to what the unit sends "
                 "(by its MAC): a connection beyond address resolution is a FAIL",
                 "write the vendor's image and boot it the same way, listening alike: it "
                 "must boot and be heard (the positive controls of the refusal and of the "
                 "listening; it also puts the unit back)"],
          applies=[a.boot_medium], destructive=True, disrupts="power")
def test_modified_image_is_not_booted(device, evidence, lifecycle):
    p = device.profile
    for action in ("write_boot_image", "power_cycle"):
        if not lifecycle.can(action):
            raise NotRun(f"not run: the lab config has no {action} action")
    work = scratch.make("boot")           # kept until the restore has run (newest first)
    lifecycle.on_exit("the scratch copies removed", lambda: shutil.rmtree(work, True))
    vendor, modified = work / "vendor.img", work / "modified.img"
    shutil.copyfile(p.firmware_image, vendor)
    change = secure_boot.modified_image(vendor, modified)
    if change is None:
        raise NotRun("not run: no kernel header (arm64 Image, ARM zImage, x86 bzImage; a "
                     "gzip-compressed kernel in a FIT) "
                     f"found in {p.firmware_image}, so no modified image was made")
    evidence.record("modified image", change)
    restored = []

    def boot(image):
        lifecycle.act("write_boot_image", timeout=300, file=str(image))
        console = device.console()
        try:
            return secure_boot.watch(
                console, lambda: lifecycle.act("power_cycle", timeout=180, ready=False),
                p.serial.bootloader, [p.prompts.login, p.prompts.shell])
        finally:
            console.close()

    def restore():
        if not restored:
            boot(vendor)
            lifecycle.wait_ready(why="the vendor's image written back")
    lifecycle.on_exit("the vendor's image back on the boot medium", restore)
    seen = boot(modified)
    evidence.record("boot of the modified image", seen)
    if seen["kernel_started"] or seen["booted"]:
        evidence.expect("modified image not booted", False, "the bootloader refuses it",
                        seen["booted"] or "kernel started",
                        reason=f"the unit booted its firmware with byte "
                        f"{change['changed_offset']:#x} of the kernel inverted: the "
                        "boot does not verify the software")
    if not seen["bootloader_started"]:
        raise Inconclusive("the bootloader's banner (serial.bootloader.banner) did not "
                           f"appear after the power cycle ({seen['output_lines']} lines "
                           "of output): the boot was not watched")
    ifaces, own = lifecycle.lab.scope.interfaces, {lifecycle.lab.harness_address}
    if not (p.mac and ifaces):
        raise NotRun("not run in part: the refusal was seen, but what the unit sends afterwards "
                     "was not listened to (" + ("no MAC in the profile" if not p.mac else
                     "the lab config names no lab interface (scope.interfaces)") + ")")
    with link_watch.frames_from(ifaces, p.mac) as after:
        time.sleep(AFTER_REFUSAL)
    with link_watch.frames_from(ifaces, p.mac) as heard:
        control = boot(vendor)
        restored.append(True)
        if control["booted"]:
            lifecycle.wait_ready(why="the vendor's image written back")
    evidence.record("boot of the vendor's image (positive control)", control)
    if not (control["kernel_started"] and control["booted"]):
        raise DeviceError("the vendor's own image, written and booted the same way, did not "
                          f"boot either ({control['power_cycle']}; kernel started: "
                          f"{control['kernel_started']}): the refusal proves nothing, and "
                          "the unit needs the lab's attention")
    wider = [f for f in after if not link_watch.link_level(f, own)]
    evidence.record("sent on the lab link after the refused boot", {
        "seconds": AFTER_REFUSAL, "interfaces": ifaces, "mac": p.mac, "frames": after[:20],
        "connections": wider[:20], "heard_from_the_booted_unit": len(heard)})
    if not heard:
        raise NotRun("not run in part: the refusal was seen, but the unit was not heard on "
                     f"{', '.join(ifaces)} even when it booted normally, so the silence after "
                     "the refusal proves nothing")
    evidence.expect("no connection after the refused boot", not wider, "none",
                    wider[:5], reason=f"after refusing the modified image the unit opened "
                    f"{len(wider)} connection(s) on the lab link: {wider[:3]}")
    said = "; ".join(seen["bootloader_said"]) or "no message, no kernel"
    evidence.expect("modified image not booted, the vendor's image boots", True,
                    "refused, and the control boots", f"refused ({said}); silent for "
                    f"{AFTER_REFUSAL:.0f}s; the vendor's image booted to a {control['booted']} "
                    f"and was heard ({len(heard)} frames)")
