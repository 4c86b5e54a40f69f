"""Requirements evaluated from the vendor's documents: present and complete → DECLARED."""
from harness.model import testcase

REQUIRED = {
    "vulnerability_disclosure": (("url", "document"), ("contact",), ("timelines",)),
    "support_period": (("end_date", "url", "document"),),
    "update_procedure": (("statement",), ("document", "url")),
    "data_deletion": (("statement",), ("document", "url")),
}


def _check(device, evidence, kind):
    decl = device.profile.declarations.get(kind)
    evidence.expect(f"{kind} declared", decl is not None, "a vendor declaration", None,
                    reason=f"the profile has no '{kind}' declaration")
    missing = [" or ".join(group) for group in REQUIRED[kind]
               if not any(getattr(decl, f) for f in group)]
    evidence.expect(f"{kind} complete", not missing, "all parts", decl.model_dump(),
                    reason=f"'{kind}' declaration lacks: {', '.join(missing)}")
    evidence.declared(f"declared by the vendor ({decl.document or decl.url}); "
                      "evaluated from documents, not verified on the device")


@testcase("TC-DECL-01", "A vulnerability disclosure policy with contact and timelines is published",
          ["ETSI-5.2-1", "JCSTAR-S1.1-05"])
def test_vulnerability_disclosure_declared(device, evidence):
    _check(device, evidence, "vulnerability_disclosure")


@testcase("TC-DECL-02", "The support period is published",
          ["ETSI-5.3-13", "JCSTAR-S1.1-15"])
def test_support_period_declared(device, evidence):
    _check(device, evidence, "support_period")


@testcase("TC-DECL-03", "Users are told how to update",
          ["ETSI-5.3-3", "ETSI-5.3-11", "JCSTAR-S1.1-07"])
def test_update_procedure_declared(device, evidence):
    _check(device, evidence, "update_procedure")


@testcase("TC-DECL-04", "Users are told how to erase their data",
          ["ETSI-5.11-1", "JCSTAR-S1.1-14"])
def test_data_deletion_declared(device, evidence):
    _check(device, evidence, "data_deletion")
