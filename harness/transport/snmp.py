"""SNMP GET through net-snmp's snmpget (the reference implementation): v1/v2c with a
community, v3 (USM, authPriv) with a user and passphrase. Secrets never reach the command
line: they go into a private snmp.conf the tool reads (SNMPCONFPATH)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.errors import DeviceError, TransportTimeout

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
AUTH_FAILURE = ("authentication failure", "unknown user name", "wrong digest",
                "unknown security name", "decryption error")
TOO_SHORT = "below the length requirements"


def get(wire, host: str, port: int, version: str, secret: str, user: str = "",
        auth: str = "SHA", priv: str = "AES", timeout: float = 2.0,
        oid: str = SYS_DESCR) -> dict:
    """{'answered': True, 'value': ...} or {'answered': False, 'why': ...} for an explicit
    refusal (v3's authentication failure); TransportTimeout when nothing answers (v1/v2c
    answer a wrong community with silence)."""
    ip = wire.scope.check(host)
    tool = shutil.which("snmpget")
    if not tool:
        raise DeviceError("snmpget is not installed (Debian package snmp)")
    channel = f"snmp:{ip}:{port}"
    target = f"udp6:[{ip}]:{port}" if ":" in ip else f"udp:{ip}:{port}"
    with tempfile.TemporaryDirectory(prefix="hx-snmp-") as conf:
        lines = [f"defVersion {version}"]
        if version == "3":
            if len(secret) < 8:        # net-snmp refuses it; so does every v3 agent
                wire.transcript.note(channel, f"v3 user {user}: passphrase under 8 "
                                              "characters, refused without sending")
                return {"answered": False, "why": "passphrase under 8 characters"}
            lines += [f"defSecurityName {user}", "defSecurityLevel authPriv",
                      f"defAuthType {auth}", f"defPrivType {priv}",
                      f"defAuthPassphrase {secret}", f"defPrivPassphrase {secret}"]
        else:
            lines.append(f"defCommunity {secret}")
        Path(conf, "snmp.conf").write_text("\n".join(lines) + "\n")
        os.chmod(conf, 0o700)
        wire.transcript.sent(channel, f"GET {oid} (v{version}"
                             + (f", user {user}" if user else ", community <secret>") + ")")
        env = {**os.environ, "SNMPCONFPATH": conf, "SNMP_PERSISTENT_DIR": conf, "MIBS": "",
               "MIBDIRS": "/nonexistent"}
        try:
            proc = subprocess.run([tool, "-t", f"{timeout:g}", "-r", "0", "-On", "-Lo",
                                   target, oid], capture_output=True, text=True, env=env,
                                  timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            raise TransportTimeout(f"{channel}: snmpget did not return") from None
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode == 0 and "=" in proc.stdout:
        value = proc.stdout.split("=", 1)[1].strip()
        wire.transcript.received(channel, value[:200])
        return {"answered": True, "value": value[:200]}
    wire.transcript.received(channel, out[:200])
    low = out.lower()
    if "timeout" in low:
        raise TransportTimeout(f"{channel}: no answer within {timeout:g}s")
    if any(m in low for m in AUTH_FAILURE):
        return {"answered": False, "why": out.splitlines()[-1][:120]}
    if TOO_SHORT in low:
        return {"answered": False, "why": "passphrase under the agent's minimum length"}
    raise DeviceError(f"{channel}: {out[:200] or f'snmpget exit {proc.returncode}'}")
