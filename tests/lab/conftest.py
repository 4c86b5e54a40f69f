"""What the tests that read the detection matrix's run share."""
import pytest


@pytest.fixture(scope="module")
def matrix_run(matrix_in_background):
    out, run = matrix_in_background
    proc = run.result()
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return out, proc
