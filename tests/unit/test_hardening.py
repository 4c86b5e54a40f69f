"""Findings of the security review, each reproduced (with loopback or the lab's own
addresses only, never a public one) and now refused."""
import os
import socket
import time
from types import SimpleNamespace

import pytest

from harness.errors import DeviceError, ScopeError
from harness.lab.actions import command, run_action
from harness.lab.scope import Scope
from harness.transport.deadline import guard, read_bounded
from harness.redact import Redactor
from harness.transport.transcript import Transcript
from harness.transport.wire import Wire
from tests.conftest import cli, harness
from tests.unit.test_bad_input import INSTANCE, LAB, check, write


# ---- scope
@pytest.mark.parametrize("port", ["SOCKET://127.0.0.1:9", "Socket://127.0.0.1:9",
                                  "rfc2217://127.0.0.1:9", "RFC2217://[::1]:9"])
def test_serial_url_any_case_is_scope_checked(tmp_path, port):
    unit = write(tmp_path, instance_text=INSTANCE + f"serial: {{port: '{port}'}}\n")
    proc = cli("run", "--profile", unit, "--lab", tmp_path / "lab.yaml", "--out",
               tmp_path / "out")
    check(proc, "unit.yaml", "serial.port")
    assert "refusing to send anything to it" in proc.stderr and "loopback" in proc.stderr


@pytest.mark.parametrize("port", ["spy://socket://127.0.0.1:9", "loop://", "hwgrep://.*",
                                  "socket://198.18.0.9", "alt:///dev/ttyS0"])
def test_other_serial_url_schemes_are_refused(tmp_path, port):
    unit = write(tmp_path, instance_text=INSTANCE + f"serial: {{port: '{port}'}}\n")
    check(cli("validate", unit), "unit.yaml", "serial.port", 5)


def test_serial_console_connects_to_the_checked_address(tmp_path):
    from harness.profile.schema import Prompts
    from harness.transport.serial import SerialConsole
    wire = Wire(Scope(["198.18.0.0/28"]), Transcript(tmp_path / "t.log"), 1, 1)
    with pytest.raises(ScopeError):
        SerialConsole(wire, Prompts(), "SOCKET://127.0.0.1:9")
    with pytest.raises(DeviceError, match="not supported"):
        SerialConsole(wire, Prompts(), "spy://socket://127.0.0.1:9")


def test_zones_only_for_named_interfaces():
    assert not Scope(["fe80::/10"]).allows("fe80::1%eth0")
    assert Scope(["fe80::/10"], ["eth1"]).allows("fe80::1%eth1")
    assert not Scope(["fe80::/10"], ["eth1"]).allows("fe80::1%eth0")
    assert not Scope(["198.18.0.0/24"]).allows("198.18.0.0/24")


@pytest.mark.parametrize("allow,line", [("0.0.0.0/0", 2), ("'::/0'", 2), ("127.0.0.0/8", 2),
                                        ("'::1'", 2), ("0.0.0.0", 2)])
def test_lab_scope_refuses_everything_and_loopback(tmp_path, allow, line):
    write(tmp_path, lab_text=LAB.replace("198.18.0.0/24", allow.strip("'") if "::" not in
                                         allow else allow))
    check(cli("validate", "--kind", "lab", tmp_path / "lab.yaml"), "lab.yaml",
          "scope.allow", line)


@pytest.mark.parametrize("addr", ["0.0.0.0", "'::'", "224.0.0.1"])  # never sent: validate only
def test_lab_harness_address_must_be_an_address_of_this_host(tmp_path, addr):
    write(tmp_path, lab_text=LAB + f"harness_address: {addr}\n")
    check(cli("validate", tmp_path / "lab.yaml"), "lab.yaml", "harness_address", 3)


# ---- secrets
def test_redactor_masks_every_form_and_every_length():
    r = Redactor(["a\\b'c d$e", "xy"])
    for shown in ("a\\b'c d$e", repr("a\\b'c d$e"), '"a\\\\b\'c d$e"', "a%5Cb%27c%20d%24e",
                  "xy"):
        assert "***" in r(f"cmd {shown} end"), shown
    assert "a\\b" not in r(repr(["a\\b'c d$e"]))
    import shlex
    assert "d$e" not in r("set-password admin " + shlex.quote("a\\b'c d$e"))


def test_secret_split_across_two_reads_is_masked(tmp_path):
    t = Transcript(tmp_path / "t.log", Redactor(["s3cret-value"]))
    t.received("serial", b"Password: s3cr")
    t.received("serial", b"et-value\r\n# ")
    t.flush()
    text = (tmp_path / "t.log").read_text()
    assert "s3cr" not in text and "***" in text


def test_withheld_output_is_size_and_digest_only(tmp_path):
    t = Transcript(tmp_path / "t.log")
    with t.withheld("ssh"):
        t.received("ssh", "root:$6$salt$hashhashhash:19000:0:99999:7:::\n")
    t.received("ssh", "after\n")
    text = (tmp_path / "t.log").read_text()
    assert "$6$" not in text and "withheld" in text and "after" in text


@pytest.mark.parametrize("value", ["!!int 12345678", "!!float 1.5", "!!bool true", "12345678"])
def test_non_string_password_is_refused_without_showing_it(tmp_path, value):
    unit = write(tmp_path, instance_text=INSTANCE.replace("password: secret-1",
                                                          f"password: {value}"))
    proc = cli("validate", unit)
    check(proc, "unit.yaml", "ssh.password", 4)
    assert value.split()[-1] not in proc.stderr.replace("unit.yaml", "")


def test_secret_file_must_be_a_small_regular_file_next_to_the_profile(tmp_path):
    (tmp_path / "pw").write_text("s3cret-from-file\n")
    unit = write(tmp_path, instance_text=INSTANCE.replace("password: secret-1",
                                                          "password: {file: pw}"))
    from harness.profile.loader import load_profile
    profile, _ = load_profile(unit)            # relative to the profile, not the cwd
    assert profile.ssh.password.get_secret_value() == "s3cret-from-file"
    os.mkfifo(tmp_path / "fifo")
    for bad, why in (("/dev/zero", "not a regular file"), (str(tmp_path / "fifo"),
                                                             "not a regular file")):
        unit.write_text(INSTANCE.replace("password: secret-1", f"password: {{file: {bad}}}"))
        proc = harness("run", "--profile", unit, "--lab", tmp_path / "lab.yaml", "--out",
                       tmp_path / "out", timeout=900)
        check(proc, "unit.yaml", "ssh.password", 4)
        assert why in proc.stderr


# ---- hostile input
def test_alias_bomb_is_refused_at_once(tmp_path):
    rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        rows.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    (tmp_path / "bomb.yaml").write_text("\n".join(rows) + "\n")
    proc = harness("validate", tmp_path / "bomb.yaml", timeout=900)   # expanded: never ends
    check(proc, "bomb.yaml", None, 2)
    assert "aliases" in proc.stderr             # refused for its aliases, before expanding


def test_deep_nesting_and_size_are_refused(tmp_path):
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 1000 + "]" * 1000 + "\n")
    check(harness("validate", tmp_path / "deep.yaml"), "deep.yaml", None, 1)
    (tmp_path / "big.yaml").write_text("a: " + "x" * (2 << 20) + "\n")
    proc = harness("validate", tmp_path / "big.yaml")
    check(proc, "big.yaml", None)
    assert "larger than" in proc.stderr


def test_type_file_cannot_carry_unit_wiring(tmp_path):
    from tests.unit.test_bad_input import TYPE
    write(tmp_path, type_text=TYPE + "ssh: {port: 22, password: from-the-type}\n")
    check(cli("validate", tmp_path / "unit.yaml"), "type.yaml", "ssh")


def test_tls_client_trigger_must_be_a_lab_action(tmp_path):
    unit = write(tmp_path, instance_text=INSTANCE + "tls_clients:\n  - {host: 198.18.0.2, "
                                                    "port: 8883, trigger: __module__}\n")
    check(cli("validate", unit), "unit.yaml", "tls_clients.0.trigger", 6)


# ---- lab actions
def test_action_values_are_never_shell_text(tmp_path):
    marker = tmp_path / "pwned"
    lab = SimpleNamespace(actions=SimpleNamespace(power_cycle="echo {power} {device}"))
    profile = SimpleNamespace(name="d1", lab=SimpleNamespace(power=f"$(touch {marker})`id`;",
                                                             link=None, boot_medium=None))
    out = run_action(lab, profile, "power_cycle", timeout=10)
    assert not marker.exists()
    assert f"$(touch {marker})`id`;" in out
    text, env = command("pdu {power}", {"power": "x; rm -rf /"})
    assert text == 'pdu "$HX_POWER"' and env["HX_POWER"] == "x; rm -rf /"


@pytest.mark.parametrize("template", ["pdu {power!r}", "pdu {power:>10}", "pdu {power!s:x}"])
def test_action_conversions_and_specs_are_refused(tmp_path, template):
    write(tmp_path, lab_text=LAB + f"actions: {{power_cycle: '{template}'}}\n")
    check(cli("validate", tmp_path / "lab.yaml"), "lab.yaml", "actions.power_cycle", 3)


def test_action_timeout_stops_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    lab = SimpleNamespace(actions=SimpleNamespace(
        power_cycle=f"sleep 60 & echo $! > {pidfile}; wait"))
    profile = SimpleNamespace(name="d1", lab=SimpleNamespace(power=None, link=None,
                                                             boot_medium=None))
    with pytest.raises(DeviceError, match="did not finish"):
        run_action(lab, profile, "power_cycle", timeout=1)
    child = int(pidfile.read_text())
    for _ in range(50):
        if not os.path.exists(f"/proc/{child}") or \
                open(f"/proc/{child}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the action's child {child} still runs")


# ---- hangs (socketpairs: no network at all)
def test_trickling_peer_ends_at_the_deadline():
    import threading
    a, b = socket.socketpair()
    done = threading.Event()

    def trickle():                      # one byte every 0.2 s, for at most 12 s
        for _ in range(60):
            if done.is_set():
                return
            b.send(b"x")
            time.sleep(0.2)
    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        t0 = time.monotonic()
        data, why = read_bounded(a, 1 << 20, 1.5)
        # it waited for its deadline, and ended while the peer was still sending
        assert why == "deadline" and time.monotonic() - t0 > 1.4 and 0 < len(data) < 60
    finally:
        done.set()
        sender.join(timeout=2)
        a.close()
        b.close()


def test_guard_unblocks_a_read():
    a, b = socket.socketpair()
    try:
        a.settimeout(30)
        with guard(a, 0.5) as g:
            assert a.recv(10) == b""          # shut down by the guard (the 30 s timeout raises)
        assert g.fired
    finally:
        a.close()
        b.close()


# ---- reports
def test_report_directory_is_private_and_never_reused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "journal.jsonl").write_text("{}\n")
    proc = cli("run", "--profile", write(tmp_path), "--lab", tmp_path / "lab.yaml",
               "--out", tmp_path / "out", "-k", "TC-NOTHING")
    check(proc, "out", "--out")
    assert "not empty" in proc.stderr
    from harness.runner.context import prepare_out_dir
    prepare_out_dir(tmp_path / "new", 0o700, True)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700


def test_unwritable_out_is_bad_input(tmp_path):
    (tmp_path / "file").write_text("x")
    proc = cli("run", "--profile", write(tmp_path), "--lab", tmp_path / "lab.yaml",
               "--out", tmp_path / "file" / "sub")
    check(proc, "sub", "--out")


def test_emulator_state_path_must_be_absolute():
    for bad in ("", ".", "relative/dir"):
        proc = harness("emulate", "status", env={"HARNESS_EMULATE_STATE": bad})
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (bad, proc.stderr)
        assert "HARNESS_EMULATE_STATE" in proc.stderr


# ---- the watchdog
def test_watchdog_stops_a_test_case_past_its_budget(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    (suite / "test_slow.py").write_text(
        "import time\nfrom harness.model import testcase\n\n\n"
        "@testcase('TC-SLOW-01', 'sleeps', requirements=['ETSI-5.1-1'])\n"
        "def test_slow(device, evidence):\n"
        "    try:\n        time.sleep(60)\n"
        "    except Exception:\n        pass\n")   # a probe that swallows its timeouts
    unit = write(tmp_path, lab_text=LAB + "timeouts: {test_case: 1.5}\n")
    proc = harness("run", "--suite", suite, "--profile", unit, "--lab", tmp_path / "lab.yaml",
                   "--out", tmp_path / "out", timeout=900)
    assert proc.returncode == 1, proc.stderr[-2000:]
    import json
    r = json.loads((tmp_path / "out" / "run.json").read_text())["devices"][0]["results"][0]
    assert r["verdict"] == "ERROR" and "watchdog" in r["reason"] and "TC-SLOW-01" in r["reason"]
