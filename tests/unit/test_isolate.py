"""harness.runner.isolate.forked: a step in a process of its own gives back its result or its
exception; one that dies or outlasts its bound is the device's error, and is gone after."""
import os
import signal
import time

import pytest

from harness.errors import DeviceError, TransportTimeout
from harness.runner.isolate import forked


def _pid_and(x):
    return os.getpid(), x * 2


def _raise():
    raise DeviceError("tls: no answer")


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _hang(path):
    with open(path, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(60)


def test_result_comes_back_from_another_process():
    pid, value = forked("doubling", _pid_and, 21, timeout=900)
    assert value == 42 and pid != os.getpid()


def test_the_steps_exception_is_raised_here():
    with pytest.raises(DeviceError, match="tls: no answer"):
        forked("scan", _raise, timeout=900)


def test_a_step_that_dies_is_a_device_error():
    with pytest.raises(DeviceError, match=r"scan: its process died \(signal SIGKILL\)"):
        forked("scan", _die, timeout=900)


def test_a_step_past_its_bound_is_killed(tmp_path):
    with pytest.raises(TransportTimeout, match="scan did not finish in 1s"):
        forked("scan", _hang, tmp_path / "pid", timeout=1)
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):          # killed and reaped
        os.kill(pid, 0)
