"""Software components and the advisories that affect them.

Two kinds of version, never mixed:
- a distribution's package version (Debian, Alpine, ...: the package list, a purl of that
  type) is matched only against advisories for that distribution (OSV ecosystem), with the
  distribution's own version ordering: distributions back-port fixes without changing the
  upstream version, so an upstream range would report fixed packages as vulnerable;
- an upstream version (a banner without a distribution revision, a daemon's --version,
  OpenWrt packages, an SBOM's generic/CPE entries) is matched against upstream ranges (NVD
  CPE criteria, OSV entries without a distribution ecosystem).
Version ordering comes from univers (the ecosystem's own rules), never string comparison.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

DISTROS = {"debian": "Debian", "ubuntu": "Ubuntu", "alpine": "Alpine", "rocky": "Rocky Linux",
           "redhat": "Red Hat", "almalinux": "AlmaLinux"}


@dataclass
class Component:
    name: str                       # as the source names it (package, product)
    version: str
    source: str                     # where it was seen: "nmap -sV tcp/443", "dpkg", "sbom: x.json"
    product: str = ""               # canonical product (data/products.yaml), "" when unknown
    ecosystem: str = ""             # a distribution ("Debian") or "" for upstream versions
    source_package: str = ""        # the distribution's source package, when known
    cpe: str = ""                   # vendor:product
    purl: str = ""
    matchable: bool = True
    note: str = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None) or k == "version"}


@lru_cache(maxsize=1)
def products() -> dict:
    text = resources.files("harness").joinpath("data/products.yaml").read_text()
    return yaml.safe_load(text)


def product_of(name: str = "", cpe: str = "") -> str:
    """Canonical product for a package name or a vendor:product CPE; '' when unknown."""
    name, cpe = name.lower(), cpe.lower()
    for product, info in products().items():
        if cpe and cpe in info.get("cpe", []) or name and (name == product or
                                                           name in info.get("packages", [])):
            return product
    return ""


def component(name: str, version: str, source: str, *, ecosystem: str = "", cpe: str = "",
              source_package: str = "", purl: str = "", distro_rev: str = "") -> Component:
    """A component, identified as far as the names allow. A version with a distribution's
    revision seen outside the package list (a banner, --version) cannot be matched: the
    epoch and back-ports are unknown there; the package list decides for it."""
    product = product_of(name, cpe) or product_of(source_package)
    c = Component(name, version, source, product, ecosystem, source_package,
                  cpe or (products().get(product, {}).get("cpe") or [""])[0], purl)
    if distro_rev:
        c.version, c.matchable = f"{version} ({distro_rev})", False
        c.note = ("a distribution build: fixes may be back-ported, so upstream ranges do not "
                  "apply; the package list decides")
    return c


def from_text(text: str, source: str, kind: str = "banner") -> list[Component]:
    """Components named in a banner or a version command's output."""
    out = []
    for product, info in products().items():
        rx = info.get(kind if kind == "banner" else "version_output")
        m = re.search(rx, text) if rx else None
        if m:
            g = m.groupdict()
            rev = " ".join(x for x in (g.get("distro"), g.get("rev")) if x)
            out.append(component(product, g["v"], source, distro_rev=rev))
    return out


# ------------------------------------------------------------------ version ordering
def _version_class(ecosystem: str):
    from univers import versions as uv
    base = ecosystem.split(":")[0].lower()
    return {"debian": uv.DebianVersion, "ubuntu": uv.DebianVersion,
            "alpine": uv.AlpineLinuxVersion, "rocky linux": uv.RpmVersion,
            "red hat": uv.RpmVersion, "almalinux": uv.RpmVersion}.get(base, uv.GenericVersion)


def _upstream(version: str, ecosystem: str) -> str:
    """OpenWrt and similar build numbers ('2019.78-2'): the upstream part."""
    if ecosystem.lower() == "openwrt":
        return re.sub(r"-\d+$", "", version)
    return version


def in_range(version: str, rng: dict, cls) -> bool:
    v = cls(version)
    if rng.get("start"):
        s = cls(rng["start"])
        if v < s or (v == s and not rng.get("start_incl", True)):
            return False
    if rng.get("end"):
        e = cls(rng["end"])
        if v > e or (v == e and not rng.get("end_incl", False)):
            return False
    return True


def _affects(c: Component, a: dict) -> str:
    """The matching rule, as text, when advisory entry `a` covers component `c`; ''."""
    eco = a.get("ecosystem", "")
    base = eco.split(":")[0]
    distro = base in DISTROS.values()
    if distro:
        if c.ecosystem != base or a["package"] not in (c.name, c.source_package):
            return ""
        version, how = c.version, f"{eco} package {a['package']}"
    else:
        if c.ecosystem in DISTROS.values():
            return ""
        names = {c.cpe} | set(products().get(c.product, {}).get("cpe", []))
        if a.get("cpe"):
            if a["cpe"] not in names:
                return ""
            how = f"CPE {a['cpe']}"
        elif a.get("package") and product_of(a["package"]) == c.product and c.product:
            how = f"{eco or 'upstream'} package {a['package']}"
        else:
            return ""
        version = _upstream(c.version, c.ecosystem)
    cls = _version_class(eco if distro else "")
    try:
        if version in a.get("versions", []):
            return f"{how}: version {version} listed"
        for r in a.get("ranges", []):
            if in_range(version, r, cls):
                lo = f"{'>=' if r.get('start_incl', True) else '>'}{r['start']}" if r.get("start") \
                    else ""
                hi = f"{'<=' if r.get('end_incl') else '<'}{r['end']}" if r.get("end") else ""
                return f"{how}: {version} in [{' '.join(x for x in (lo, hi) if x) or 'all'}]"
    except Exception:  # noqa: BLE001 - univers raises various errors on odd versions
        return ""
    return ""


@dataclass
class Match:
    component: Component
    advisory: str
    cves: list[str]
    cvss: float | None
    summary: str
    feed: str
    rule: str
    kev: dict | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"component": f"{self.component.name} {self.component.version}",
                "source": self.component.source, "advisory": self.advisory, "cves": self.cves,
                "cvss": self.cvss, "summary": self.summary, "feed": self.feed, "rule": self.rule,
                "known_exploited": bool(self.kev),
                **({"kev": self.kev} if self.kev else {})}


def _keys(a: dict) -> list[tuple]:
    base = a.get("ecosystem", "").split(":")[0]
    if base in DISTROS.values():
        return [(base, a["package"])]
    if a.get("cpe"):
        return [("cpe", a["cpe"])]
    return [("product", product_of(a["package"]))] if a.get("package") else []


def index(db) -> dict:
    """Advisory entries by lookup key: a full NVD or OSV export holds 10^5 advisories."""
    idx: dict = {}
    for adv in db.advisories:
        for a in adv["affected"]:
            for k in _keys(a):
                idx.setdefault(k, []).append((adv, a))
    return idx


def _candidates(c: Component, idx: dict) -> list:
    if c.ecosystem in DISTROS.values():
        keys = {(c.ecosystem, c.name), (c.ecosystem, c.source_package)}
    else:
        keys = {("cpe", n) for n in {c.cpe} | set(products().get(c.product, {}).get("cpe", []))}
        keys.add(("product", c.product))
    return [x for k in keys if k[1] for x in idx.get(k, [])]


def match(components: list[Component], db) -> list[Match]:
    idx, out = db.index, []
    for c in components:
        if not c.matchable or not c.version:
            continue
        seen = set()
        for adv, a in _candidates(c, idx):
            if adv["id"] in seen:
                continue
            rule = _affects(c, a)
            if rule:
                seen.add(adv["id"])
                kev = next((dict(db.kev[x], cve=x) for x in adv["cves"] if x in db.kev), None)
                out.append(Match(c, adv["id"], adv["cves"], adv.get("cvss"),
                                 adv.get("summary", ""), adv.get("feed", ""), rule, kev))
    return out
