"""The `harness` command.

Exit codes: 0 no verdict is FAIL, ERROR or INCONCLUSIVE; 1 at least one is; 2 bad input
(malformed profile, lab config or argument; target outside the scope allowlist).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from pathlib import Path

from harness.errors import InputError
from harness.termsafe import clean

EPILOG = """exit codes:
  0  no verdict is FAIL, ERROR or INCONCLUSIVE
  1  at least one verdict is FAIL, ERROR or INCONCLUSIVE
  2  bad input: a malformed profile, lab config or argument, or a target outside the scope
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"harness: error: argument: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harness", description="IoT conformance test harness (JC-STAR ★1, "
                "ETSI EN 303 645 and harmonised schemes)", epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    v = sub.add_parser("validate", help="validate profiles and lab configs")
    v.add_argument("files", nargs="+")
    v.add_argument("--kind", choices=("profile", "type", "lab"), default=None,
                   help="what the files are (default: decided from each file's content)")

    ls = sub.add_parser("list", help="the plan: which test cases apply and why not; no traffic")
    ls.add_argument("--profile", action="append", required=True)
    ls.add_argument("--allow-destructive", action="store_true")
    ls.add_argument("--json", action="store_true")

    r = sub.add_parser("run", help="run the suite against one or more devices",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--profile", action="append")
    r.add_argument("--lab")
    r.add_argument("--out")
    r.add_argument("--order", help="the customer's order (YAML: order_id, customer {name, "
                   "address}, items_received, sampling): the report's 17025 elements")
    r.add_argument("--resume", metavar="RUN_DIR", help="finish a run that was stopped (killed, "
                   "power loss): only the test cases without a result run, in its directory")
    r.add_argument("--allow-destructive", action="store_true")
    r.add_argument("--no-pdf", action="store_true", help="no report.pdf (a CI run that reads "
                   "junit.xml and run.json; `harness report RUN_DIR` makes it later)")
    r.add_argument("-k", dest="keyword", default="", help="select test cases (pytest -k)")
    r.add_argument("--only", choices=("device", "documents"), help="device: only the tests "
                   "that probe the device; documents: only the vendor-declaration checks "
                   "(TC-DECL-*)")
    r.add_argument("--suite", default=None, help="test-case directory (default: testcases/)")
    r.add_argument("-v", "--verbose", action="store_true")
    r.add_argument("--workers", type=int, default=None, metavar="N",
                   help="devices tested at once (default: the lab config's device_workers)")
    r.add_argument("--progress", choices=("auto", "live", "plain"), default="auto",
                   help="live table on a terminal, plain lines in a log (auto: live only on "
                        "a TTY and not under CI=true)")

    c = sub.add_parser("coverage", help="per scheme: probe-verified, declaration-only, uncovered")
    c.add_argument("--json", action="store_true")

    sc = sub.add_parser("schema", help="JSON Schema of device profiles (for editors)")
    sc.add_argument("--type", action="store_true", help="the schema of a device type file")

    rep = sub.add_parser("report", help="rebuild run.json and reports from a run's journal")
    rep.add_argument("run_dir")

    from harness.emulate import cli as emulate_cli
    from harness.vuln import cli as vuln_cli
    emulate_cli.add_parser(sub)
    vuln_cli.add_parser(sub)
    from harness.report import cli as report_cli
    report_cli.add_parsers(sub)
    from harness.discover import cli as discover_cli
    discover_cli.add_parsers(sub)
    from harness.firmware import cli as firmware_cli
    firmware_cli.add_parser(sub)
    from harness import ics
    ics.add_parser(sub)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except InputError as exc:
        print(f"harness: {clean(exc.render())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted; results gathered so far are in the run's journal",
              file=sys.stderr)
        return 1
    except BrokenPipeError:               # `harness ... | head`: the reader left, not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no flush error
        return 0


def cmd_validate(args) -> int:
    from harness.lab.config import load_lab
    from harness.profile.loader import detect_kind, load_profile, load_type
    for f in args.files:
        kind = args.kind or detect_kind(Path(f))
        if kind == "lab":
            load_lab(f)
        elif kind == "type":
            load_type(f)
        else:
            pending: list[str] = []
            load_profile(f, defer_secrets=pending)
            for why in pending:
                print(f"note: {why} (needed when the harness runs)")
        shown = {"lab": "lab config", "type": "device type", "profile": "device profile"}[kind]
        print(f"{f}: OK ({shown})")
    return 0


def cmd_list(args) -> int:
    from harness.profile.loader import load_profile
    from harness.runner.suite import load_specs, plan
    specs = load_specs()
    out = {}
    for f in args.profile:
        profile, _ = load_profile(f, defer_secrets=[])   # the plan needs no secret
        out[profile.name] = plan(profile, specs, args.allow_destructive)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for name, rows in out.items():
        runs = sum(r["runs"] for r in rows)
        print(f"{name}: {runs} of {len(rows)} test cases apply")
        for r in rows:
            mark = "run " if r["runs"] else {"NOT_RUN": "not run", "NOT_APPLICABLE": "n/a"}[
                r["verdict_if_not_run"]]
            why = f"  — {r['why_not']}" if r["why_not"] else ""
            print(f"  [{mark:<7}] {r['test_id']:<14} {r['title']}{why}")
    return 0


def cmd_run(args) -> int:
    import pytest
    from harness.runner.context import build_context
    from harness.runner.suite import SUITE_DIR
    resuming = None
    if args.resume:
        from harness.runner import resume
        if args.profile or args.out or args.lab or args.keyword or args.allow_destructive \
                or args.order \
                or args.only:
            raise InputError("--resume takes the run's own profiles, lab config, selection and "
                             "destructive setting from its journal: give nothing else", None,
                             None, "--resume")
        resuming = resume.plan(args.resume)
        args.profile, args.lab, args.out = resuming.profiles, resuming.lab, str(resuming.out_dir)
        args.allow_destructive, args.keyword = resuming.allow_destructive, resuming.selection
    elif not args.profile:
        raise InputError("at least one --profile is needed (or --resume RUN_DIR)", None, None,
                         "--profile")
    if args.only:                # by what a test case evaluates (its spec's `evaluated`)
        only = f"evaluated_{args.only}"
        args.keyword = f"({args.keyword}) and ({only})" if args.keyword else only
    # validate everything (profiles, lab, scope) before pytest starts: bad input → exit 2;
    # the context built here is the run's (handed to the plugin, not built again)
    ctx = build_context(args.profile, args.lab, args.out, resuming and resuming.run_id,
                        args.allow_destructive, args.keyword, fresh=resuming is None)
    if args.order:
        from harness.lab.order import load_order
        ctx.order = load_order(args.order)
    suite = Path(args.suite) if args.suite else SUITE_DIR
    if not suite.is_dir():
        raise InputError("test-case directory not found", str(suite), None, "--suite")
    pytest_args = [str(suite), "-p", "no:cacheprovider", "--rootdir", str(suite),
                   "-c", str(suite / "pytest.ini"), "-qq" if not args.verbose else "-v",
                   # pytest's tracebacks show local variables (passwords among them) and
                   # its summary repeats what the progress lines and the report say
                   "--tb=no", "-rN", "--progress", args.progress,
                   "--out", str(ctx.out_dir), "--out-prepared", "--run-id", ctx.run_id,
                   # the harness's plugin only (given below): whatever else the environment
                   # has installed (hypothesis, xdist: 0.5 CPU-s a run to load) has no say
                   "--disable-plugin-autoload"] + (
                       ["--resume-run"] if resuming else [])
    for prof in args.profile:
        pytest_args += ["--profile", prof]
    if args.lab:
        pytest_args += ["--lab", args.lab]
    if args.allow_destructive:
        pytest_args.append("--allow-destructive")
    if args.no_pdf:
        pytest_args.append("--no-pdf")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    workers = device_workers(args.workers, ctx.lab.device_workers, len(ctx.devices))
    if workers > 1:        # one forked worker per device at a time, in order
        pytest_args += ["--device-workers", str(workers)]
    # pytest's own temporary directory, inside this run's (private) directory: without it,
    # pytest numbers one under the system's temp dir and prunes the older ones (those of
    # other pytest sessions). A killed run leaves it there, and --resume clears it.
    basetemp = ctx.out_dir / ".pytest-tmp"
    try:
        with _emulated_lab_in_use(args.profile, ctx.run_id):
            from harness import pytest_plugin        # imported already: given as it is
            code = int(pytest.main(pytest_args + ["--basetemp", str(basetemp)],
                                   plugins=[pytest_plugin, pytest_plugin.Prepared(ctx)]))
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
    if code == 5:
        raise InputError("no test case matched the selection", None, None, "-k")
    if code in (2, 3, 4):
        print(f"harness: the test session failed (pytest exit {code}); results gathered "
              f"so far are in {ctx.out_dir}/journal.jsonl", file=sys.stderr)
        return 2 if code == 4 else 1
    run_json = ctx.out_dir / "run.json"
    if not run_json.exists():
        print(f"harness: the run produced no report (pytest exit {code}); "
              f"see {ctx.out_dir}/journal.jsonl", file=sys.stderr)
        return 1 if code != 4 else 2
    return _report_exit(run_json)


@contextlib.contextmanager
def _emulated_lab_in_use(profiles, run_id):
    """A run on emulated devices keeps `harness emulate up/down` of another run or test
    session from changing the lab under it (they refuse, naming this run)."""
    import os
    from harness.emulate import guard
    from harness.emulate.netns import EmulateError
    if os.geteuid() != 0 or not guard.uses_emulated(profiles):
        yield
        return
    use = guard.using(f"harness run {run_id}")
    try:
        use.__enter__()
    except EmulateError as exc:
        raise InputError(str(exc), None, None, "--profile") from None
    try:
        yield
    finally:
        use.__exit__(None, None, None)


def device_workers(asked: int | None, configured: int, devices: int) -> int:
    import os
    if asked is not None and asked < 1:
        raise InputError("must be at least 1", None, None, "--workers")
    n = asked or configured or 2 * (os.cpu_count() or 1)
    return max(1, min(n, devices))


def _report_exit(run_json: Path) -> int:
    from harness.report import views
    run = json.loads(run_json.read_text())
    gaps = run.get("not_fully_tested", {})
    for d in run["devices"]:          # what the device showed first, then the paperwork
        found, owed = views.findings(d), views.documents_owed(d)
        shown = ", ".join(f"{r['test_id']} {r['verdict']}" for r in found)
        print(clean(f"{d['name']}: device findings {len(found)}" + (f" ({shown})" if found
                                                                     else "")))
        if owed:
            print(f"  documents the vendor still owes: {len(owed)} "
                  f"({', '.join(o['field'].removeprefix('declarations.') for o in owed[:6])}"
                  f"{', …' if len(owed) > 6 else ''})")
        reqs = gaps.get(d["name"], [])
        if reqs:
            jc = [g["id"].removeprefix("JCSTAR-") for g in reqs if g["scheme"] == "jcstar-l1"]
            print(f"  not fully tested: {len(reqs)} requirement(s)"
                  + (f", JC-STAR ★1 {' '.join(jc)}" if jc else ""))
    for side, counts in views.run_counts(run).items():
        if counts:
            print(f"{side}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"report: {run_json.parent / 'report.html'} (JC-STAR ★1 checklist: "
          f"jcstar-checklist.html)")
    from harness.model import Verdict
    return 1 if any(Verdict(v).is_problem for v in run["summary"]) else 0


def cmd_coverage(args) -> int:
    from harness import en18031, ts103701
    from harness.catalog import coverage
    from harness.runner.suite import load_specs
    rows, units, trees = coverage(load_specs()), ts103701.coverage(), en18031.coverage()
    if args.json:
        print(json.dumps({"schemes": rows, "ts103701": units, "en18031": trees}, indent=2))
        return 0
    print(f"{'scheme':<17}{'reqs':>5}{'probe':>7}{'(prov.)':>8}{'decl':>6}{'uncov':>7}"
          f"{'unconf.':>8}{'prov.':>6}  probe-verified")
    for r in rows:
        print(f"{r['scheme']:<17}{r['requirements']:>5}{r['probe_verified']:>7}"
              f"{r['probe_verified_provisional']:>8}{r['declaration_only']:>6}"
              f"{r['uncovered']:>7}{r['topic_unconfirmed']:>8}{r['provisional']:>6}  "
              f"{r['probe_verified_pct']}%")
    print("probe: verified on the device (of which (prov.) on a provisional mapping); decl: "
          "declaration check only;\nunconf.: topic not confirmed by any source (no test "
          "case, never PASS); prov.: provisional requirements in the scheme")
    _print_unit_coverage(units)
    n = trees["nodes"]
    print(f"\n{trees['standard']}: {trees['requirements']} requirements over "
          f"{trees['mechanisms']} mechanisms, each decided per asset through its tree; nodes "
          f"answered by our test cases {n['tests']}, by the vendor's justification "
          f"{n['exempt']}, by the lab {n['lab']}; decided on the unit alone: "
          f"{trees['decided_on_the_unit']} (a lab step in: "
          + ", ".join(trees["with_a_lab_step"]) + ")")
    return 0


def _print_unit_coverage(u: dict) -> None:
    print(f"\n{u['standard']} (assesses {u['assesses']}): {u['groups']} test groups, "
          f"{u['cases']} test cases, {sum(u['units'].values())} test units")
    print(f"{'units':<12}{'total':>6}{'device':>8}{'ixit':>6}{'lab':>6}{'none':>6}")
    for kind, n in u["units"].items():
        k = u["by_kind"][kind]
        print(f"{kind:<12}{n:>6}" + "".join(f"{k.get(w, 0):>{8 if w == 'device' else 6}}"
                                          for w in ("device", "ixit", "lab", "none")))
    print("device: decided on the unit by our test cases; ixit: judged from the vendor's "
          "IXIT answer;\nlab: the lab's own step (" + ", ".join(
              f"{k} {v}" for k, v in u["lab_steps"].items()) + "); none: no test yet")
    print(f"functional units a network or console test can decide: "
          f"{u['functional_decidable']}, automated: {u['functional_automated_pct']}%")
    for x in u["uncovered"]:
        print(f"  not yet: {x['unit']} ({x['would']})")


def cmd_report(args) -> int:
    from harness.report.writer import render_all
    from harness.redact import Redactor
    d = Path(args.run_dir)
    if not (d / "journal.jsonl").exists():
        raise InputError("no journal.jsonl in this directory", str(d), None, "run_dir")
    render_all(d, Redactor())
    return _report_exit(d / "run.json")


def cmd_schema(args) -> int:
    from harness.profile.schema import DeviceProfile, DeviceType
    model = DeviceType if args.type else DeviceProfile
    print(json.dumps(model.model_json_schema(), indent=1))
    return 0


def _emulate(args) -> int:
    from harness.emulate import cli as emulate_cli
    return emulate_cli.run(args)


def _report_cmd(args) -> int:
    from harness.report import cli as report_cli
    return report_cli.run(args)


def _discover(args) -> int:
    from harness.discover import cli as discover_cli
    return discover_cli.run(args)


def _firmware(args) -> int:
    from harness.firmware import cli as firmware_cli
    return firmware_cli.run(args)


def _ics(args) -> int:
    from harness import ics
    return ics.run(args)


def _vulndb(args) -> int:
    from harness.vuln import cli as vuln_cli
    return vuln_cli.run(args)


COMMANDS = {"validate": cmd_validate, "list": cmd_list, "run": cmd_run,
            "coverage": cmd_coverage, "report": cmd_report, "schema": cmd_schema,
            "emulate": _emulate, "vulndb": _vulndb, "probe-login": _discover,
            "discover": _discover, "firmware": _firmware, "ics": _ics, **{c: _report_cmd for c in (
                "bundle", "verify", "keygen", "diff", "approve")}}
