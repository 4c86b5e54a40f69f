"""The firmware upload in the web UI of the emulated vendor's ER-70W router (the variants
with `web_firmware`): the vendor's own binary image format, the images the vendor hands the
lab, and what the unit does with an upload. The harness's update kind `web` knows none of
this; the profile's IXIT only says where the signature is (a trailing RSA-2048 one).

The format: magic `EMFW`, format 1 and three zero bytes, the version (16 bytes of ASCII,
NUL-padded), the payload's length (u32, big-endian), the payload, then an RSA-2048 PKCS#1
v1.5 signature with SHA-256 over every byte before it (256 bytes).

The unit: a multipart form POSTed to /admin/firmware with the image as its `firmware` file
field, behind the web UI's form login (user name and password POSTed to /login, a session
cookie back; without a session the pages redirect to the login and an upload is refused
with 403; failed logins go to the unit's guard, which bans a source that keeps failing);
a malformed image is refused (400), one whose signature does not verify with the vendor's
key too (403, unless the unit is flawed with `unsigned_update`), one not newer than the
running firmware (409, unless `downgrade_update`); otherwise the version changes (200).
/admin/status shows it."""
from __future__ import annotations

import email.parser
import email.policy
import http.cookies
import secrets
import struct
import threading
import time
import urllib.parse
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MAGIC = b"EMFW\x01\x00\x00\x00"
HEADER = struct.Struct(">8s16sI")
SIGNATURE = 256
UPLOAD, STATUS, LOGIN = "/admin/firmware", "/admin/status", "/login"
FIELD = "firmware"
SESSION_SECONDS = 600


PUBLIC = "etc/fw-verify.pem"           # in the unit's file system: the key its firmware carries


def vendor_key(directory: Path) -> rsa.RSAPrivateKey:
    """The vendor's web-firmware signing key (RSA-2048, one per lab bring-up)."""
    path = directory / "web-firmware.key"
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def image(key: rsa.RSAPrivateKey, version: str, payload: bytes) -> bytes:
    signed = HEADER.pack(MAGIC, version.encode().ljust(16, b"\0"), len(payload)) + payload
    return signed + key.sign(signed, padding.PKCS1v15(), hashes.SHA256())


def update_images(d: Path, key, version: str, name: str) -> None:
    """The vendor's valid (newer) and older signed images, as it hands them to the lab, and
    its public key in the unit's firmware (fs/etc/fw-verify.pem)."""
    (d / "fs" / PUBLIC).write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    major, minor, patch = (int(x) for x in version.split("."))
    payload = (b"squashfs of the ER-70W firmware for " + name.encode()) * 64
    (d / "update-valid.img").write_bytes(image(key, f"{major}.{minor}.{patch + 1}", payload))
    (d / "update-old.img").write_bytes(image(key, f"{major}.{max(minor - 1, 0)}.0", payload))


def parse(data: bytes) -> tuple[str, bytes, bytes]:
    """(version, signed bytes, signature); ValueError when it is no image of this format."""
    if len(data) < HEADER.size + SIGNATURE or not data.startswith(MAGIC):
        raise ValueError("not an ER-70W firmware image")
    _, raw, n = HEADER.unpack_from(data)
    if HEADER.size + n + SIGNATURE != len(data):
        raise ValueError("image length does not match its header")
    version = raw.rstrip(b"\0").decode("ascii", "replace")
    return version, data[:-SIGNATURE], data[-SIGNATURE:]


def form_file(content_type: str, body: bytes, field: str = FIELD) -> bytes | None:
    """The named file field of a multipart/form-data body (None when there is none)."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == field:
            return part.get_payload(decode=True)
    return None


def apply(agent, data: bytes, newer) -> tuple[int, str]:
    """What the unit does with an uploaded image: (HTTP status, the page's message)."""
    try:
        version, signed, sig = parse(data)
    except ValueError as exc:
        return 400, f"Upgrade failed: {exc}"
    if not agent.cfg["unsigned_update"]:
        pub = serialization.load_pem_public_key((agent.fs / PUBLIC).read_bytes())
        try:
            pub.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return 403, "Upgrade failed: the image's signature does not verify"
    if not agent.cfg["downgrade_update"] and not newer(version, agent.version()):
        return 409, f"Upgrade failed: {version} is not newer than {agent.version()}"
    agent.set_version(version)
    agent.console_out(f"\n[upgrade] firmware now {version}\n")
    return 200, f"Upgrade complete: firmware {version}"


def status_page(version: str) -> str:
    return (f"<html><body><h1>ER-70W status</h1><p>Firmware version: {version}</p>"
            f"<form method=post action={UPLOAD} enctype=multipart/form-data>"
            f"<input type=file name={FIELD}><input type=submit value=Upgrade></form>"
            "</body></html>")


def login_page(message: str = "") -> str:
    return (f"<html><body><h1>ER-70W sign in</h1><p>{message}</p>"
            f"<form method=post action={LOGIN}><input name=username>"
            "<input name=password type=password><input type=submit value='Sign in'></form>"
            "</body></html>")


class Sessions:
    """The UI's sign-in sessions, in memory: a reboot signs everyone out."""

    def __init__(self):
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def open(self) -> str:
        sid = secrets.token_hex(16)
        with self._lock:
            now = time.monotonic()
            self._until = {k: t for k, t in self._until.items() if t > now}
            self._until[sid] = now + SESSION_SECONDS
        return sid

    def valid(self, cookie_header: str) -> bool:
        jar = http.cookies.SimpleCookie()
        try:
            jar.load(cookie_header or "")
        except http.cookies.CookieError:
            return False
        sid = jar["sid"].value if "sid" in jar else ""
        with self._lock:
            return self._until.get(sid, 0) > time.monotonic()


def sign_in(sessions: Sessions, body: bytes, check_password) -> tuple[int, str, dict]:
    """A POSTed login form: (status, page, headers); a wrong one is the login page again
    with no cookie (the caller reports it to the guard)."""
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    user, password = (fields.get(k, [""])[0] for k in ("username", "password"))
    if not check_password(user, password):
        return 200, login_page("Wrong user name or password."), {}
    return 303, "signed in", {"Set-Cookie": f"sid={sessions.open()}; Path=/; Secure; HttpOnly",
                              "Location": STATUS}
