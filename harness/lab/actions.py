"""Lab actions (power-cycle, link down/up/degrade, redirect) run as the lab's own commands.

The lab config's templates are shell text written by the lab; the values filled in (device
name, outlet, switch port, addresses) come from profiles and are never spliced into that
text: each placeholder becomes a quoted environment-variable reference ("$HX_POWER"), which
the shell expands without evaluating it again. An action runs in its own process group; on
timeout the whole group is killed, not only the shell.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from harness.errors import DeviceError

ACTION_NAMES = ("power_cycle", "link_down", "link_up", "link_degrade", "redirect",
                "redirect_clear", "local_control", "write_boot_image", "restore_firmware")


def command(template: str, values: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The shell text and the environment for one action. Templates are validated at load
    (plain {name} placeholders only: no conversions, no format specs)."""
    env = {f"HX_{k.upper()}": str(v) for k, v in values.items()}
    text = template.format(**{k: f'"$HX_{k.upper()}"' for k in values})
    return text, env


def run_action(lab, profile, action: str, timeout: float = 60.0, **extra: str) -> str:
    template = getattr(lab.actions, action, None) if action in ACTION_NAMES else None
    if not template:
        raise DeviceError(f"lab config has no '{action}' action")
    values = {"device": profile.name, "power": profile.lab.power or profile.name,
              "link": profile.lab.link or profile.name, "python": sys.executable,
              "boot_medium": profile.lab.boot_medium or profile.name, **extra}
    text, env = command(template, values)
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", text], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True,
                                env={**os.environ, **env})
    except OSError as exc:
        raise DeviceError(f"lab action {action} could not start: {exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise DeviceError(f"lab action {action} did not finish in {timeout:.0f}s "
                          "(its process group was stopped)") from None
    if proc.returncode != 0:
        raise DeviceError(f"lab action {action} failed ({proc.returncode}): "
                          f"{err.strip()[-300:]}")
    return out


def _kill_group(proc: subprocess.Popen) -> None:
    """The action's shell and everything it started (its own session, by the shell's PID)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.communicate(timeout=2)
            break
        except subprocess.TimeoutExpired:
            continue
