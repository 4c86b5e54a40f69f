"""`harness probe-login ADDRESS PORT` and `harness discover ADDRESS`."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.errors import DeviceError, InputError, ScopeError
from harness.termsafe import clean


def add_parsers(sub) -> None:
    p = sub.add_parser("probe-login", help="which login style a web port speaks, and the "
                       "profile entry to write (one wrong credential per endpoint tried)")
    p.add_argument("address")
    p.add_argument("port", type=int)
    p.add_argument("--lab", help="lab config (scope allowlist; default: the built-in)")
    p.add_argument("--tls", choices=("auto", "yes", "no"), default="auto")
    p.add_argument("--username", help="the lab's account: prove the guess with it")
    p.add_argument("--password-env", metavar="VAR", help="environment variable holding the "
                   "lab's password (never on the command line)")
    d = sub.add_parser("discover", help="draft a device type and instance from what a unit "
                       "shows (ports, services, certificates, host key, login styles, IPv6)")
    d.add_argument("address")
    d.add_argument("--lab", help="lab config (scope allowlist, lab interfaces)")
    d.add_argument("--name", default="unit-1", help="the instance's name in the draft")
    d.add_argument("--out", help="directory for NAME.type.yaml and NAME.yaml (default: print)")


def _wire(lab_path):
    from harness.lab.config import load_lab
    from harness.transport.transcript import Transcript
    from harness.transport.wire import Wire
    lab, _ = load_lab(lab_path)
    return lab, Wire(lab.scope_checker(), Transcript(None), lab.timeouts.connect,
                     lab.timeouts.command)


def _in_scope(wire, address: str, what: str) -> None:
    try:
        wire.scope.check(address, what)
    except ScopeError as exc:
        raise InputError(str(exc), None, None, "address") from None


def run(args) -> int:
    from harness.discover import draft, login
    lab, wire = _wire(args.lab)
    _in_scope(wire, args.address, "target")
    if args.cmd == "probe-login":
        if not 0 < args.port < 65536:
            raise InputError(f"port {args.port} is not 1-65535", None, None, "port")
        tls = {"auto": None, "yes": True, "no": False}[args.tls]
        try:
            found = login.detect(wire, args.address, args.port, tls)
            proof = None
            if args.username and found["auth"]:
                if not args.password_env or args.password_env not in os.environ:
                    raise InputError("--username needs --password-env naming a set variable",
                                     None, None, "--password-env")
                proof = login.prove(wire, args.address, args.port, found, args.username,
                                    os.environ[args.password_env])
        except DeviceError as exc:
            print(clean(f"harness: {args.address}:{args.port}: {exc}"), file=sys.stderr)
            return 1
        print(clean(login.snippet(args.port, found, proof)), end="")
        return 0 if found["auth"] and (proof is None or proof["proven"]) else 1
    try:
        facts = draft.gather(wire, args.address, lab.scope.interfaces, lab.timeouts.scan)
    except DeviceError as exc:
        print(clean(f"harness: {args.address}: {exc}"), file=sys.stderr)
        return 1
    type_text, instance_text = draft.render(facts, args.name)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{args.name}.type.yaml").write_text(clean(type_text))
        (out / f"{args.name}.yaml").write_text(clean(instance_text).replace(
            "extends: CHANGE-ME.type.yaml", f"extends: {args.name}.type.yaml"))
        print(f"draft written: {out / (args.name + '.type.yaml')}, {out / (args.name + '.yaml')}")
    else:
        print(clean(type_text + "---\n" + instance_text), end="")
    return 0
