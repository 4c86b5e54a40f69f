"""The telemetry a unit sends, as the vendor's broker receives it: subscribed with the lab's
own account to the declared topic, bounded in time (twice the declared interval) and count,
and compared item by item with what the vendor declares."""
from __future__ import annotations

import json
import time

from harness.probe.remote import mqtt_session, topic_of

MAX_MESSAGES = 20


def collect(device, seconds: float) -> tuple[str, list[bytes]]:
    """(topic, payloads) received within `seconds` (or until MAX_MESSAGES)."""
    topic = topic_of(device, device.profile.telemetry.topic)
    s = mqtt_session(device)
    try:
        if not s.subscribe(topic):
            return topic, []
        end = time.monotonic() + seconds
        got: list[bytes] = []
        while time.monotonic() < end and len(got) < MAX_MESSAGES:
            got = s.wait_for(topic, min(1.0, max(0.0, end - time.monotonic())))
            if len(got) >= 2:                    # two messages: the items settle
                break
            time.sleep(0.2)
        return topic, got[:MAX_MESSAGES]
    finally:
        s.close()


def compare(payloads: list[bytes], declared: list[str]) -> dict:
    """Items seen (top-level keys of the JSON objects), the undeclared ones, and payloads
    that are not JSON objects."""
    seen, not_json = set(), []
    for p in payloads:
        try:
            doc = json.loads(p)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            seen |= set(doc)
        else:
            not_json.append(p[:80].decode("utf-8", "replace"))
    return {"messages": len(payloads), "items": sorted(seen),
            "undeclared": sorted(seen - set(declared)), "not_declared_but_missing":
            sorted(set(declared) - seen), "not_json": not_json[:3]}
