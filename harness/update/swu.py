"""SWUpdate's image format (.swu): a cpio archive (newc, with or without CRC) whose first
member is sw-description (the signed manifest: version, images with their SHA-256) and,
when signed, sw-description.sig (a detached CMS signature over it). The harness reads and
writes it itself (bounded) to derive the variants the update test needs."""
from __future__ import annotations

import re

MAGICS = (b"070701", b"070702")
TRAILER = "TRAILER!!!"
MAX_MEMBERS = 256
DESCRIPTION, SIGNATURE = "sw-description", "sw-description.sig"


class FormatError(ValueError):
    """Not a .swu this reader understands."""


def _pad(n: int) -> int:
    return (4 - n % 4) % 4


def read(data: bytes) -> list[tuple[str, bytes]]:
    """The members in archive order (names and contents), without the trailer."""
    out, pos = [], 0
    while len(out) <= MAX_MEMBERS:
        head = data[pos:pos + 110]
        if len(head) < 110 or head[:6] not in MAGICS:
            raise FormatError(f"no cpio newc header at byte {pos}")
        try:
            size, namesize = int(head[54:62], 16), int(head[94:102], 16)
        except ValueError:
            raise FormatError(f"a damaged cpio header at byte {pos}") from None
        name_end = pos + 110 + namesize
        name = data[pos + 110:name_end - 1].decode("utf-8", "replace")
        start = name_end + _pad(110 + namesize)
        if start + size > len(data):
            raise FormatError(f"member {name!r} runs past the end of the file")
        if name == TRAILER:
            return out
        out.append((name, data[start:start + size]))
        pos = start + size + _pad(size)
    raise FormatError(f"more than {MAX_MEMBERS} members")


def write(members: list[tuple[str, bytes]]) -> bytes:
    """A cpio archive in the CRC format SWUpdate reads (070702: each member's checksum is
    the sum of its bytes)."""
    out = bytearray()
    for ino, (name, body) in enumerate([*members, (TRAILER, b"")], 1):
        raw = name.encode() + b"\0"
        fields = [ino, 0o100644 if name != TRAILER else 0, 0, 0, 1, 0, len(body), 0, 0, 0, 0,
                  len(raw), sum(body) & 0xFFFFFFFF]
        head = b"070702" + b"".join(b"%08X" % f for f in fields)
        out += head + raw + b"\0" * _pad(110 + len(raw)) + body + b"\0" * _pad(len(body))
    return bytes(out)


def description(members) -> str:
    found = dict(members).get(DESCRIPTION)
    if found is None or members[0][0] != DESCRIPTION:
        raise FormatError("sw-description is not the first member")
    return found.decode("utf-8", "replace")


VERSION = re.compile(r'(\bversion\s*=\s*")([^"]*)(")')


def version(members) -> str | None:
    m = VERSION.search(description(members))
    return m.group(2) if m else None


def with_version(members, new: str) -> list[tuple[str, bytes]]:
    """sw-description with its software version replaced (the signature no longer fits)."""
    text = VERSION.sub(lambda m: m.group(1) + new + m.group(3), description(members), count=1)
    return [(n, text.encode() if n == DESCRIPTION else b) for n, b in members]


def sign(text: bytes, key, cert) -> bytes:
    """A detached CMS signature (DER) over sw-description, as `openssl cms -sign -binary
    -nosmimecap -outform DER` writes it."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7
    return (pkcs7.PKCS7SignatureBuilder().set_data(text).add_signer(cert, key, hashes.SHA256())
            .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature,
                                               pkcs7.PKCS7Options.Binary,
                                               pkcs7.PKCS7Options.NoCapabilities]))


def signer(common_name: str):
    """A fresh RSA key and a self-signed certificate for it (a signer the unit must not
    trust, or the emulated vendor's)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return key, cert


def variants(valid: bytes, bump) -> dict[str, bytes | str]:
    """From the vendor's valid image: `tampered` (a byte of the first payload member
    changed; manifest and signature kept, so only the manifest's SHA-256 can catch it),
    `unsigned` (the signature removed, the version raised) and `untrusted` (the manifest
    re-signed by a key of the harness's own, the version raised). A variant that cannot be
    built is a string saying why."""
    try:
        members = read(valid)
        v = version(members)
    except FormatError as exc:
        why = f"the valid image is not a .swu this harness reads: {exc}"
        return {k: why for k in ("tampered", "unsigned", "untrusted")}
    out: dict[str, bytes | str] = {}
    payload = next((i for i, (n, b) in enumerate(members)
                    if n not in (DESCRIPTION, SIGNATURE) and b), None)
    if payload is None:
        out["tampered"] = "the image has no payload member to change"
    else:
        name, body = members[payload]
        changed = bytearray(body)
        changed[len(changed) // 2] ^= 0xFF
        out["tampered"] = write([(n, bytes(changed) if i == payload else b)
                                 for i, (n, b) in enumerate(members)])
    if v is None:
        why = "sw-description names no software version to raise"
        out["unsigned"] = out["untrusted"] = why
        return out
    unsigned = [(n, b) for n, b in with_version(members, bump(v, 3)) if n != SIGNATURE]
    out["unsigned"] = write(unsigned)
    key, cert = signer("harness: a signer no unit trusts")
    resigned = [(n, b) for n, b in with_version(members, bump(v, 4)) if n != SIGNATURE]
    text = dict(resigned)[DESCRIPTION]
    out["untrusted"] = write([resigned[0], (SIGNATURE, sign(text, key, cert)), *resigned[1:]])
    return out
