"""Update channels, one module per kind (the profile's update.kind): each gives the unit
its images through `channel`, checks that channel's protection (`check_channel`), reads the
version, and derives from the vendor's valid image the ones a unit must refuse."""
from __future__ import annotations

from pathlib import Path

from harness.errors import DeviceError


def kind(device):
    from harness.update import hawkbit, jsonapi, mender, rauc, shell, swupdate, webform
    return {"json": jsonapi, "web": webform, "swupdate": swupdate, "hawkbit": hawkbit,
            "rauc": rauc, "mender": mender, "shell": shell}[device.profile.update.kind]


def version(device) -> dict:
    return kind(device).version(device)


def channel(device, run_context, lifecycle):
    """How TC-UPD-02 hands the unit each image (a context manager giving `.upload(image)`):
    an upload per image, or a deployment offered by the harness standing in for the server
    a pulling unit polls."""
    return kind(device).channel(device, run_context, lifecycle)


def check_channel(device, evidence, run_context, lifecycle) -> None:
    """TC-UPD-01: the kind's own check that its channel is encrypted and authenticated."""
    kind(device).check_channel(device, evidence, run_context, lifecycle)


VARIANTS = ("tampered", "unsigned", "untrusted", "older")
RESTORE = "the lab's restore_firmware action (the vendor's recovery path)"


def restore(device, lifecycle, start: str) -> dict | str:
    """Back on the firmware the unit started with, for a kind without a way back of its own
    (a compliant unit refuses the older image): the lab's restore_firmware action, then the
    version read again."""
    if not lifecycle.can("restore_firmware"):
        return ("no: this update kind has no way back and the lab config no restore_firmware "
                "action (the unit stays on the valid image)")
    try:
        lifecycle.act("restore_firmware", timeout=300)
        now = version(device)["version"]
    except DeviceError as exc:
        return {"back": False, "how": RESTORE, "why": str(exc)}
    return {"back": now == start, "version": now, "how": RESTORE,
            **({} if now == start else {"why": f"expected {start}"})}


def images(device) -> dict[str, bytes | str]:
    """The vendor's valid and older images, and the harness's tampered, unsigned and
    untrusted-signer ones; a variant that could not be had is a string saying why."""
    imgs = device.profile.update_images
    if not imgs.valid:
        raise DeviceError("the profile names no vendor update image (update_images.valid)")
    try:
        valid = Path(imgs.valid).read_bytes()
        older = Path(imgs.older).read_bytes() if imgs.older else \
            "the vendor handed over no older signed image (update_images.older)"
    except OSError as exc:
        raise DeviceError(f"cannot read update image: {exc}") from None
    return {**kind(device).variants(valid, bump, device.profile.update), "older": older,
            "valid": valid}


def installs_what_reaches_it(kind: str, tool: str, things: str) -> None:
    """TC-UPD-01 for an update framework on the unit: nothing to check (NotRun, saying why)."""
    from harness.errors import NotRun
    raise NotRun(f"update.kind {kind}: {tool} installs whatever {things[:-1]} reaches the "
                 f"unit; how {things} reach it in the field (the vendor's server, a web page, "
                 "a USB stick) is not described, so there is no channel to check here (the "
                 f"{things}' signatures are TC-UPD-02's)")


def on_unit(device, command: str, timeout: float = 30.0) -> tuple[int, str]:
    """`command` on the unit's shell: its exit status and output."""
    shell = device.shell()
    try:
        return shell.run(command, timeout=timeout)
    finally:
        shell.close()


def need_ssh(device, what: str) -> None:
    """An image for a framework on the unit is copied over SSH: NotRun without an SSH login."""
    from harness.errors import NotRun
    shell = device.shell()
    over_ssh = hasattr(shell, "put")
    shell.close()
    if not over_ssh:
        raise NotRun(f"{what} is copied to the unit over SSH: the profile gives no SSH login "
                     "(the unit's shell here is a console)")


def need_power_cycle(lifecycle, what: str) -> None:
    """NotRun when the lab cannot power-cycle the unit: `what` runs only after a reboot."""
    from harness.errors import NotRun
    if not lifecycle.can("power_cycle"):
        raise NotRun(f"{what} only after a reboot: the lab config has no power_cycle action "
                     "for this unit")


def install_over_shell(device, image: bytes, name: str,
                       command: str) -> tuple[int, list[str], dict]:
    """An installer on the unit (RAUC, Mender, the vendor's upgrade command): the image
    copied over SSH to update.bundle_dir as `name`, `command` (its `{image}` the copy's
    path) run on the unit's shell, the copy removed. Returns the exit status, the non-empty
    lines it printed, and their summary."""
    import shlex
    u = device.profile.update
    path = f"{u.bundle_dir.rstrip('/')}/{name}"
    run = command.replace("{image}", shlex.quote(path))
    shell = device.shell()
    try:
        # a slow link to a real unit: at least 250 kB/s, and never under two minutes
        shell.put(path, image, timeout=max(120.0, len(image) / 250_000))
        status, out = shell.run(run, timeout=u.apply_within)
        shell.run(f"rm -f {shlex.quote(path)}", timeout=30)
    finally:
        shell.close()
    said = [line.strip() for line in out.splitlines() if line.strip()]
    return status, said, {"status": f"{run}: exit {status}",
                          "reply": said[-1][:200] if said else ""}


def bump(v: str, n: int) -> str:
    parts = v.split(".")
    parts[-1] = str(int(parts[-1]) + n) if parts[-1].isdigit() else parts[-1] + f"-{n}"
    return ".".join(parts)
