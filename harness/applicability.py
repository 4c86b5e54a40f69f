"""Applicability checks for test cases: each returns None when the test applies, or why not.
They read only the profile, so `harness list` can show the plan without touching a device."""
from __future__ import annotations


def network(p):
    return None if p.address else "the device has no network address in its profile"


def ssh(p):
    return None if p.ssh else "no SSH service in the profile"


def login_surface(p):
    if p.ssh or p.telnet or p.web or p.ftp or p.rtsp or p.mqtt or p.serial:
        return None
    return "the profile declares no login surface"


def shell(p):
    if (p.ssh and (p.ssh.password or p.ssh.key_file)) or (p.telnet and p.telnet.password) \
            or (p.serial and p.serial.password):
        return None
    return "the lab has no credentials for a shell on the device (ssh, telnet or serial)"


def serial(p):
    return None if p.serial else "no serial console in the profile"


def update(p):
    return None if p.update and p.address else "the profile declares no network update channel"


def update_images(p):
    if update(p):
        return update(p)
    return None if p.update_images.valid else "no vendor update image in the profile " \
        "(update_images.valid)"


def password_change(p):
    if not p.password_change:
        return "the profile does not say how to change the password"
    return shell(p)


def factory_reset(p):
    if not p.factory_reset:
        return "the profile does not say how to start a factory reset"
    return shell(p)


def secret_paths(p):
    if not p.secret_paths:
        return "the profile lists no files that hold credentials (secret_paths)"
    return shell(p)


def tls_client(p):
    return None if p.tls_clients else "the profile declares no outbound TLS connection " \
        "(tls_clients)"


def serial_through_boot(p):
    if not p.serial:
        return "no serial console in the profile"
    return None if p.serial.survives_power_cycle else "the serial adapter does not stay open " \
        "through a power cycle (serial.survives_power_cycle), so the boot cannot be watched"
