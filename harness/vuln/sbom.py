"""The vendor's SBOM (CycloneDX or SPDX JSON) as inventory components.

Parsed with the formats' maintained libraries (cyclonedx-python-lib, spdx-tools); each
component keeps the SBOM's file name as its source, and its purl and CPE where given.
"""
from __future__ import annotations

from pathlib import Path

from harness.errors import InputError
from harness.vuln.feeds import read_json
from harness.vuln.match import DISTROS, Component, component

MAX_SBOM = 64 << 20


def _from_ids(name: str, version: str, source: str, purl: str = "", cpe: str = "") -> Component:
    ecosystem, source_pkg = "", ""
    if purl:
        from packageurl import PackageURL
        p = PackageURL.from_string(purl)
        name, version = p.name or name, p.version or version
        if p.type in ("deb", "apk", "rpm") and (p.namespace or "").lower() in DISTROS:
            ecosystem = DISTROS[p.namespace.lower()]
            source_pkg = (p.qualifiers or {}).get("upstream", "").split("@")[0]
        elif p.type == "opkg" or (p.namespace or "").lower() == "openwrt":
            ecosystem = "OpenWrt"
    vp = ""
    if cpe:
        parts = cpe.replace("cpe:/", "cpe:2.3:").split(":")
        if len(parts) > 5:
            vp = f"{parts[3]}:{parts[4]}".lower()
            version = version or (parts[5] if parts[5] not in ("*", "-") else "")
    return component(name, version, source, ecosystem=ecosystem, cpe=vp,
                     source_package=source_pkg, purl=purl)


def _cyclonedx(data: dict, source: str, file: str) -> list[Component]:
    from cyclonedx.model.bom import Bom
    try:
        bom = Bom.from_json(data)   # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - the library raises many kinds
        raise InputError(f"not a valid CycloneDX document: {exc}", file) from None
    out, stack = [], list(bom.components)
    while stack:
        c = stack.pop()
        stack.extend(c.components or [])
        out.append(_from_ids(c.name, c.version or "", source,
                             str(c.purl) if c.purl else "", c.cpe or ""))
    return out


def _spdx(path: Path, source: str) -> list[Component]:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    try:
        doc = parse_file(str(path))
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"not a valid SPDX document: {exc}", str(path)) from None
    out = []
    for p in doc.packages:
        purl = next((r.locator for r in p.external_references if r.reference_type == "purl"), "")
        cpe = next((r.locator for r in p.external_references
                    if r.reference_type in ("cpe23Type", "cpe22Type")), "")
        out.append(_from_ids(p.name, p.version or "", source, purl, cpe))
    return out


def components(path: Path) -> list[Component]:
    """Every component the SBOM lists; InputError (file, field) when it is not a CycloneDX
    or SPDX JSON document."""
    if path.is_file() and path.stat().st_size > MAX_SBOM:
        raise InputError(f"larger than {MAX_SBOM >> 20} MiB", str(path))
    data = read_json(path)
    source = f"sbom: {path.name}"
    if isinstance(data, dict) and data.get("bomFormat") == "CycloneDX":
        return _cyclonedx(data, source, str(path))
    if isinstance(data, dict) and "spdxVersion" in data:
        return _spdx(path, source)
    raise InputError("neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON", str(path),
                     None, "bomFormat")

