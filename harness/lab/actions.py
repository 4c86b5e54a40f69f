"""Lab actions (power-cycle, link down/up/degrade, redirect) run as the lab's own commands."""
from __future__ import annotations

import shlex
import subprocess
import sys

from harness.errors import DeviceError


def run_action(lab, profile, action: str, timeout: float = 60.0, **extra: str) -> str:
    template = getattr(lab.actions, action, None)
    if not template:
        raise DeviceError(f"lab config has no '{action}' action")
    cmd = template.format(device=shlex.quote(profile.name),
                          power=shlex.quote(profile.lab.power or profile.name),
                          link=shlex.quote(profile.lab.link or profile.name),
                          python=shlex.quote(sys.executable),
                          **{k: shlex.quote(str(v)) for k, v in extra.items()})
    try:
        proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeviceError(f"lab action {action} did not finish in {timeout:.0f}s") from None
    if proc.returncode != 0:
        raise DeviceError(f"lab action {action} failed ({proc.returncode}): "
                          f"{proc.stderr.strip()[-300:]}")
    return proc.stdout
