"""Progress display logic (pure; the lab test checks it in a real run's log)."""
import io

from harness.runner.progress import Progress, fmt_time, wants_live


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_plain_lines_name_device_test_case_counts_and_time():
    lines, clock = [], Clock()
    p = Progress({"router-1": 3, "camera-1": 1}, lines.append, clock=clock,
                 documents={"TC-DECL-01"})
    p.started("router-1", "TC-SURF-01")
    clock.t += 65
    p.finished("router-1", "TC-SURF-01", "FAIL", 65.0, "telnet open")
    p.started("router-1", "TC-DECL-01")           # declaration checks: no "running" line
    p.finished("router-1", "TC-DECL-01", "DECLARED", 0.01)
    p.started("camera-1", "TC-AUTH-01")
    p.finished("camera-1", "TC-AUTH-01", "PASS", 2.0)
    assert lines[0].startswith("[    0s] router-1") and "TC-SURF-01" in lines[0]
    assert "running (1/3)" in lines[0]
    assert "[ 1m05s] router-1" in lines[1] and "FAIL" in lines[1]
    assert "[1/3: FAIL 1]" in lines[1] and "— telnet open" in lines[1]
    assert not any("TC-DECL-01" in line and "running" in line for line in lines)
    assert "[2/3: FAIL 1 · documents DECLARED 1]" in lines[2]
    summary = p.summary_lines()
    assert summary[0].startswith("router-1") and "2/3" in summary[0]
    assert "camera-1" in summary[1] and "1/1" in summary[1] and "PASS 1" in summary[1]


def test_live_only_on_a_terminal_and_never_under_ci():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    assert wants_live(Tty(), env={})
    assert not wants_live(Tty(), env={"CI": "true"})
    assert not wants_live(io.StringIO(), env={})


def test_live_table_renders_every_device():
    out = io.StringIO()
    p = Progress({"router-1": 2, "camera-1": 2}, lambda line: None, live_stream=out,
                 clock=Clock())
    p.started("router-1", "TC-SURF-01")
    p.finished("router-1", "TC-SURF-01", "ERROR", 1.0, "device hung")
    p.close()
    text = out.getvalue()
    assert "router-1" in text and "camera-1" in text and "ERROR 1" in text
    assert "device hung" in text              # problems also print above the table


def test_fmt_time():
    assert fmt_time(5.4) == "5s" and fmt_time(125) == "2m05s"
