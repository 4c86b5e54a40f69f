"""SSH key exchange, host key, cipher and MAC algorithms, read by ssh-audit (its JSON
output; never its connection-rate test)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness.errors import DeviceError, TransportTimeout


def _ssh_audit() -> list[str]:
    exe = shutil.which("ssh-audit") or str(Path(sys.executable).parent / "ssh-audit")
    if not Path(exe).exists():
        raise DeviceError("ssh-audit is not installed")
    return [exe]


def audit(device, port: int, timeout: float = 30.0) -> dict:
    ip = device.wire.scope.check(device.profile.address, "SSH audit target")
    cmd = _ssh_audit() + ["-j", "-t", str(int(device.wire.connect_timeout)), "-p", str(port), ip]
    device.wire.transcript.sent("ssh-audit", " ".join(cmd[1:]))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TransportTimeout(f"ssh-audit did not finish in {timeout:.0f}s") from None
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise DeviceError(f"ssh-audit gave no result: {(proc.stdout + proc.stderr)[-300:]}") \
            from None
    out = {"banner": data.get("banner", {}).get("raw", ""), "algorithms": {}}
    for kind in ("kex", "key", "enc", "mac"):
        out["algorithms"][kind] = [
            {"name": a["algorithm"], "keysize": a.get("keysize"),
             "ssh_audit_fail": a.get("notes", {}).get("fail", [])} for a in data.get(kind, [])]
    device.wire.transcript.received("ssh-audit", json.dumps(out["algorithms"])[:2000])
    return out
