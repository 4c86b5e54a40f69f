"""The QMP client of the QEMU units (harness/emulate/qemu.py): the greeting, the capabilities
handshake, events skipped, an error passed on, silence bounded. A stand-in socket for the
protocol's logic; the proof on QEMU itself is tests/lab/test_qemu_units.py (power goes off
through QMP)."""
import json
import socket
import threading

import pytest

from harness.emulate import qemu


def serve(tmp_path, replies):
    """A QMP-like server on tmp_path/qmp.sock: the greeting, then per command the lines of
    `replies` (a list per command; None: say nothing)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(tmp_path / "qmp.sock"))
    srv.listen(1)
    seen = []

    def run():
        conn, _ = srv.accept()
        f = conn.makefile("rwb")
        f.write(b'{"QMP": {"version": {}, "capabilities": []}}\n')
        f.flush()
        for lines in replies:
            seen.append(json.loads(f.readline())["execute"])
            if lines is None:
                continue
            for line in lines:
                f.write(json.dumps(line).encode() + b"\n")
            f.flush()
        f.readline()
        conn.close()
        srv.close()
    threading.Thread(target=run, daemon=True).start()
    return seen


def test_events_are_skipped_and_the_answer_returned(tmp_path):
    seen = serve(tmp_path, [[{"return": {}}],
                            [{"event": "SHUTDOWN", "data": {}}, {"return": {}}]])
    assert qemu.qmp(tmp_path, "quit") == {"return": {}}
    assert seen == ["qmp_capabilities", "quit"]


def test_an_error_is_passed_on(tmp_path):
    serve(tmp_path, [[{"return": {}}], [{"error": {"class": "GenericError", "desc": "no"}}]])
    assert qemu.qmp(tmp_path, "quit")["error"]["desc"] == "no"


def test_silence_and_no_socket_are_errors_in_bounded_time(tmp_path):
    serve(tmp_path, [[{"return": {}}], None])
    with pytest.raises(OSError):
        qemu.qmp(tmp_path, "quit", timeout=0.5)
    with pytest.raises(OSError):
        qemu.qmp(tmp_path / "absent", "quit", timeout=0.5)
