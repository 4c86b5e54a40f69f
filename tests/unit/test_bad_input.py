"""Malformed profiles, lab configs, credential lists and arguments: exit 2, a message that
names the file, line and field, and never a traceback."""
from pathlib import Path

import pytest

from tests.conftest import REPO, cli, harness

TYPE = """vendor: Acme
model: R1
firmware_version: 1.0.0
category: router
declared_services:
  - {port: 22, service: ssh}
"""
INSTANCE = """extends: type.yaml
name: unit-1
address: 198.18.0.11
ssh: {port: 22, username: admin, password: secret-1}
"""
LAB = """lab: {name: Test lab}
scope: {allow: [198.18.0.0/24], interfaces: [hxbr0]}
"""


def write(tmp: Path, type_text=TYPE, instance_text=INSTANCE, lab_text=LAB):
    (tmp / "type.yaml").write_text(type_text)
    (tmp / "unit.yaml").write_text(instance_text)
    if "unit_claims" not in lab_text:     # the test's own: its runs claim no emulated unit
        lab_text += ("" if lab_text.endswith("\n") else "\n") + \
            "unit_claims: {directory: claims}\n"
    (tmp / "lab.yaml").write_text(lab_text)
    return tmp / "unit.yaml"


def check(proc, file: str, field: str | None, line: int | None = None):
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stdout, err)
    assert "Traceback" not in err and "Traceback" not in proc.stdout
    assert file in err, err
    if field:
        assert f"field '{field}'" in err, err
    if line:
        assert f"{file}:{line}:" in err, err


PROFILE_CASES = {
    # name: (type text, instance text, file, field, line)
    "unknown key": (TYPE, INSTANCE + "colour: red\n", "unit.yaml", "colour", 5),
    "wrong type port": (TYPE, INSTANCE.replace("port: 22", "port: twenty-two"), "unit.yaml",
                        "ssh.port", 4),
    "port out of range": (TYPE, INSTANCE.replace("port: 22", "port: 70000"), "unit.yaml",
                          "ssh.port", 4),
    "bad address": (TYPE, INSTANCE.replace("198.18.0.11", "198.18.0.300"), "unit.yaml",
                    "address", 3),
    "missing name": (TYPE, INSTANCE.replace("name: unit-1\n", ""), "unit.yaml", "name", 1),
    "bad name": (TYPE, INSTANCE.replace("unit-1", "Unit 1!"), "unit.yaml", "name", 2),
    "missing vendor in type": (TYPE.replace("vendor: Acme\n", ""), INSTANCE, "type.yaml",
                               "vendor", None),
    "bad category": (TYPE.replace("router", "toaster-oven"), INSTANCE, "type.yaml",
                     "category", 4),
    "extends missing file": (TYPE, INSTANCE.replace("type.yaml", "nope.yaml"), "unit.yaml",
                             "extends", 1),
    "extends cycle": (TYPE.replace("vendor:", "extends: unit.yaml\nvendor:"), INSTANCE,
                      "yaml", "extends", None),
    "yaml syntax": (TYPE, INSTANCE + "web: [unclosed\n", "unit.yaml", None, None),
    "duplicate key": (TYPE, INSTANCE + "name: again\n", "unit.yaml", "name", 5),
    "secret env unset": (TYPE, INSTANCE.replace("password: secret-1",
                                                "password: {env: HX_NOT_SET_ANYWHERE}"),
                         "unit.yaml", "ssh.password", 4),
    "secret file missing": (TYPE, INSTANCE.replace("password: secret-1",
                                                   "password: {file: /nonexistent/pw}"),
                            "unit.yaml", "ssh.password", 4),
    "declared service bad proto": (TYPE.replace("service: ssh}", "service: ssh, proto: sctp}"),
                                   INSTANCE, "type.yaml", "declared_services.0.proto", 6),
    "web list item unknown key": (TYPE, INSTANCE + "web:\n  - {port: 80, tls: maybe}\n",
                                  "unit.yaml", "web.0.tls", 6),
    "no address and no serial": (TYPE, INSTANCE.replace("address: 198.18.0.11\n", "")
                                 .replace("ssh: {port: 22, username: admin, password: secret-1}\n",
                                          ""), "unit.yaml", None, None),
    "tls client without port": (TYPE, INSTANCE + "tls_clients:\n  - {host: 198.18.0.2}\n",
                                "unit.yaml", "tls_clients.0.port", 6),
    "labgrid console without a place": (TYPE, INSTANCE + "serial: {port: labgrid}\n",
                                        "unit.yaml", None, None),
    "labgrid place and a serial port": (TYPE, INSTANCE + "serial: {port: /dev/ttyUSB0}\n"
                                        "lab: {labgrid_place: bench-7}\n", "unit.yaml", None,
                                        None),
    "labgrid place bad name": (TYPE, INSTANCE + "lab: {labgrid_place: 'a b'}\n", "unit.yaml",
                               "lab.labgrid_place", 5),
    "update shell without its command": (TYPE, INSTANCE + "update: {kind: shell, "
                                         "version_command: cat /etc/version}\n", "unit.yaml",
                                         "update", 5),
    "update install command without image": (TYPE, INSTANCE + "update: {kind: shell, "
                                             "install_command: fw-upgrade, version_command: "
                                             "cat /etc/version}\n", "unit.yaml",
                                             "update.install_command", 5),
    "update signature unknown layout": (TYPE, INSTANCE + "update: {signature: uimage}\n",
                                        "unit.yaml", "update.signature", 5),
    "empty file": (TYPE, "", "unit.yaml", None, 1),
    "not a mapping": (TYPE, "- just\n- a list\n", "unit.yaml", None, 1),
}


@pytest.mark.parametrize("case", sorted(PROFILE_CASES))
def test_malformed_profile(tmp_path, case):
    type_text, inst, file, field, line = PROFILE_CASES[case]
    unit = write(tmp_path, type_text, inst)
    for cmd in (["validate", unit], ["list", "--profile", unit],
                ["run", "--profile", unit, "--lab", tmp_path / "lab.yaml", "--out",
                 tmp_path / "out"]):
        # one case through the installed entry point, the rest in this process
        proc = (harness if case == "yaml syntax" else cli)(*cmd)
        if case.startswith("secret") and cmd[0] != "run":
            # validate and list need no secret: they note where it is missing
            assert proc.returncode == 0, proc.stderr
            if cmd[0] == "validate":
                assert f"unit.yaml:{line}: field '{field}'" in proc.stdout, proc.stdout
            continue
        check(proc, file, field, line)


LAB_CASES = {
    "lab unknown key": (LAB + "colour: red\n", "colour", 3),
    "lab missing scope": ("lab: {name: x}\n", "scope", 1),
    "lab bad cidr": (LAB.replace("198.18.0.0/24", "198.18.0.0/99"), "scope.allow", 2),
    "lab empty allowlist": (LAB.replace("[198.18.0.0/24]", "[]"), "scope.allow", 2),
    "lab bad rate": (LAB + "rate_limits: {credential_tries_per_account: 0}\n",
                     "rate_limits.credential_tries_per_account", 3),
    "lab bad timeout": (LAB + "timeouts: {connect: -1}\n", "timeouts.connect", 3),
    "lab bad harness address": (LAB + "harness_address: bench-host\n", "harness_address", 3),
    "lab action unknown placeholder": (LAB + "actions: {power_cycle: 'pdu --outlet {outlet}'}\n",
                                       "actions.power_cycle", 3),
    "lab labgrid coordinator not an address": (LAB + "labgrid: {coordinator: bench:20408}\n",
                                               "labgrid.coordinator", 3),
    "lab labgrid coordinator out of scope": (LAB + "labgrid: {coordinator: '198.18.9.3:20408'}"
                                             "\n", "labgrid", 3),
}


@pytest.mark.parametrize("case", sorted(LAB_CASES))
def test_malformed_lab_config(tmp_path, case):
    text, field, line = LAB_CASES[case]
    unit = write(tmp_path, lab_text=text)
    check(cli("run", "--profile", unit, "--lab", tmp_path / "lab.yaml", "--out",
              tmp_path / "out"), "lab.yaml", field, line)
    check(cli("validate", tmp_path / "lab.yaml"), "lab.yaml", field, line)


def test_labgrid_place_without_coordinator_is_bad_input(tmp_path):
    unit = write(tmp_path, instance_text=INSTANCE + "lab: {labgrid_place: bench-7}\n")
    proc = cli("run", "--profile", unit, "--lab", tmp_path / "lab.yaml", "--out",
               tmp_path / "out")
    check(proc, "unit.yaml", "lab.labgrid_place")
    assert "no 'labgrid' section" in proc.stderr


def test_out_of_scope_target_is_bad_input(tmp_path):
    unit = write(tmp_path, instance_text=INSTANCE.replace("198.18.0.11", "192.0.2.77"))  # never sent: exit 2 at the scope check
    proc = cli("run", "--profile", unit, "--lab", tmp_path / "lab.yaml", "--out",
               tmp_path / "out")
    check(proc, "unit.yaml", "address")
    assert "outside the lab's scope allowlist" in proc.stderr


def test_duplicate_device_names(tmp_path):
    unit = write(tmp_path)
    proc = cli("run", "--profile", unit, "--profile", unit, "--lab", tmp_path / "lab.yaml",
               "--out", tmp_path / "out")
    check(proc, "unit.yaml", "name")


@pytest.mark.parametrize("args", [["run"], ["run", "--profile"], ["list"], ["frobnicate"],
                                  ["emulate", "sideways"], ["coverage", "--bogus"]])
def test_bad_arguments(args):
    proc = harness(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "error" in proc.stderr or "field '--profile'" in proc.stderr


def test_bad_credential_list(tmp_path):
    from harness.errors import InputError
    from harness.probe.credentials import load_list
    bad = tmp_path / "creds.yaml"
    bad.write_text("credentials:\n  - {username: admin, password: admin}\n")
    with pytest.raises(InputError) as exc:
        load_list(bad)
    assert exc.value.field == "credentials.0.source" and exc.value.line == 2


def test_profile_file_missing(tmp_path):
    check(cli("validate", tmp_path / "absent.yaml"), "absent.yaml", None)


# ---- the README's tour: the commands that need no root run here (the rest in tests/lab)
from tests.readme_tour import NO_ROOT, tour  # noqa: E402


def test_readme_tour_is_parsed():
    commands = [c for c, _ in tour()]
    assert any(c.startswith("harness emulate up") for c in commands)
    assert any(c.startswith("harness run") for c in commands)
    assert sum(c.startswith(NO_ROOT) for c in commands) >= 4


@pytest.mark.parametrize("command,code", [t for t in tour() if t[0].startswith(NO_ROOT)])
def test_readme_tour_command_without_root(command, code):
    import shlex
    proc = harness(*shlex.split(command)[1:])
    assert proc.returncode == code, (command, proc.stdout[-800:], proc.stderr[-800:])
    assert "Traceback" not in proc.stderr


def test_validate_every_shipped_file_whether_or_not_the_lab_is_up():
    """Instance profiles have a `lab:` key (power and link wiring) like a lab config has;
    validate decides from the content. Their password files exist only while the emulated
    lab is up: then validate notes it instead of failing."""
    files = sorted(str(p) for p in (REPO / "device_profiles").rglob("*.yaml")
                   if "common" not in p.parts)       # fragments the types extend
    files += sorted(str(p) for p in (REPO / "lab_config").glob("*.yaml"))
    proc = harness("validate", *files)
    assert proc.returncode == 0, proc.stderr
    for f in files:
        assert f"{f}: OK (" in proc.stdout, f
    assert "router-1.yaml: OK (device profile)" in proc.stdout
    assert "emulated.yaml: OK (lab config)" in proc.stdout
    assert "emulab-er100.yaml: OK (device type)" in proc.stdout


@pytest.mark.parametrize("text,word", [("scope: {allow: [198.18.0.0/24]}\nname: x\n", "ambiguous"),
                                       ("colour: red\n", "neither")])
def test_validate_unclear_file(tmp_path, text, word):
    (tmp_path / "f.yaml").write_text(text)
    proc = cli("validate", tmp_path / "f.yaml")
    check(proc, "f.yaml", None, 1)
    assert word in proc.stderr and "--kind" in proc.stderr


def test_validate_kind_forced(tmp_path):
    unit = write(tmp_path)
    proc = cli("validate", "--kind", "lab", unit)
    assert proc.returncode == 2 and "unit.yaml" in proc.stderr
    assert cli("validate", "--kind", "profile", unit).returncode == 0
