"""How the lab reaches a unit: one section per service or console of the instance profile
(its port, the lab's account there, how it logs in) and the unit's addresses."""
from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from harness.profile.base import Port, Secret, Strict


def ip(v):
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        raise PydanticCustomError("address", "'{v}' is not an IP address", {"v": v}) from None


class SSH(Strict):
    port: Port = 22
    username: str = "admin"
    password: Secret | None = None
    key_file: str | None = None


class Telnet(Strict):
    port: Port = 23
    username: str = "admin"
    password: Secret | None = None


def _web_styles():
    from harness.weblogin import STYLES
    return ("none", *STYLES)


class Web(Strict):
    """A web surface and how it logs in (one module per style: harness/weblogin/).
    `harness probe-login ADDRESS PORT` tells which style a port speaks."""
    port: Port = 80
    tls: bool = False
    auth: Literal[_web_styles()] = Field("basic", description=  # type: ignore[valid-type]
        "none, basic, digest, form (HTML form, session cookie), token (JSON or form login "
        "answered with a token) or oauth2 (password grant at login_path)")
    login_path: str = Field("/", description="form, token, oauth2: where the login is POSTed")
    user_field: str = Field("username", description="form, token: the user name field")
    password_field: str = Field("password", description="form, token: the password field")
    body: Literal["form", "json"] = Field("json", description="token: how the login is sent")
    token_field: str = Field("token", description="token: where the token is in the JSON "
                             "answer (dotted for nested objects, e.g. data.token)")
    token_use: Literal["bearer", "cookie"] = Field("bearer", description="token, oauth2: "
                                                   "sent as 'Authorization: Bearer' or a cookie")
    token_cookie: str = Field("token", description="token_use cookie: the cookie's name")
    client_id: str = Field("", description="oauth2: the client_id the UI sends")
    scope: str = Field("", description="oauth2: the scope the UI asks for")
    admin_paths: list[str] = Field(default_factory=lambda: ["/"])
    username: str = "admin"
    password: Secret | None = None


class MQTT(Strict):
    host: str
    port: Port = 1883
    tls: bool = False
    username: str | None = None
    password: Secret | None = None
    topic_prefix: str = ""

    @field_validator("host")
    @classmethod
    def _host(cls, v):
        return ip(v)


class Bootloader(Strict):
    """How the bootloader-break-in test watches a boot on the serial console."""
    prompt: str = Field(r"(=>|U-Boot>|CFE>|RedBoot>) ?$", description="regex of its prompt")
    banner: str = Field(r"U-Boot \d|CFE version|RedBoot|barebox|Hit any key to stop autoboot",
                        description="regex of the bootloader's first output: a login or shell "
                        "prompt counts as the end of a watched boot only after it")
    break_keys: list[str] = Field(default_factory=lambda: [" ", "\u0003"],
                                  description="keys sent during boot to stop autoboot")
    proof_command: str = "printenv"
    proof: str = Field(r"^\w+=\S+", description="regex the proof command's output must match")
    continue_command: str = Field("boot", description="sent afterwards so the device boots")
    boot_wait: float = Field(60.0, gt=0, le=600, description="seconds a boot may take")


LABGRID = "labgrid"          # serial.port: the console comes from the unit's labgrid place


class Serial(Strict):
    port: str = Field(description="/dev/tty*, a pty path, socket://host:port, rfc2217:// or "
                      "'labgrid' (the console of the unit's labgrid place)")

    @field_validator("port")
    @classmethod
    def _port(cls, v):
        from harness.transport.serial import network_target
        if v != LABGRID:
            network_target(v)          # ValueError for an unknown scheme or a missing host:port
        return v
    baud: int = Field(115200, gt=0)
    username: str = "root"
    password: Secret | None = None
    survives_power_cycle: bool = Field(False, description="the adapter stays open while the "
                                       "device reboots (needed to watch the bootloader)")
    bootloader: Bootloader = Bootloader()


class FTP(Strict):
    port: Port = 21
    username: str | None = Field(None, description="the lab's FTP account (without one, a "
                                 "refused login proves nothing: that part is NOT_RUN)")
    password: Secret | None = None


class RTSP(Strict):
    port: Port = 554
    path: str = "/stream"
    username: str | None = Field(None, description="the lab's account on the stream")
    password: Secret | None = None


class SNMP(Strict):
    """An SNMP agent the vendor declares (udp)."""
    port: Port = 161
    version: Literal["1", "2c", "3"] = "2c"
    username: str = Field("", description="version 3: the USM user name")
    password: Secret | None = Field(None, description="1/2c: the lab's community string; "
                                    "3: the user's authentication and privacy passphrase")
    auth_protocol: Literal["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"] = "SHA"
    priv_protocol: Literal["DES", "AES", "AES-192", "AES-256"] = "AES"


class TFTP(Strict):
    """A TFTP server the vendor declares (udp; it has no login at all)."""
    port: Port = 69
    files: list[str] = Field(default_factory=list, description="file names the vendor "
                             "documents (each is asked for without credentials)")
