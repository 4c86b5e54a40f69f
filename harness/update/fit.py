"""U-Boot FIT images (a flattened device tree holding the kernel, ramdisk and device tree,
and configurations signed with the vendor's key), the update image of many routers and
cameras: the variants TC-UPD-02 offers, derived from the vendor's valid image.

- tampered: a byte in the middle of the largest image's data inverted, every hash and
  signature kept (the image a unit that checks nothing boots, and one that checks only its
  hashes refuses);
- unsigned: the same FIT with every signature node removed (hashes kept): a unit that
  verifies signatures refuses it, one that checks hashes only takes it;
- untrusted: the FIT re-signed by a key made here, under the key name the image's own
  signature nodes give (`mkimage -F` from u-boot-tools; without it, said so).

The device tree is read and written here (the format is the devicetree specification's:
a header, the structure block of tokens, the strings block)."""
from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = 0xD00DFEED
MAGIC_BYTES = struct.pack(">I", MAGIC)      # as it starts a blob
HEADER = struct.Struct(">10I")
BEGIN_NODE, END_NODE, PROP, NOP, END = 1, 2, 3, 4, 9
MAX_DEPTH = 64


class FitError(ValueError):
    pass


@dataclass
class Node:
    name: str
    props: list[tuple[str, bytes, int]] = field(default_factory=list)  # name, value, offset
    children: list["Node"] = field(default_factory=list)

    def child(self, name: str) -> "Node | None":
        return next((c for c in self.children if c.name == name), None)

    def prop(self, name: str) -> bytes | None:
        return next((v for n, v, _ in self.props if n == name), None)


def _align(n: int) -> int:
    return (n + 3) & ~3


def parse(blob: bytes) -> Node:
    """The tree of a flattened device tree; FitError when it is not one."""
    if len(blob) < HEADER.size:
        raise FitError("shorter than a device-tree header")
    (magic, total, off_struct, off_strings, _, version, _, _, size_strings,
     size_struct) = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise FitError("no device-tree header (not a FIT image)")
    if total > len(blob) or off_struct + size_struct > total or version < 16:
        raise FitError(f"a device-tree header that does not fit the image ({total} bytes, "
                       f"version {version})")
    strings = blob[off_strings:off_strings + size_strings]

    def name_at(off: int) -> str:
        end = strings.find(b"\0", off)
        if off >= len(strings) or end < 0:
            raise FitError(f"a property name outside the strings block ({off})")
        return strings[off:end].decode("ascii", "replace")

    pos, end = off_struct, off_struct + size_struct
    stack: list[Node] = []
    root = None
    while pos + 4 <= end:
        (token,) = struct.unpack_from(">I", blob, pos)
        pos += 4
        if token == BEGIN_NODE:
            stop = blob.find(b"\0", pos, end)
            if stop < 0 or len(stack) >= MAX_DEPTH:
                raise FitError("a node name runs past the structure block")
            node = Node(blob[pos:stop].decode("ascii", "replace"))
            if stack:
                stack[-1].children.append(node)
            elif root is not None:
                raise FitError("a second root node")
            root = root or node
            stack.append(node)
            pos = _align(stop + 1)
        elif token == END_NODE:
            if not stack:
                raise FitError("a node ends that never began")
            stack.pop()
        elif token == PROP:
            if not stack or pos + 8 > end:
                raise FitError("a property outside any node")
            length, nameoff = struct.unpack_from(">II", blob, pos)
            pos += 8
            if pos + length > end:
                raise FitError("a property value runs past the structure block")
            stack[-1].props.append((name_at(nameoff), blob[pos:pos + length], pos))
            pos = _align(pos + length)
        elif token == END:
            break
        elif token != NOP:
            raise FitError(f"unknown structure token {token:#x} at {pos - 4:#x}")
    if root is None or stack:
        raise FitError("the structure block holds no complete root node")
    return root


def serialize(root: Node) -> bytes:
    """The flattened device tree of `root` (version 17, no memory reservations)."""
    strings: dict[str, int] = {}
    table = bytearray()
    out = bytearray()

    def emit(node: Node) -> None:
        name = node.name.encode() + b"\0"
        out.extend(struct.pack(">I", BEGIN_NODE) + name + b"\0" * (_align(len(name)) - len(name)))
        for pname, value, _ in node.props:
            if pname not in strings:
                strings[pname] = len(table)
                table.extend(pname.encode() + b"\0")
            out.extend(struct.pack(">III", PROP, len(value), strings[pname]) + value +
                       b"\0" * (_align(len(value)) - len(value)))
        for c in node.children:
            emit(c)
        out.extend(struct.pack(">I", END_NODE))
    emit(root)
    out.extend(struct.pack(">I", END))
    rsv = HEADER.size                 # 40: the reservation map 8-aligned right after it
    off_struct = rsv + 16
    off_strings = off_struct + len(out)
    total = off_strings + len(table)
    head = HEADER.pack(MAGIC, total, off_struct, off_strings, rsv, 17, 16, 0, len(table),
                       len(out))
    return head + b"\0" * 16 + bytes(out) + bytes(table)


def signature_nodes(root: Node) -> list[tuple[Node, Node]]:
    """(parent, node) of every signature node, in the configurations and the images."""
    found = []
    for group in ("configurations", "images"):
        for item in (root.child(group) or Node("")).children:
            found += [(item, s) for s in item.children if s.name.startswith("signature")]
    return found


def _tampered(valid: bytes, root: Node) -> bytes | str:
    images = (root.child("images") or Node("")).children
    data = [(len(v), off) for img in images for n, v, off in img.props if n == "data"]
    if not data:
        return ("the FIT keeps its images' data outside the tree (mkimage -E): no byte "
                "inside an image's data to change")
    length, off = max(data)
    flipped = bytearray(valid)
    flipped[off + length // 2] ^= 0xFF
    return bytes(flipped)


def _untrusted(valid: bytes, sigs: list[tuple[Node, Node]]) -> bytes | str:
    mkimage = shutil.which("mkimage")
    if not mkimage:
        return ("mkimage (u-boot-tools) is not installed here: the FIT cannot be signed with "
                "a key of the harness's own")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    with tempfile.TemporaryDirectory(prefix="hx-fit-") as tmp:
        for _, sig in sigs:
            algo = (sig.prop("algo") or b"").rstrip(b"\0").decode()
            hint = (sig.prop("key-name-hint") or b"").rstrip(b"\0").decode()
            bits = {"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}.get(algo.split(",")[-1])
            if not bits or not hint or "/" in hint:
                return (f"signature node {sig.name} uses {algo or 'no algorithm'} (key "
                        f"{hint or 'unnamed'}): only RSA signatures are re-signed here")
            key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            (Path(tmp) / f"{hint}.key").write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()))
        image = Path(tmp) / "untrusted.itb"
        image.write_bytes(valid)
        p = subprocess.run([mkimage, "-F", "-k", tmp, str(image)], capture_output=True,
                           text=True, timeout=120)
        if p.returncode:
            return f"mkimage -F could not re-sign the FIT: {(p.stderr or p.stdout)[-200:]}"
        return image.read_bytes()


def variants(valid: bytes) -> dict[str, bytes | str]:
    """tampered, unsigned and untrusted FITs from the vendor's valid one (a string saying
    why where one cannot be made)."""
    try:
        root = parse(valid)
    except FitError as exc:
        why = f"the valid image is not a FIT as the IXIT says: {exc}"
        return {k: why for k in ("tampered", "unsigned", "untrusted")}
    sigs = signature_nodes(root)
    if not sigs:
        why = "the vendor's valid image carries no signature node: it is unsigned itself"
        return {"tampered": _tampered(valid, root), "unsigned": why, "untrusted": why}
    for parent, sig in sigs:
        parent.children.remove(sig)
    return {"tampered": _tampered(valid, root), "unsigned": serialize(root),
            "untrusted": _untrusted(valid, sigs)}
