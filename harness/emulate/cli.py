"""`harness emulate up|down|status|power-cycle|link|redirect|button|labgrid|image|boot-image|
recover`."""
from __future__ import annotations

import argparse
import json
import sys
import time

from harness.errors import InputError


def add_parser(sub) -> None:
    e = sub.add_parser("emulate", help="emulated devices in network namespaces (needs root)")
    es = e.add_subparsers(dest="emulate_cmd", required=True)
    up = es.add_parser("up", help="start devices (all when none named); prints their profiles")
    up.add_argument("names", nargs="*")
    es.add_parser("down", help="stop everything and remove leftovers, also after a crash")
    fd = es.add_parser("found", help="per emulated unit of a run and planted flaw: was it "
                       "found? (exit 1 when one was missed)")
    fd.add_argument("run_dir")
    st = es.add_parser("status")
    st.add_argument("--json", action="store_true")
    pc = es.add_parser("power-cycle", help="stop a device's processes and boot it again")
    pc.add_argument("name")
    pc.add_argument("--off", type=float, default=2.0, help="seconds without power")
    pc.add_argument("--no-wait", action="store_true", help="like a lab PDU: return once the "
                    "power is off; the device boots OFF seconds later on its own")
    bt = es.add_parser("button", help="operate an appliance locally (its button) on or off")
    bt.add_argument("name")
    bt.add_argument("state", choices=["on", "off"])
    po = es.add_parser("power-on", help=argparse.SUPPRESS)   # the booting half of --no-wait
    po.add_argument("name")
    po.add_argument("--after", type=float, default=0.0)
    ln = es.add_parser("link", help="take a device's network link down, up or degrade it")
    ln.add_argument("name")
    ln.add_argument("state", choices=["up", "down", "degrade"])
    ln.add_argument("--loss", type=float, default=0.0, help="percent packet loss (degrade)")
    ln.add_argument("--delay-ms", type=int, default=0, help="added delay (degrade)")
    lg = es.add_parser("labgrid", help="publish running devices' consoles and power on a "
                       "labgrid bench (coordinator, exporter, PDU); prints their profiles")
    lg.add_argument("names", nargs="+")
    im = es.add_parser("image", help="write the firmware image a unit ships (test data for "
                       "`harness firmware`); needs no root and no running lab")
    im.add_argument("name")
    im.add_argument("--format", help="squashfs (default), cpio, tar, ext4 or uimage; a QEMU "
                    "unit's is its firmware disk (ext4) as it boots it")
    im.add_argument("--out", help="file to write (default: NAME.FORMAT here)")
    rc = es.add_parser("recover", help="put a unit back on its shipped firmware (its recovery "
                       "mode: the lab's restore_firmware action)")
    rc.add_argument("name")
    bi = es.add_parser("boot-image", help="write FILE to a QEMU unit's boot medium (the disk "
                       "its U-Boot loads the firmware from); it boots it at the next power-on")
    bi.add_argument("name")
    bi.add_argument("file")
    rd = es.add_parser("redirect", help="send a device's connections to HOST:PORT elsewhere "
                                        "(the harness playing a server); --clear removes it")
    rd.add_argument("name")
    rd.add_argument("target", nargs="?", help="IPv4ADDRESS:PORT the device connects to")
    rd.add_argument("to", nargs="?", help="IPv4ADDRESS:PORT to send it to instead")
    rd.add_argument("--clear", action="store_true")


def _found(run_dir: str) -> int:
    import json
    from pathlib import Path
    from harness.emulate.variants import found
    path = Path(run_dir) / "run.json"
    try:
        run = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"not a run's run.json: {exc}", str(path)) from None
    rows = found(run)
    for r in rows:
        how = f"found by {', '.join(r['by'])}" if r["found"] else \
            "MISSED: " + ", ".join(f"{t} {v}" for t, v in r["missed"].items())
        print(f"{r['unit']:<20} {r['flaw']:<24} {how}  ({r['what']})")
    missed = [r for r in rows if not r["found"]]
    print(f"planted flaws: {len(rows)}, found {len(rows) - len(missed)}, missed {len(missed)}")
    return 1 if missed else 0


def _image(args) -> int:
    import shutil
    from pathlib import Path
    from harness.emulate import image
    from harness.emulate.netns import STATE
    from harness.emulate.variants import BY_NAME, fixed_password
    v = BY_NAME.get(args.name)
    if v is None:
        raise InputError(f"no emulated device named {args.name}", None, None, "name")
    if v.has("qemu"):                 # the firmware it boots, built from Debian's packages
        if args.format not in (None, "ext4"):
            raise InputError(f"{v.name} boots one firmware disk, an ext4 image: --format ext4 "
                             "or none", None, None, "--format")
        from harness.emulate import qemu
        out = Path(args.out or f"{v.name}.ext4")
        shutil.copyfile(qemu.firmware(v)[0], out)
        print(out)
        return 0
    args.format = args.format or "squashfs"
    if args.format not in image.FORMATS:
        raise InputError(f"one of {', '.join(image.FORMATS)}", None, None, "--format")
    password = fixed_password(v)
    group = STATE / "_groups" / v.key_group if v.has("shared_keys") else None
    out = Path(args.out or f"{v.name}.{args.format}")
    vendor = STATE / "_vendor" if (STATE / "_vendor").is_dir() else None   # the lab's
    import tempfile
    with tempfile.TemporaryDirectory(prefix="hx-keys-") as own:
        if group is not None and not group.is_dir():  # the lab is down: a group of our own
            group = Path(own) / v.key_group
        print(image.build(v, out, args.format, password, group, vendor))
    return 0


def run(args) -> int:
    if args.emulate_cmd == "found":
        return _found(args.run_dir)
    if args.emulate_cmd == "image":
        return _image(args)
    from harness.emulate import lab
    from harness.emulate.netns import EmulateError, STATE_PROBLEM, check_state
    if STATE_PROBLEM:
        raise InputError(STATE_PROBLEM, None, None, "HARNESS_EMULATE_STATE")
    try:
        check_state()                # someone else's directory: bad input, before anything
    except EmulateError as exc:
        raise InputError(str(exc), None, None, "HARNESS_EMULATE_STATE") from None
    try:
        if args.emulate_cmd == "up":
            for path in lab.up(args.names):
                print(path)
        elif args.emulate_cmd == "down":
            removed = lab.down()
            print("removed: " + (", ".join(removed) if removed else "nothing was left"))
        elif args.emulate_cmd == "status":
            rows = lab.status()
            if args.json:
                print(json.dumps(rows, indent=2))
            for r in rows if not args.json else []:
                print(f"{r['name']:<20} {r['address']:<14} {','.join(r['processes']):<28} "
                      f"flaws: {','.join(r['flaws']) or 'none'}")
            if not rows and not args.json:
                print("no emulated devices are up")
        elif args.emulate_cmd == "power-cycle":
            lab.power_cycle(args.name, args.off, wait=not args.no_wait)
        elif args.emulate_cmd == "labgrid":
            from harness.emulate import bench
            for path in bench.up(args.names):
                print(path)
        elif args.emulate_cmd == "button":
            print(lab.button(args.name, args.state))
        elif args.emulate_cmd == "power-on":
            time.sleep(args.after)
            lab.power_on(args.name)
        elif args.emulate_cmd == "redirect":
            if args.clear == bool(args.target and args.to):
                raise InputError("give TARGET and TO, or --clear", None, None, "redirect")
            from harness.emulate.redirect import redirect
            print(redirect(args.name, args.target, args.to))
        elif args.emulate_cmd == "recover":
            print(lab.recover(args.name))
        elif args.emulate_cmd == "boot-image":
            print(lab.write_boot_medium(args.name, args.file))
        elif args.emulate_cmd == "link":
            print(lab.link(args.name, args.state, args.loss, args.delay_ms))
    except KeyError as exc:
        raise InputError(f"no emulated device named {exc.args[0]}", None, None,
                         "name") from None
    except EmulateError as exc:
        print(f"harness emulate: {exc}", file=sys.stderr)
        return 2 if "root" in str(exc) or "overlaps" in str(exc) else 1
    return 0
