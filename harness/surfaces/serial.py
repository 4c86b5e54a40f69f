"""The serial console: a local login (not a network surface: no brute force)."""
from harness.surfaces import Kind, Surface, register
from harness.surfaces.telnet import console_attempt


def build(p):
    if not p.serial:
        return []
    return [Surface("serial", "serial", None, p.serial.username, p.serial.password, p.serial,
                    shell=True, proto="serial")]


def attempt(device, s):
    return console_attempt(device.console)


register(Kind("serial", build, attempt))
