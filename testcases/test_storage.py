"""Secure storage and deletion of user data."""
import secrets

from harness.profile import applicability as a
from harness.errors import DeviceError
from harness.model import testcase
from harness.probe import remote, storage


@testcase("TC-STORE-01", "Passwords are stored hashed with a modern scheme, never in plaintext",
          steps=["over a shell, read the files that hold credentials (profile secret_paths)",
                 "every password hash uses a modern salted scheme",
                 "the lab's password appears in no file in plaintext"],
          applies=[a.secret_paths])
def test_passwords_stored_securely(device, evidence):
    shell = device.shell()
    try:
        seen = storage.inspect(device, shell, device.profile.secret_paths,
                               device.profile.secrets())
    finally:
        shell.close()
    evidence.record("files", seen["files"])
    evidence.record("hash scheme per account", seen["accounts"])
    weak = [f"{u}: {s}" for u, s in seen["accounts"].items()
            if s not in storage.STRONG and s != "locked"]
    problems = weak + [f"password in plaintext in {p}" for p in seen["plaintext_hits"]]
    evidence.expect("strong hashes and no plaintext", not problems, "modern salted hashes",
                    problems, reason="; ".join(problems))


@testcase("TC-DEL-01", "Factory reset erases user data, credentials and Wi-Fi settings",
          steps=["write a marker into each user-data file named in the profile and find it "
                 "there (the look-up that must miss afterwards works on this unit)",
                 "start the factory reset over the device's shell",
                 "each file must be gone or no longer hold the marker",
                 "always: remote operation enabled again when the type declares how "
                 "(remote_control.enable: the lab received the unit so)"],
          applies=[a.factory_reset], destructive=True, disrupts="factory_reset")
def test_factory_reset_erases(device, evidence, lifecycle):
    fr = device.profile.factory_reset
    lifecycle.on_exit("remote operation enabled again", lambda: remote.reenable(device))
    marker = "hx-userdata-" + secrets.token_hex(6)
    shell = device.shell()
    try:
        for path in fr.user_data_paths:
            status, _ = shell.run(f"echo '# {marker}' >> {path}")
            # the positive control: the same look-up that must miss afterwards finds it now
            if status != 0 or shell.run(f"grep -q '{marker}' {path}")[0] != 0:
                raise DeviceError(f"cannot write the marker into {path}")
        evidence.record("marker written and found before the reset", fr.user_data_paths)
        status, out = shell.run(fr.command, timeout=120)
        evidence.record("reset command", {"status": status, "output": out[-200:]})
    finally:
        shell.close()
    shell = device.shell()          # the per-unit initial credentials work again
    try:
        kept = [p for p in fr.user_data_paths
                if shell.run(f"grep -q '{marker}' {p} 2>/dev/null")[0] == 0]
    finally:
        shell.close()
    evidence.expect("no user data survives the reset", not kept, "erased", kept,
                    reason="user data kept after factory reset: " + ", ".join(kept))
