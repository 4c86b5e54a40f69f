"""Applicability checks for test cases: each returns None when the test applies, or why not.
They read only the profile, so `harness list` can show the plan without touching a device."""
from __future__ import annotations

from harness import surfaces
from harness.errors import Missing

# A plain string: a fact from the profile says the test does not apply (NOT_APPLICABLE).
# Missing(...): the test applies, but the profile lacks what it needs (NOT_RUN).


def network(p):
    return None if p.address else "the device has no network address in its profile"


def ssh(p):
    return None if p.ssh else "no SSH service in the profile"


def login_surface(p):
    if surfaces.of(p):
        return None
    return "the profile declares no login surface"


def shell(p):
    if surfaces.shells(p):
        return None
    return Missing("the lab has no credentials for a shell on the device (ssh.password, "
                   "telnet.password or serial.password)")


def serial(p):
    if p.serial:
        return None
    if p.has_serial_console is False:
        return "the vendor declares no serial console (has_serial_console: false)"
    return Missing("no serial console in the profile (serial:, or has_serial_console: false "
                   "when the device has none)")


def update(p):
    if p.update and p.address:
        return None
    return Missing("the profile declares no network update channel (update:)")


def update_images(p):
    if update(p):
        return update(p)
    return None if p.update_images.valid else Missing("no vendor update image in the profile "
                                                      "(update_images.valid)")


def password_change(p):
    if not p.password_change:
        return Missing("the profile does not say how to change the password "
                       "(password_change.command)")
    return shell(p)


def factory_reset(p):
    if not p.factory_reset:
        return Missing("the profile does not say how to start a factory reset "
                       "(factory_reset.command)")
    return shell(p)


def secret_paths(p):
    if not p.secret_paths:
        return Missing("the profile lists no files that hold credentials (secret_paths)")
    return shell(p)


def tls_client(p):
    if p.tls_clients:
        return None
    if p.tls_clients is not None:
        return "the profile declares that the device makes no outbound TLS connection " \
            "(tls_clients: [])"
    return Missing("the profile does not list the device's outbound TLS connections "
                   "(tls_clients; [] when it makes none)")


def serial_through_boot(p):
    if not p.serial:
        return serial(p)
    return None if p.serial.survives_power_cycle else Missing(
        "the serial adapter does not stay open through a power cycle "
        "(serial.survives_power_cycle), so the boot cannot be watched")


def remote_operated(p):
    if not p.remote_operation:
        return "the product is not operated remotely (remote_operation: false)"
    if not p.remote_control:
        return Missing("the device type does not declare how it is operated remotely and "
                       "observed (remote_control: command, observe, safe_within)")
    if not p.mqtt:
        return Missing("no command channel: the profile has no mqtt section")
    return None


def boot_medium(p):
    """The secure-boot test writes images to the unit's boot medium and watches the boot."""
    if serial_through_boot(p):
        return serial_through_boot(p)
    if not p.lab.boot_medium:
        return Missing("the lab cannot write the unit's boot medium (lab.boot_medium in the "
                       "profile, the lab's write_boot_image action)")
    return None if p.firmware_image else Missing("no vendor firmware image in the profile "
                                                 "(firmware_image) to modify and to restore")


def telemetry(p):
    t = p.telemetry
    if t is None:
        return Missing("the device type does not declare the product's telemetry (telemetry: "
                       "topic and fields, or sends: false)")
    if not t.sends:
        return "the vendor declares that the product sends no telemetry (telemetry.sends)"
    return None if p.mqtt else Missing("no MQTT channel in the profile (mqtt:) to observe the "
                                       "telemetry on")
