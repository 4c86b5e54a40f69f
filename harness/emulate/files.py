"""Per-unit files of an emulated device: accounts, keys, certificates, daemon configs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from harness.certs import issue_cert, pem_text

HTPASSWD_REALM = "device"      # the realm of the web UIs' HTTP basic and digest logins


def crypt_hash(password: str, scheme: str = "6") -> str:
    """A crypt(3) hash through openssl (the crypt module is gone from current Pythons)."""
    return subprocess.run(["openssl", "passwd", f"-{scheme}", "-stdin"], input=password,
                          capture_output=True, text=True, check=True).stdout.strip()


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    """Whole or not at all: a script a starting daemon is reading keeps its old content
    (written to a temporary name, then renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)
    return path


def accounts(etc: Path, home: Path, password: str, weak_hash: bool,
             shell: str = "/bin/sh") -> None:
    """/etc/netns/<ns>/{passwd,shadow,group,shells}: the device's own accounts."""
    h = crypt_hash(password, "1" if weak_hash else "6")
    # name lookups answer at once from the unit's own files (no resolver in the namespace:
    # telnetd's reverse lookup of the client would otherwise wait 10 s per connection)
    write(etc / "hosts", "127.0.0.1 localhost\n198.18.0.1 harness\n2001:2::1 harness\n")
    write(etc / "resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    write(etc / "shells", f"/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/dash\n{shell}\n")
    write(etc / "passwd", f"root:x:0:0:root:{home}:{shell}\nadmin:x:0:0:admin:{home}:{shell}\n"
          f"ftp:x:65534:65534:ftp:{home.parent}/ftp:/usr/sbin/nologin\n"
          "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    write(etc / "shadow", f"root:*:19000:0:99999:7:::\nadmin:{h}:19000:0:99999:7:::\n"
          "ftp:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n"
          "nobody:*:19000:0:99999:7:::\n", 0o640)
    write(etc / "group", "root:x:0:\nnogroup:x:65534:\n")


def htdigest(user: str, password: str) -> str:
    """A line of an htdigest file for the web UI's realm."""
    import hashlib
    ha1 = hashlib.md5(f"{user}:{HTPASSWD_REALM}:{password}".encode()).hexdigest()
    return f"{user}:{HTPASSWD_REALM}:{ha1}\n"


def ssh_host_key(path: Path, group_dir: Path | None) -> Path:
    """An Ed25519 host key in dropbear format (shared within a key group when given)."""
    if group_dir is not None:
        shared = group_dir / "dropbear_ed25519_host_key"
        if not shared.exists():
            group_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dropbearkey", "-t", "ed25519", "-f", str(shared)],
                           capture_output=True, check=True)
        shutil.copy(shared, path)
    else:
        subprocess.run(["dropbearkey", "-t", "ed25519", "-f", str(path)], capture_output=True,
                       check=True)
    path.chmod(0o600)
    return path


def openssh_host_key(path: Path) -> Path:
    """An RSA host key for OpenSSH (the weak-crypto variant offers ssh-rsa)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(path)],
                   check=True, capture_output=True)
    return path


def cloud_ca(directory: Path) -> tuple:
    """The emulated vendor cloud's CA (one per lab bring-up): (key, cert, path of cert)."""
    pem, crt = directory / "cloud-ca.pem", directory / "cloud-ca.crt"
    if pem.exists():
        data = pem.read_bytes()
        return (serialization.load_pem_private_key(data, None),
                x509.load_pem_x509_certificate(data), crt)
    key, cert = issue_cert("Emulab Cloud Root CA", "", ca=True)
    directory.mkdir(parents=True, exist_ok=True)
    pem.write_bytes(pem_text(key, cert))
    pem.chmod(0o600)
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, crt


def tls_cert(directory: Path, common_name: str, address: str, group_dir: Path | None,
             issuer: tuple | None = None) -> Path:
    """A device certificate with its key in one PEM (shared within a key group);
    self-signed unless an issuer (key, certificate) is given."""
    pem = directory / "server.pem"
    if group_dir is not None and (group_dir / "server.pem").exists():
        shutil.copy(group_dir / "server.pem", pem)
        return pem
    text = pem_text(*issue_cert(common_name, address, issuer))
    directory.mkdir(parents=True, exist_ok=True)
    pem.write_bytes(text)
    pem.chmod(0o600)
    if group_dir is not None:
        group_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(pem, group_dir / "server.pem")
    return pem


def vendor_key(directory: Path) -> tuple[ed25519.Ed25519PrivateKey, bytes]:
    """The emulated vendor's firmware signing key (one per lab bring-up)."""
    path = directory / "vendor-signing.key"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
    pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return key, pub


def json_update_images(d: Path, key, version: str, name: str) -> None:
    """The vendor's valid (newer) and older signed images of the emulator's JSON kind."""
    major, minor, patch = (int(x) for x in version.split("."))
    (d / "update-valid.img").write_bytes(firmware_image(
        key, f"{major}.{minor}.{patch + 1}", b"new firmware " + name.encode()))
    (d / "update-old.img").write_bytes(firmware_image(
        key, f"{major}.{max(minor - 1, 0)}.0", b"old firmware"))


def firmware_image(key, version: str, payload: bytes) -> bytes:
    """A firmware image: JSON with version, payload and an Ed25519 signature over both."""
    import base64
    sig = key.sign(version.encode() + b"\n" + payload)
    return json.dumps({"version": version, "payload": base64.b64encode(payload).decode(),
                       "signature": base64.b64encode(sig).decode()}).encode()


def signer_files(directory: Path, stem: str, common_name: str) -> tuple[Path, Path]:
    """A vendor's signing key and self-signed certificate (PEM), made once per lab in
    `directory` as STEM-key.pem and STEM-cert.pem."""
    from harness.update import swu
    key_file, cert_file = directory / f"{stem}-key.pem", directory / f"{stem}-cert.pem"
    if not key_file.exists():
        key, cert = swu.signer(common_name)
        write(key_file, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode(), 0o600)
        write(cert_file, cert.public_bytes(serialization.Encoding.PEM).decode())
    return key_file, cert_file


NOT_NEWER = r"""newest=$(printf '%s\n%s\n' "$running" "$new" | sort -V | tail -n 1)
if [ -z "$new" ] || [ "$new" = "$running" ] || [ "$newest" != "$new" ]; then
  echo "refusing WHAT version $new: not newer than $running" >&2
  exit 1
fi
"""


def refuse_not_newer(what: str) -> str:
    """The end of a firmware's version check (a RAUC handler, a Mender state script): the
    shell variables $new and $running compared as versions; exit 1 unless $new is newer."""
    return NOT_NEWER.replace("WHAT", what)


def run_tool(*cmd, error: type[Exception] = RuntimeError, cwd=None, env=None,
             timeout: float = 300) -> str:
    """A build tool's stdout; `error` with the tool's last words when it cannot start,
    times out or fails."""
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **(env or {})})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise error(f"{cmd[0]}: {exc}") from None
    if p.returncode:
        raise error(f"{' '.join(map(str, cmd[:3]))}…: {(p.stderr or p.stdout).strip()[-400:]}")
    return p.stdout
