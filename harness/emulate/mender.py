"""An emulated router that updates through Mender (Debian's mender-client) as a vendor ships
it: the client in standalone mode on the unit's shell (`mender install`, `mender commit`),
its configuration and state where Mender looks for them (/etc/mender, /var/lib/mender: the
unit's own directories, bound there in its shell), the vendor's artifact verification key in
its configuration, and the firmware delivered by Mender's own single-file update module (the
version file the firmware reads). The vendor's artifacts are made by `mender-artifact` with
the vendor's key.

The compliant unit refuses an artifact that is not newer than the running firmware in a
state script of its own (Download_Leave: run once the artifact's header is read; Mender has
no such check itself, and the ArtifactInstall scripts come inside the artifact); the
unsigned_update unit ships without a verification key (Mender then installs any artifact
whose checksums match), the downgrade_update one without the state script."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from harness.emulate.files import refuse_not_newer, run_tool, signer_files, write

DEVICE_TYPE = "emulab-er80"

NEWER_ONLY = """#!/bin/sh
# the ER-80 firmware installs only artifacts newer than the one running
header=/var/lib/mender/modules/v3/payloads/0000/tree/header
new=$(sed -n 's/.*-\\([0-9][0-9.]*\\)$/\\1/p' "$header/artifact_name")
running=$(sed -n 's/.*"version": *"\\([^"]*\\)".*/\\1/p' {fs}/etc/firmware.json)
"""


def vendor_signer(directory: Path) -> tuple[Path, Path]:
    """The vendor's artifact signing key (RSA, PEM in the traditional PKCS#1 layout, which
    mender-artifact reads) and its public half, one per lab."""
    pkcs8, _ = signer_files(directory, "mender", "Emulab firmware signing (Mender)")
    key, pub = directory / "mender-signing.pem", directory / "mender-pub.pem"
    if not pub.exists():
        k = serialization.load_pem_private_key(pkcs8.read_bytes(), None)
        write(key, k.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption()).decode(), 0o600)
        write(pub, k.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    return key, pub


def artifact(key: Path, version: str, out: Path, dest: Path, note: str = "") -> None:
    """A signed single-file artifact made with the vendor's tool (`mender-artifact`): the
    firmware's version file, for the directory `dest` (a unit of the emulated lab lives in a
    directory of the host: its artifacts name it)."""
    with tempfile.TemporaryDirectory(prefix="hx-mender-") as tmp:
        t = Path(tmp)
        write(t / "dest_dir", f"{dest}\n")
        write(t / "filename", "firmware.json\n")
        write(t / "permissions", "644\n")
        write(t / "firmware.json", json.dumps({"version": version, "note": note}) + "\n")
        out.unlink(missing_ok=True)
        run_tool("mender-artifact", "write", "module-image", "-T", "single-file",
                 "-t", DEVICE_TYPE, "-n", f"{DEVICE_TYPE}-{version}", "--software-version",
                 version, "-o", str(out), "-k", str(key),
                 *(x for f in ("dest_dir", "filename", "permissions", "firmware.json")
                   for x in ("-f", str(t / f))), timeout=60)


def prepare(v, d: Path, fs: Path, version: str, vendor_dir: Path) -> None:
    """The unit's Mender configuration and state directories (its shell sees them at
    /etc/mender and /var/lib/mender, where Mender looks), the running artifact's name as the
    firmware image carries it (/etc/mender/artifact_info), and the vendor's artifacts."""
    key, pub = vendor_signer(vendor_dir)
    etc = fs / "etc" / "mender"
    conf = {"UpdatePollIntervalSeconds": 1800, "InventoryPollIntervalSeconds": 28800,
            "RetryPollIntervalSeconds": 300}
    if not v.has("unsigned_update"):
        write(etc / "artifact-verify-key.pem", pub.read_text())
        conf["ArtifactVerifyKey"] = "/etc/mender/artifact-verify-key.pem"
    write(etc / "mender.conf", json.dumps(conf, indent=1) + "\n")
    write(etc / "artifact_info", f"artifact_name={DEVICE_TYPE}-{version}\n")
    write(etc / "scripts" / "version", "3\n")
    if not v.has("downgrade_update"):
        write(etc / "scripts" / "Download_Leave_00_newer_only",
              NEWER_ONLY.format(fs=fs) + refuse_not_newer("artifact"), 0o755)
    write(fs / "var" / "lib" / "mender" / "device_type", f"device_type={DEVICE_TYPE}\n")
    (fs / "var" / "update").mkdir(parents=True, exist_ok=True)
    major, minor, patch = (int(x) for x in version.split("."))
    for what, ver in (("valid", f"{major}.{minor}.{patch + 1}"),
                      ("old", f"{major}.{max(minor - 1, 0)}.0")):
        artifact(key, ver, d / f"update-{what}.img", fs / "etc", f"{what} firmware {v.name}")
