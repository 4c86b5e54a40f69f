"""`harness ics template --type TYPE.yaml`: the ICS pro forma (EN 303 645 Annex B) for a device
type, as YAML the vendor completes and puts under `ics:` in the type. Every provision is
listed with its level and our wording; the status is filled in only where the type already
says it (a declaration `applies: false` → not_applicable with its justification, an ICS
entry already there) and otherwise left as `owed`, which the profile refuses until the
vendor answers: the template guesses nothing."""
from __future__ import annotations

import json

from harness.catalog import catalogs


def template(profile) -> str:
    cat = next(c for c in catalogs() if c.scheme == "etsi-en-303-645")
    lines = [f"# ICS for {profile.vendor} {profile.model} ({cat.title}): for each provision, "
             "status supported,",
             "# not_supported or not_applicable (the last two with a justification). An entry "
             "left 'owed' is",
             "# refused when the profile is loaded: answer it or delete the line. Mandatory "
             "provisions (M)",
             "# not supported make the product fail them.",
             "ics:"]
    for r in cat.requirements:
        have = profile.ics.get(r.id)
        decl = profile.declarations.get(r.id)
        if have is not None:
            entry = have.model_dump(exclude_defaults=True)
        elif decl is not None and not decl.applies:
            entry = {"status": "not_applicable", "justification": decl.justification}
        else:
            entry = {"status": "owed"}
        body = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items())
        lines.append(f"  {r.id}: {{{body}}}   # {r.level}: {r.title}")
    return "\n".join(lines) + "\n"


def add_parser(sub) -> None:
    p = sub.add_parser("ics", help="the ICS pro forma for a device type (EN 303 645 Annex B)")
    isub = p.add_subparsers(dest="ics_cmd", required=True)
    t = isub.add_parser("template", help="print the pro forma for a device type")
    t.add_argument("--type", required=True, dest="type_file", help="a device type profile")


def run(args) -> int:
    from harness.profile.loader import load_type
    profile = load_type(args.type_file)
    print(template(profile), end="")
    return 0
