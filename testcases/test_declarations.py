"""Requirements evaluated from the vendor's documents (ETSI TS 103 701's conceptual
assessments, JC-STAR's document-evaluated items): the declaration must be present and
complete → DECLARED, never PASS. A declaration with `applies: false` and a justification
→ NOT_APPLICABLE (for an EN 303 645 provision that is the ICS's not_applicable: one answer,
whichever the vendor wrote)."""
from harness.errors import NotApplicable
from harness.catalog import declaration_requirements
from harness.model import testcase

REQUIRED = {
    "vulnerability_disclosure": (("url", "document"), ("contact",), ("timelines",)),
    "support_period": (("end_date", "url", "document"),),
    "update_procedure": (("statement",), ("document", "url")),
    "data_deletion": (("statement",), ("document", "url")),
}
GENERIC = (("statement",), ("document", "url"))


def _check(device, evidence, kind):
    ics = device.profile.ics.get(kind)      # an EN 303 645 provision: the ICS says what applies
    if ics is not None and ics.status == "not_applicable":
        evidence.record("the vendor's ICS", ics.model_dump())
        raise NotApplicable(f"ICS: not applicable: {ics.justification}")
    decl = device.profile.declarations.get(kind)
    groups = REQUIRED.get(kind, GENERIC)
    missing = [" or ".join(group) for group in groups
               if decl is None or not any(getattr(decl, f) for f in group)]
    if decl is not None and not decl.applies:
        missing = [] if decl.justification else ["justification"]
    if missing:                                  # what the vendor still owes, for the report
        evidence.record("declaration needed", {"key": kind, "missing": missing})
    evidence.expect(f"{kind} declared", decl is not None, "a vendor declaration",
                    {"document": decl.document, "url": decl.url} if decl is not None
                    else "none in the profile",
                    reason=f"the profile has no '{kind}' declaration")
    if not decl.applies:
        evidence.expect("justification given", bool(decl.justification), "a justification",
                        decl.model_dump(), reason=f"'{kind}' declared not applicable "
                                                  "without a justification")
        raise NotApplicable(f"declared not applicable: {decl.justification}")
    evidence.expect(f"{kind} complete", not missing, "all parts", decl.model_dump(),
                    reason=f"'{kind}' declaration lacks: {', '.join(missing)}")
    evidence.declared(f"declared by the vendor ({decl.document or decl.url}); "
                      "evaluated from documents, not verified on the device")


@testcase("TC-DECL-01", "A vulnerability disclosure policy with contact and timelines is published", evaluated="documents")
def test_vulnerability_disclosure_declared(device, evidence):
    _check(device, evidence, "vulnerability_disclosure")


@testcase("TC-DECL-02", "The support period is published", evaluated="documents")
def test_support_period_declared(device, evidence):
    _check(device, evidence, "support_period")


@testcase("TC-DECL-03", "Users are told how to update", evaluated="documents")
def test_update_procedure_declared(device, evidence):
    _check(device, evidence, "update_procedure")


@testcase("TC-DECL-04", "Users are told how to erase their data", evaluated="documents")
def test_data_deletion_declared(device, evidence):
    _check(device, evidence, "data_deletion")


# Provisions no probe can decide on a device: one declaration check each, keyed by the
# requirement id in the profile's `declarations:` (statement + document or URL). Which ones:
# every catalog requirement that lists its own TC-DECL-<id> (the catalogs are the source).
DOCUMENT_ONLY = declaration_requirements()


def _remote_operation(p):
    return None if p.remote_operation else "the product is not operated remotely"


def _network_equipment(p):
    from harness.en18031 import NETWORK_EQUIPMENT
    return None if p.category in NETWORK_EQUIPMENT else "not network equipment"


APPLIES = {"SMARK": [_remote_operation], "EN18031-RLM-1": [_network_equipment],
           "EN18031-NMM-1": [_network_equipment], "EN18031-TCM-1": [_network_equipment]}


def _declaration_test(rid):
    applies = APPLIES.get(rid, APPLIES.get(rid.split("-")[0], []))

    @testcase(f"TC-DECL-{rid}", f"Vendor declaration for {rid}", applies=applies,
              evaluated="documents")
    def test_declared(device, evidence):
        _check(device, evidence, rid)
    test_declared.__name__ = "test_declared_" + rid.replace("-", "_").replace(".", "_")
    return test_declared


for _rid in DOCUMENT_ONLY:
    _fn = _declaration_test(_rid)
    globals()[_fn.__name__] = _fn
