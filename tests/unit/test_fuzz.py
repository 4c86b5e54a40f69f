"""Fuzzing the input paths: YAML text, profiles, lab configs, credential lists and CLI
arguments. Thousands of generated inputs; each must end in success or an InputError (exit
2 with file and line), never another exception. No per-example deadline (ground rule 5: no
wall-clock bounds; these run at the lowest priority beside the lab): that input cannot make
the loaders work without bound is tested without clocks (alias bombs, size and depth limits
in test_hardening and test_review2)."""
import contextlib
import io
import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from harness import cli, yamlsrc
from harness.errors import InputError
from harness.lab.config import load_lab
from harness.probe.credentials import load_list
from harness.profile.loader import load_profile

FAST = settings(max_examples=1500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=400, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# YAML-ish text: the tokens that make the parser and our screening work hardest
TOKENS = st.sampled_from(["a", "b:", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", ":",
                          "&x ", "*x", "!!int ", "!!binary ", "!!python/object ", "'", '"',
                          "#", "---", "...", "? ", "|", ">", "1", "-1", "1e9", "~", "null",
                          "\t", "\\", "%YAML 1.1\n", "!<tag:x> ", "<<: ", "\x00", "é"])
YAML_TEXT = st.lists(TOKENS, max_size=60).map("".join) | st.text(max_size=200)

SCALARS = (st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True)
           | st.text(string.printable, max_size=20)
           | st.sampled_from(["198.18.0.11", "::1", "fe80::1%eth0", "socket://127.0.0.1:9",
                              "SOCKET://198.18.0.9:1", "spy://x", "0.0.0.0/0", "/dev/zero",
                              "../../etc/passwd", "{file: /dev/zero}", "22", "65536"]))
PROFILE_KEYS = ["extends", "name", "vendor", "model", "firmware_version", "category",
                "address", "address6", "ssh", "telnet", "web", "serial", "mqtt", "port",
                "password", "username", "file", "env", "declared_services", "declarations",
                "tls_clients", "trigger", "lab", "power", "comparison_units", "has_ipv6"]
LAB_KEYS = ["lab", "name", "scope", "allow", "interfaces", "rate_limits", "timeouts",
            "actions", "power_cycle", "harness_address", "device_workers", "report_access"]


def _tree(keys):
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.sampled_from(keys), inner, max_size=6),
                        max_leaves=25)


def _write(text: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix="hx-fuzz-"))
    try:
        (d / "f.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    except BaseException:       # text no file can hold: the directory goes too
        _cleanup(d / "f.yaml")
        raise
    return d / "f.yaml"


def _cleanup(path: Path) -> None:
    for p in path.parent.iterdir():
        p.unlink()
    path.parent.rmdir()


def _only_input_errors(loader, text: str) -> None:
    try:
        path = _write(text)
    except UnicodeEncodeError:
        return
    try:
        loader(path)
    except InputError as exc:
        assert exc.render() and "f.yaml" in exc.render()
    finally:
        _cleanup(path)


@FAST
@given(YAML_TEXT)
def test_yaml_text(text):
    _only_input_errors(yamlsrc.load, text)


@SOME
@given(_tree(PROFILE_KEYS))
def test_profile_loader(data):
    _only_input_errors(load_profile, yaml.safe_dump(data))


@SOME
@given(_tree(LAB_KEYS))
def test_lab_config_loader(data):
    _only_input_errors(load_lab, yaml.safe_dump(data))


@SOME
@given(_tree(["credentials", "username", "password", "source"]))
def test_credential_list_loader(data):
    _only_input_errors(load_list, yaml.safe_dump(data))


ARGS = st.lists(st.sampled_from(
    ["validate", "list", "run", "coverage", "schema", "report", "--profile", "--lab", "--out",
     "--kind", "profile", "lab", "type", "--json", "--workers", "0", "-1", "x", "-k", "TC-",
     "--allow-destructive", "--progress", "live", "--type", "/nonexistent/p.yaml", "",
     "--suite", "/nonexistent", "--", "-h"]), max_size=8)


@SOME
@given(ARGS)
def test_cli_arguments(argv):
    """Nothing here can reach a device: every profile path is missing."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
    assert code in (0, 1, 2, None), (argv, code)
    assert "Traceback" not in err.getvalue()


# ---- bundles, feeds, orders: hostile files never crash a command and never verify
FEED_KEYS = ["vulnerabilities", "cve", "id", "catalogVersion", "cveID", "configurations",
             "nodes", "cpeMatch", "criteria", "vulnerable", "affected", "package", "name",
             "ranges", "events", "introduced", "fixed", "aliases", "vulns", "metrics",
             "descriptions", "severity", "score", "type", "versions"]


@SOME
@given(_tree(FEED_KEYS))
def test_vulnerability_feed_import(data):
    import json
    from harness.vuln import db
    d = Path(tempfile.mkdtemp(prefix="hx-fuzz-"))
    try:
        (d / "feed.json").write_text(json.dumps(data, allow_nan=True))
        try:
            db.import_files(d / "db", [d / "feed.json"])
        except InputError as exc:
            assert "feed.json" in exc.render()
    finally:
        import shutil
        shutil.rmtree(d)


MEMBERS = st.lists(st.tuples(
    st.sampled_from(["run/run.json", "run/x", "MANIFEST.json", "MANIFEST.sig", "../evil",
                     "/abs", "run//y", "run/./z", "other", "run/logs/a.log"]),
    st.sampled_from(["file", "dir", "sym", "hard"]),
    st.binary(max_size=64)), max_size=8)


@SOME
@given(MEMBERS)
def test_bundle_verify(members):
    """Any tar of hostile members: verify ends in a verdict or an InputError, never a
    traceback, and never verifies (no trusted key can have signed it)."""
    import io as _io
    import tarfile
    from harness.report import bundle
    d = Path(tempfile.mkdtemp(prefix="hx-fuzz-"))
    try:
        path = d / "b.tgz"
        with tarfile.open(path, "w:gz") as t:
            for name, kind, data in members:
                info = tarfile.TarInfo(name)
                info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE,
                             "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[kind]
                info.linkname = "run/run.json" if kind in ("sym", "hard") else ""
                info.size = len(data) if kind == "file" else 0
                t.addfile(info, _io.BytesIO(data) if kind == "file" else None)
        try:
            r = bundle.verify(path, ["SHA256:" + "0" * 32], extract=d / "out")
            assert r["ok"] is False and not (d / "out").exists()
        except InputError as exc:
            assert exc.render()
    finally:
        import shutil
        shutil.rmtree(d)


@SOME
@given(_tree(["order_id", "customer", "name", "address", "items_received", "sampling"]))
def test_order_loader(data):
    from harness.lab.order import load_order
    _only_input_errors(load_order, yaml.safe_dump(data, allow_unicode=True))
