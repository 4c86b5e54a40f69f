"""Identity of the unit under test, read from the device (goes into run.json)."""
from harness.profile import applicability as a
from harness.errors import DeviceError
from harness.model import testcase
from harness import update


@testcase("TC-ID-01", "The firmware version is readable and matches the declared one",
          steps=["read the firmware version from the device's update endpoint",
                 "compare it with the profile's declared firmware version"],
          applies=[a.update])
def test_identity(device, evidence, run_context):
    v = update.version(device)
    if v["version"] is None:
        raise DeviceError(f"firmware version not readable (HTTP {v['status']})")
    identity = {"firmware_version": v["version"]}
    if device.profile.serial_number:
        identity["serial_number (profile)"] = device.profile.serial_number
    run_context.record_identity(device, identity)
    evidence.expect("firmware version matches the declaration",
                    v["version"] == device.profile.firmware_version,
                    device.profile.firmware_version, v["version"],
                    reason=f"device reports {v['version']}, profile declares "
                           f"{device.profile.firmware_version}")
