"""Every login and command surface of a device, built once from its profile.

Applicability, the credential tests, brute force, the unauthenticated-access and exposure
probes all read this one list instead of each keeping its own: a new surface is one entry
in `of()` (and, for the credential tests, one attempt function keyed by its kind).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Surface:
    name: str                    # "ssh:22", "http-basic:443", "serial", "command:mqtt"
    kind: str                    # ssh telnet serial web ftp rtsp mqtt command
    port: int | None = None
    username: str | None = None  # the lab's account on it, when the profile names one
    password: object = None      # SecretStr | None: the lab's password for that account
    section: object = None       # the profile section it comes from
    shell: bool = False          # a command shell once logged in
    banner: bool = False         # speaks first, before any credential
    login: bool = True           # takes a user name and password

    @property
    def has_credentials(self) -> bool:
        return bool(self.username and self.password)


def of(profile) -> list[Surface]:
    p, out = profile, []
    if p.ssh:
        out.append(Surface(f"ssh:{p.ssh.port}", "ssh", p.ssh.port, p.ssh.username,
                           p.ssh.password, p.ssh, shell=True, banner=True))
    if p.telnet:
        out.append(Surface(f"telnet:{p.telnet.port}", "telnet", p.telnet.port,
                           p.telnet.username, p.telnet.password, p.telnet, shell=True,
                           banner=True))
    for web in p.web:
        out.append(Surface(f"http-{web.auth}:{web.port}", "web", web.port, web.username,
                           web.password, web, login=web.auth != "none"))
    if p.ftp:
        out.append(Surface(f"ftp:{p.ftp.port}", "ftp", p.ftp.port, section=p.ftp,
                           banner=True))      # the lab has no FTP account: known ones only
    if p.rtsp:
        out.append(Surface(f"rtsp:{p.rtsp.port}", "rtsp", p.rtsp.port, section=p.rtsp))
    if p.mqtt:
        out.append(Surface(f"mqtt:{p.mqtt.port}", "mqtt", p.mqtt.port, p.mqtt.username,
                           p.mqtt.password, p.mqtt))
    if p.serial:
        out.append(Surface("serial", "serial", None, p.serial.username, p.serial.password,
                           p.serial, shell=True))
    if p.mqtt and getattr(p, "remote_control", None):
        # the remote command channel: commands on the unit's topic, through the broker
        out.append(Surface("command:mqtt", "command", p.mqtt.port, p.mqtt.username,
                           p.mqtt.password, p.remote_control, login=False))
    return out


def logins(profile) -> list[Surface]:
    return [s for s in of(profile) if s.login]


def shells(profile) -> list[Surface]:
    """Surfaces that give a command shell and for which the lab has credentials."""
    return [s for s in of(profile) if s.shell and (s.password or _key(s))]


def _key(s: Surface) -> bool:
    return bool(getattr(s.section, "key_file", None))
