"""Keys and certificates shipped in an image: private keys (PEM, OpenSSH, dropbear host
keys) with whether they are encrypted, certificates, and public keys (candidates for update
verification). Named by path, type and a fingerprint; key material never leaves here."""
from __future__ import annotations

import base64
import hashlib
import re

PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]{0,40})-----(.{0,20000}?)-----END \1-----", re.S)
MAX_FILE = 1 << 20
MAX_FILES = 50_000
SKIP_TOPS = ("/proc/", "/sys/", "/dev/")


def _fp(data: bytes) -> str:
    return hashlib.sha256(re.sub(rb"\s", b"", data)).hexdigest()[:16]


def _openssh_encrypted(body: bytes) -> bool | None:
    try:
        raw = base64.b64decode(re.sub(rb"\s", b"", body))
    except ValueError:
        return None
    if not raw.startswith(b"openssh-key-v1\0"):
        return None
    n = int.from_bytes(raw[15:19], "big")
    return raw[19:19 + n] != b"none"


def _pem_text(body: bytes) -> bool:
    """A PEM block's body is text: RFC 1421 headers (`Proc-Type: ...`), then base64 that
    decodes to some bytes. A program that carries the BEGIN and END lines as strings
    (dropbearconvert, OpenSSL's tools) has anything else between them."""
    lines = [x.strip() for x in body.strip().splitlines()]
    data = [x for x in lines if x and b":" not in x]
    if not data or any(not re.fullmatch(rb"[A-Za-z0-9+/=]+", x) for x in data):
        return False
    try:
        return len(base64.b64decode(b"".join(data), validate=True)) >= 16
    except ValueError:
        return False


def scan(fs) -> dict:
    private, certificates, public = [], [], []
    for path, real, st in fs.files("/", MAX_FILES):
        if path.startswith(SKIP_TOPS) or st.st_size > MAX_FILE or st.st_size == 0:
            continue
        name = path.rsplit("/", 1)[-1]
        if name.startswith("dropbear_") and name.endswith("_host_key"):
            data = fs.read(path, MAX_FILE) or b""
            private.append({"path": path, "type": "dropbear host key", "encrypted": False,
                            "fingerprint": _fp(data)})
            continue
        data = fs.read(path, MAX_FILE) or b""
        if b"-----BEGIN " not in data:
            continue
        for m in PEM.finditer(data):
            label, body = m.group(1).decode(), m.group(2)
            if not _pem_text(body):
                continue
            if label.endswith("PRIVATE KEY"):
                enc = "ENCRYPTED" in label or b"Proc-Type: 4,ENCRYPTED" in body
                if label == "OPENSSH PRIVATE KEY":
                    enc = bool(_openssh_encrypted(body))
                private.append({"path": path, "type": label.lower(), "encrypted": enc,
                                "fingerprint": _fp(body)})
            elif label in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
                certificates.append({"path": path, "fingerprint": _fp(body)})
            elif label.endswith("PUBLIC KEY"):
                public.append({"path": path, "type": label.lower(), "fingerprint": _fp(body)})
    return {"private_keys": private, "certificates": certificates[:500],
            "certificate_count": len(certificates), "public_keys": public}
