"""Telemetry as declared (TC-TELEM-01's pure parts; the matrix proves it on the emulated
heaters' real MQTT traffic: appliance-1 PASS, appliance-open FAIL)."""
import json

import pytest
from pydantic import ValidationError

from harness.probe.telemetry import compare
from harness.profile.ixit import Telemetry


def test_items_are_compared_with_the_declared_ones():
    msgs = [json.dumps({"temperature_c": 20.5, "heating": True}).encode(),
            json.dumps({"temperature_c": 21.0, "wifi_ssid": "home"}).encode(), b"on"]
    seen = compare(msgs, ["temperature_c", "heating", "uptime_s"])
    assert seen["items"] == ["heating", "temperature_c", "wifi_ssid"]
    assert seen["undeclared"] == ["wifi_ssid"] and seen["not_json"] == ["on"]
    assert seen["not_declared_but_missing"] == ["uptime_s"]
    assert compare([], ["x"])["messages"] == 0


def test_a_product_that_sends_telemetry_declares_topic_and_fields():
    with pytest.raises(ValidationError, match="topic and its fields"):
        Telemetry(sends=True, topic="t")
    assert Telemetry(sends=False).fields == []


def test_applicability_follows_the_declaration():
    from types import SimpleNamespace
    from harness.errors import Missing
    from harness.profile.applicability import telemetry
    none = SimpleNamespace(telemetry=None, mqtt=None)
    assert isinstance(telemetry(none), Missing)
    assert "sends no telemetry" in telemetry(SimpleNamespace(telemetry=Telemetry(sends=False),
                                                             mqtt=None))
    t = Telemetry(topic="t", fields=["a"])
    assert isinstance(telemetry(SimpleNamespace(telemetry=t, mqtt=None)), Missing)
    assert telemetry(SimpleNamespace(telemetry=t, mqtt=object())) is None
