"""Backing off (harness.probe.patience): which failures are waited out and which are not.
Pure logic; the proof on a device is the matrix (camera-mjpeg's password change restarts
motion's TLS stream, TC-BRUTE-01 on the throttling units)."""
import pytest

from harness.errors import DeviceError, Throttled
from harness.probe.patience import Patience, throttle_like


def flaky(failures):
    left = list(failures)

    def call(x):
        if left:
            raise left.pop(0)
        return x
    return call


@pytest.mark.parametrize("msg", [
    "https:198.18.0.33:8081: GET /: EOF occurred in violation of protocol (_ssl.c:2427)",
    "ssh:198.18.0.2:22: Connection refused", "http: Connection reset by peer"])
def test_restart_signs_are_waited_out(msg):
    p = Patience(budget=1, first=0.01)
    assert throttle_like(DeviceError(msg))
    assert p.call(flaky([DeviceError(msg)] * 2), "ok") == "ok"
    assert len(p.events) == 2 and msg[:40] in p.events[0]["sign"]


def test_other_errors_at_once_and_budget_bounds_the_wait():
    bad = DeviceError("certificate verify failed")
    assert not throttle_like(bad)
    with pytest.raises(DeviceError, match="verify failed"):
        Patience(budget=1, first=0.01).call(flaky([bad]), "x")
    p = Patience(budget=0.05, first=0.02)
    with pytest.raises(Throttled, match="still throttled"):
        p.call(flaky([DeviceError("Connection refused")] * 50), "x")
    assert p.waited <= 0.05
