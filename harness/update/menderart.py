"""Mender's artifact format (.mender, version 3): a tar of `version`, `manifest` (the SHA-256
of every other member and of every payload file), `manifest.sig` when signed (base64 of an
RSA PKCS#1 v1.5 or a raw ECDSA r||s signature over the manifest, SHA-256), `header.tar.gz`
(header-info: the artifact's name, payload types, what it depends on) and the payloads
(`data/0000.tar.gz`, ...). The harness reads and writes it itself (bounded) to derive the
variants the update test needs."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile

MAX_MEMBERS = 64
MAX_BYTES = 512 * 1024 * 1024
HEADER, MANIFEST, SIGNATURE = "header.tar.gz", "manifest", "manifest.sig"


class FormatError(ValueError):
    """Not a Mender artifact this reader understands."""


def read(data: bytes) -> list[tuple[str, bytes]]:
    """The outer tar's members in order (name, content)."""
    if len(data) > MAX_BYTES:
        raise FormatError(f"larger than {MAX_BYTES} bytes")
    out = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
            for m in t:
                if len(out) >= MAX_MEMBERS:
                    raise FormatError(f"more than {MAX_MEMBERS} members")
                if not m.isfile():
                    raise FormatError(f"member {m.name!r} is not a regular file")
                out.append((m.name, t.extractfile(m).read()))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise FormatError(f"not a tar archive: {exc}") from None
    names = [n for n, _ in out]
    if names[:2] != ["version", MANIFEST] or HEADER not in names:
        raise FormatError(f"not a Mender artifact (members {names[:5]})")
    try:
        fmt = json.loads(out[0][1])
    except ValueError:
        raise FormatError("its version member is not JSON") from None
    if not isinstance(fmt, dict) or fmt.get("format") != "mender" or fmt.get("version") != 3:
        raise FormatError(f"format {fmt!r}: only Mender artifact version 3 is read")
    return out


def write(members: list[tuple[str, bytes]], mode: str = "w:", file_mode: int = 0o600) -> bytes:
    """A tar of these members (mode "w:gz": gzipped, as header.tar.gz is)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.USTAR_FORMAT) as t:
        for name, body in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(body), file_mode
            t.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def _header_members(header: bytes) -> list[tuple[str, bytes]]:
    out = []
    try:
        with tarfile.open(fileobj=io.BytesIO(header), mode="r:gz") as t:
            for m in t:
                if len(out) >= MAX_MEMBERS or not m.isfile():
                    raise FormatError(f"an unexpected header member {m.name!r}")
                out.append((m.name, t.extractfile(m).read()))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise FormatError(f"header.tar.gz: {exc}") from None
    return out


def header_info(members) -> dict:
    head = dict(_header_members(dict(members)[HEADER]))
    try:
        info = json.loads(head["header-info"])
    except (KeyError, ValueError):
        raise FormatError("the header has no readable header-info") from None
    if not isinstance(info, dict):
        raise FormatError("header-info is not an object")
    return info


def name(members) -> str | None:
    provides = header_info(members).get("artifact_provides")
    got = provides.get("artifact_name") if isinstance(provides, dict) else None
    return got if isinstance(got, str) else None


def renamed(members, new: str) -> list[tuple[str, bytes]]:
    """The artifact with its name in header-info replaced (the header rebuilt; the manifest
    and signature as they were, so they no longer fit)."""
    head = _header_members(dict(members)[HEADER])
    info = header_info(members)
    info["artifact_provides"] = {**info.get("artifact_provides", {}), "artifact_name": new}
    head = [(n, json.dumps(info, separators=(",", ":")).encode() if n == "header-info" else b)
            for n, b in head]
    return [(n, write(head, "w:gz", 0o644) if n == HEADER else b) for n, b in members]


def manifest_for(members) -> bytes:
    """The manifest as Mender's tool writes it: the SHA-256 of each payload file
    (data/NNNN/<file>, in archive order), then of header.tar.gz and `version`."""
    lines, rest = [], {}
    for n, body in members:
        if n in ("version", HEADER):
            rest[n] = hashlib.sha256(body).hexdigest()
        elif n.startswith("data/") and n.endswith(".tar.gz"):
            index = n[len("data/"):-len(".tar.gz")]
            try:
                with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as t:
                    for m in t:
                        if m.isfile():
                            lines.append((f"data/{index}/{m.name}", hashlib.sha256(
                                t.extractfile(m).read()).hexdigest()))
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise FormatError(f"{n}: {exc}") from None
    lines += sorted(rest.items())
    return "".join(f"{h}  {n}\n" for n, h in lines).encode()


def signature_kind(members) -> tuple[str, int] | None:
    """The vendor's signature as ('ecdsa', curve bits) or ('rsa', key bits); None: unsigned."""
    sig = dict(members).get(SIGNATURE)
    if sig is None:
        return None
    try:
        raw = base64.b64decode(sig.strip(), validate=True)
    except ValueError:
        raise FormatError("manifest.sig is not base64") from None
    if len(raw) in (64, 96, 132):          # raw r||s of P-256, P-384, P-521
        return "ecdsa", {64: 256, 96: 384, 132: 521}[len(raw)]
    return "rsa", len(raw) * 8


def sign(manifest: bytes, kind: tuple[str, int]) -> bytes:
    """manifest.sig by a key of the harness's own, of the vendor's key type."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
    algo, bits = kind
    if algo == "ecdsa":
        curve = {256: ec.SECP256R1, 384: ec.SECP384R1, 521: ec.SECP521R1}[bits]()
        r, s = utils.decode_dss_signature(ec.generate_private_key(curve).sign(
            manifest, ec.ECDSA(hashes.SHA256())))
        size = (bits + 7) // 8
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=max(bits, 2048))
        raw = key.sign(manifest, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw)


def variants(valid: bytes, bump) -> dict[str, bytes | str]:
    """From the vendor's valid artifact: `tampered` (its name raised inside the header, the
    manifest and signature kept: the header's checksum no longer matches), `unsigned` (the
    name raised, the manifest made to match, no signature) and `untrusted` (the same, signed
    by a key of the harness's own of the vendor's key type). A variant that cannot be built
    is a string saying why."""
    try:
        members = read(valid)
        old = name(members)
        if not old:
            raise FormatError("its header names no artifact")
        raised = renamed(members, bump(old, 1))
        fitted = [(n, manifest_for(raised) if n == MANIFEST else b)
                  for n, b in raised if n != SIGNATURE]
        kind = signature_kind(members)
    except FormatError as exc:
        why = f"the valid image is not a Mender artifact this harness reads: {exc}"
        return {k: why for k in ("tampered", "unsigned", "untrusted")}
    out: dict[str, bytes | str] = {"tampered": write(raised), "unsigned": write(fitted)}
    if kind is None:
        out["untrusted"] = ("the vendor's artifact is not signed: there is no signature "
                            "scheme to imitate with a key of the harness's own")
        return out
    at = [n for n, _ in fitted].index(MANIFEST) + 1
    signed = fitted[:at] + [(SIGNATURE, sign(dict(fitted)[MANIFEST], kind))] + fitted[at:]
    out["untrusted"] = write(signed)
    return out
