"""Telemetry (ETSI EN 303 645 6-5, TS 103 701 6-5-2c): what the unit sends is what the vendor
declares."""
from harness.errors import Inconclusive
from harness.model import testcase
from harness.probe import telemetry
from harness.profile import applicability as a


@testcase("TC-TELEM-01", "Telemetry carries only the data items the vendor declares",
          steps=["subscribe with the lab's account to the declared telemetry topic on the "
                 "unit's broker and listen for twice the declared interval (bounded)",
                 "no message is INCONCLUSIVE: nothing was compared (the positive control)",
                 "each message's items (JSON keys) must be among the declared ones; an "
                 "undeclared item is a FAIL"],
          applies=[a.telemetry])
def test_telemetry_is_as_declared(device, evidence):
    t = device.profile.telemetry
    topic, payloads = telemetry.collect(device, 2 * t.interval)
    seen = telemetry.compare(payloads, t.fields)
    evidence.record("telemetry received", {"topic": topic, "declared": t.fields,
                                           "purpose": t.purpose, **seen})
    if not payloads:
        raise Inconclusive(f"no telemetry on {topic} within {2 * t.interval:.0f}s (twice the "
                           "declared interval): nothing to compare")
    if seen["not_json"]:
        raise Inconclusive(f"{len(seen['not_json'])} message(s) on {topic} are not JSON "
                           "objects, so their items cannot be compared with the declared ones")
    evidence.expect("only declared telemetry items", not seen["undeclared"], t.fields,
                    seen["items"], reason="the unit sends data items the vendor does not "
                    f"declare: {', '.join(seen['undeclared'])}")
