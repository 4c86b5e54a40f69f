"""The vendor's IXIT answers judged on their content (ETSI TS 103 701's conceptual test
units): each enumerated answer is held against the provision's criterion. An answer that
meets it → DECLARED (the design conforms; the unit's behaviour is for the device tests); one
that does not → FAIL (the vendor's own design breaks the provision); one left out → NOT_RUN,
naming what is owed. Which TS units each judges: harness/catalogs/ts-103-701-v1.1.1.yml."""
from harness.errors import NotApplicable, NotRun
from harness.model import testcase

# answer -> None (meets the criterion) or why it does not
PASSWORDS = {"unique_per_device": None, "user_defined_at_setup": None, "no_passwords": None,
             "same_for_all": "one password for every unit is a universal default password"}
GENERATION = {"random": None, "keyed_derivation": None,
              "derived_from_identifier": "derived from an identifier alone: whoever reads "
                                         "the serial or MAC knows the password",
              "counter": "incremental passwords are guessed from one unit's",
              "public_information": "built from public information (model, SSID)"}
BRUTE_FORCE = {"lockout": None, "growing_delay": None, "rate_limit": None,
               "none": "nothing stops guessing over the network"}
AUTHENTICITY = {"signature_verified_on_device": None,
                "channel_only": "the unit installs whatever the channel delivers: an image "
                                "from a compromised server or a local upload is not checked",
                "none": "updates are installed unchecked"}
TRUST = {"authenticated_server_and_signed_images": None, "authenticated_server": None,
         "signed_images": None, "none": "no trust relation: any server's update is taken"}


def _judge(evidence, table: str, answers: list[tuple[str, str | None, dict]]):
    owed = [f"{table}.{field}" for field, value, _ in answers if value is None]
    for field, value, criterion in answers:
        if value is not None:
            bad = criterion[value]
            evidence.expect(f"{table}.{field}", bad is None, "an answer that meets the "
                            f"criterion ({', '.join(k for k, v in criterion.items() if v is None)})",
                            value, reason=f"IXIT {table}.{field} = {value}: {bad}")
    if owed:
        evidence.record("IXIT answers owed", owed)
        raise NotRun("IXIT answer owed: " + ", ".join(owed))
    evidence.declared(f"the IXIT's {table} answers meet the criteria (judged from the "
                      "vendor's answers, not verified on the device)")


@testcase("TC-IXIT-01", "The IXIT's password design meets the provisions (unique, well made, "
          "guessing stopped)", evaluated="documents")
def test_password_design(device, evidence):
    a = device.profile.ixit.auth_mech
    if a.password_mechanism == "no_passwords":
        evidence.record("auth_mech.password_mechanism", a.password_mechanism)
        raise NotApplicable("the vendor's IXIT: the product has no password-based login")
    answers = [("password_mechanism", a.password_mechanism, PASSWORDS),
               ("brute_force_protection", a.brute_force_protection, BRUTE_FORCE)]
    if a.password_mechanism in (None, "unique_per_device"):
        answers.insert(1, ("password_generation", a.password_generation, GENERATION))
    _judge(evidence, "auth_mech", answers)


@testcase("TC-IXIT-02", "The IXIT's update design checks each image and trusts only the "
          "vendor", evaluated="documents")
def test_update_design(device, evidence):
    u = device.profile.ixit.upd_mech
    _judge(evidence, "upd_mech", [("authenticity", u.authenticity, AUTHENTICITY),
                                  ("trust_relation", u.trust_relation, TRUST)])
