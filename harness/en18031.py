"""EN 18031-1 decided as the standard assesses it: per asset, each requirement through its
decision tree (harness/catalogs/en-18031-1-trees.yml), each node's answer and evidence kept.

The assets come from the device type when the run starts (`assets`): the equipment itself,
each network login (an authentication mechanism and the password it takes), each declared
service (a network function), the update mechanism, the stored credentials and the keys
the unit serves with. A tree's scope picks the assets it judges. Its nodes are the vendor's
justification that the requirement does not apply to an asset (`ixit.en18031`), our test
cases on the unit, or a step the lab takes itself. Test cases judge the unit as a whole;
those that try each login also record their outcome per login (Evidence.per_surface), and a
login asset takes its own from there; from the others it takes the unit's verdict.
A requirement's verdict on a device is the weakest of its assets' outcomes; with no asset in
scope it is NOT_APPLICABLE, saying which assets the tree looks for.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from harness import yamlsrc
from harness.catalog import CATALOG_DIR, derive
from harness.model.evidence import PER_SURFACE, UNIT
from harness.model.verdict import weakest

DATA = CATALOG_DIR / "en-18031-1-trees.yml"
# asset kinds, and which of them each scope judges
KINDS = {"equipment": "the equipment as a whole",
         "authentication": "an authentication mechanism and the password it takes",
         "network_function": "a network service the unit offers",
         "update": "the update mechanism",
         "stored": "credentials the unit keeps across power cycles",
         "cck": "a confidential cryptographic key (host key, TLS key)"}
SCOPES = {"equipment": ("equipment",), "network_equipment": ("equipment",),
          "network_reachable": ("authentication", "network_function"),
          "authentication": ("authentication",), "update": ("update",),
          "stored": ("stored", "cck"), "communicated": ("authentication", "update"),
          "cck": ("cck",)}
LAB = {"ui": "operate the product's own user interface",
       "physical": "open the housing, reach the storage and the board's interfaces",
       "document": "read the vendor's technical documentation",
       "observe": "watch the unit over its declared update interval",
       "fuzz": "send malformed input to each interface"}
NETWORK_EQUIPMENT = ("router", "hub")
ANSWERS = {"PASS": "yes", "FAIL": "no", "NOT_APPLICABLE": "does not apply on this unit",
           "DECLARED": "the vendor's document says so"}


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ask: str
    exempt: bool = False
    tests: list[str] = []
    lab: Literal["ui", "physical", "document", "observe", "fuzz", ""] = ""

    @model_validator(mode="after")
    def _one_way(self):
        if [self.exempt, bool(self.tests), bool(self.lab)].count(True) != 1:
            raise ValueError("a node is answered one way: exempt, tests or lab")
        return self


class Tree(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    requirement: str
    scope: Literal[tuple(SCOPES)]                     # type: ignore[valid-type]
    nodes: list[Node]

    @property
    def tests(self) -> list[str]:
        return [t for n in self.nodes for t in n.tests]


class Trees(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    standard: str
    version: str
    catalog: str
    source: str
    trees: list[Tree]


@lru_cache(maxsize=None)
def load(path: str = str(DATA)) -> Trees:
    return yamlsrc.validated(Trees, path)


def requirement_ids() -> list[str]:
    return [t.requirement for t in load().trees]


def assets(profile) -> list[dict]:
    """The unit's assets as EN 18031-1 sees them, from its profile: name and kind."""
    from harness import surfaces
    out = [{"name": "the equipment", "kind": "equipment"}]
    out += [{"name": f"login {s.name}", "kind": "authentication"}
            for s in surfaces.logins(profile) if s.kind != "serial"]
    out += [{"name": f"service {s.port}/{s.service}", "kind": "network_function"}
            for s in profile.declared_services]
    if profile.update:
        out.append({"name": f"update mechanism ({profile.update.kind})", "kind": "update"})
    if profile.secret_paths:
        out.append({"name": "stored credentials", "kind": "stored"})
    if profile.ssh:
        out.append({"name": "SSH host key", "kind": "cck"})
    if any(s.service == "https" for s in profile.declared_services):
        out.append({"name": "TLS server key", "kind": "cck"})
    return out


def _in_scope(tree: Tree, device: dict) -> tuple[list[dict], str]:
    if tree.scope == "network_equipment" and device["category"] not in NETWORK_EQUIPMENT:
        return [], f"not network equipment (category {device['category']})"
    kinds = SCOPES[tree.scope]
    found = [a for a in device.get("assets", []) if a["kind"] in kinds]
    return found, "" if found else "no asset in scope: " + "; ".join(KINDS[k] for k in kinds)


def _on_login(r: dict, asset: dict, logins: set[str]) -> tuple[str, str] | None:
    """What the test case recorded for this asset's login surface (its per-surface
    outcomes: harness.model.evidence.per_surface), None when it recorded none: then the test
    case's verdict on the unit is this login's too. A FAIL on no login asset of the unit
    (UNIT, or a surface that is not an asset: the serial console) is every login's."""
    if asset["kind"] != "authentication":
        return None
    own = asset["name"].removeprefix("login ")
    recorded = [e.get("observed") or {} for e in r.get("evidence") or []
                if e.get("check") == PER_SURFACE]
    if not recorded:
        return None
    got = [(per[own]["verdict"], per[own]["why"] or "", own) for per in recorded if own in per]
    got += [("FAIL", o["why"] or "", "the unit" if k == UNIT else k) for per in recorded
            for k, o in per.items() if k not in logins and o["verdict"] == "FAIL"]
    if not got:                               # judged per login, but not this one
        return ("NOT_RUN", f"on {own}: not judged (the test case's outcome: "
                f"{r['verdict']})") if r["verdict"] != "PASS" else None
    v = weakest([g[0] for g in got])
    why, where = next((w, k) for g, w, k in got if g == v)
    return v, why if why.startswith(f"{where}:") else f"on {where}: {why}"


def _tests_answer(node: Node, by_test: dict, asset: dict, logins: set[str]):
    verdicts, evidence = [], []
    for t in node.tests:
        r = by_test.get(t)
        v = r["verdict"] if r else "NOT_RUN"
        why = (r.get("reason") or "") if r else "not in this run"
        own = _on_login(r, asset, logins) if r and v != "ERROR" else None
        if own:                       # the test case's outcome on this very login
            v, why = own
        verdicts.append(v)
        evidence.append(f"{t}: {v}" + (f" ({why[:200]})" if why else ""))
    return derive(verdicts, True), evidence


def assess(tree: Tree, asset: dict, by_test: dict, exemptions: dict,
           logins: set[str] = frozenset()) -> dict:
    """One asset through one tree: the path of nodes with the answer and evidence at each,
    and the outcome. `logins`: the unit's login assets (a failure recorded on none of them
    is every login's)."""
    path, decided = [], []
    justified = exemptions.get(asset["name"]) or exemptions.get("*")
    exempt = [(f"DN-{i}", n.ask) for i, n in enumerate(tree.nodes, 1) if n.exempt]
    if justified and exempt:       # which condition it meets is the lab's to judge
        path.append({"node": ", ".join(i for i, _ in exempt),
                     "ask": " Or: ".join(a for _, a in exempt), "answer": "yes",
                     "by": "the vendor (IXIT)", "evidence": [justified]})
        return {"asset": asset["name"], "kind": asset["kind"], "path": path,
                "outcome": "NOT_APPLICABLE", "why": f"the vendor: {justified}"}
    for i, node in enumerate(tree.nodes, 1):
        step = {"node": f"DN-{i}", "ask": node.ask}
        if node.exempt:
            path.append({**step, "answer": "no", "by": "the vendor (IXIT)",
                         "evidence": ["no justification given"]})
            continue
        if node.lab:
            decided.append("NOT_RUN")
            path.append({**step, "answer": "not answered here", "by": "the lab",
                         "evidence": [f"lab step: {LAB[node.lab]}"]})
            continue
        v, evidence = _tests_answer(node, by_test, asset, set(logins))
        decided.append(v)
        path.append({**step, "answer": ANSWERS.get(v, f"undecided ({v})"),
                     "by": "test cases on the unit", "evidence": evidence})
        if v == "FAIL":
            break
    outcome = derive(decided, True)
    why = next((e for s in path if s["answer"] == "no" and s["by"] != "the vendor (IXIT)"
                for e in s["evidence"]), "")
    return {"asset": asset["name"], "kind": asset["kind"], "path": path, "outcome": outcome,
            "why": why}


def view(run: dict, trees: Trees | None = None) -> dict:
    """The run's EN 18031-1 view: per requirement, each device's assets in scope with the
    tree's path for each, and the requirement's verdict per device."""
    from harness.catalog import catalogs
    trees = trees or load()
    cat = next(c for c in catalogs() if c.scheme == trees.catalog)
    titles = {r.id: r.title for r in cat.requirements}
    reqs = []
    # per device, once: its results by test case and its login assets
    units = [(d, {r["test_id"]: r for r in d["results"]},
              {a["name"].removeprefix("login ") for a in d.get("assets", [])
               if a["kind"] == "authentication"}) for d in run["devices"]]
    for tree in trees.trees:
        rid = f"EN18031-{tree.requirement}"
        per_device, verdicts = {}, {}
        for d, by_test, logins in units:
            found, none = _in_scope(tree, d)
            exemptions = (d.get("en18031") or {}).get(tree.requirement, {})
            rows = [assess(tree, a, by_test, exemptions, logins) for a in found]
            per_device[d["name"]] = {"assets": rows, "none_in_scope": none}
            verdicts[d["name"]] = weakest([r["outcome"] for r in rows]) if rows \
                else "NOT_APPLICABLE"
        reqs.append({"id": rid, "requirement": tree.requirement,
                     "mechanism": tree.requirement.split("-")[0], "title": titles.get(rid, ""),
                     "scope": tree.scope, "devices": per_device, "verdicts": verdicts})
    return {"standard": trees.standard, "version": trees.version, "requirements": reqs}


def decide_scheme(schemes: list[dict], tree_view: dict) -> None:
    """The EN 18031-1 scheme view takes each requirement's verdict from its trees (a
    vendor's justification can make it NOT_APPLICABLE for an asset; the test cases alone
    cannot see that) and, as `tree`, each asset's outcome per device."""
    scheme = next((s for s in schemes if s["scheme"] == "en-18031-1"), None)
    if not scheme:
        return
    by_id = {q["id"]: q for q in tree_view["requirements"]}
    for q in scheme["requirements"]:
        tree = by_id.get(q["id"])
        if not tree:
            continue
        for name, v in tree["verdicts"].items():
            rows = tree["devices"][name]
            q.setdefault("tree", {})[name] = rows["none_in_scope"] or "; ".join(
                f"{r['asset']}: {r['outcome']}" + (f" ({r['why']})" if r["why"] else "")
                for r in rows["assets"])
            if q["verdicts"].get(name) != v:
                q["verdicts"][name] = v
                if v in ("PASS", "NOT_APPLICABLE"):
                    q["not_tested"].pop(name, None)


def coverage(trees: Trees | None = None) -> dict:
    """The trees by how their nodes are answered, and how many requirements our test cases
    can decide on the unit alone (no node left to the lab)."""
    trees = trees or load()
    nodes = {"exempt": 0, "tests": 0, "lab": 0}
    for t in trees.trees:
        for n in t.nodes:
            nodes["exempt" if n.exempt else "lab" if n.lab else "tests"] += 1
    return {"standard": f"{trees.standard}:{trees.version}", "requirements": len(trees.trees),
            "mechanisms": len({t.requirement.split("-")[0] for t in trees.trees}),
            "nodes": nodes,
            "decided_on_the_unit": sum(not any(n.lab for n in t.nodes) for t in trees.trees),
            "with_a_lab_step": [t.requirement for t in trees.trees
                                if any(n.lab for n in t.nodes)]}
