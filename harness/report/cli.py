"""`harness bundle`, `harness verify`, `harness keygen`, `harness diff`."""
from __future__ import annotations

from pathlib import Path


def add_parsers(sub) -> None:
    b = sub.add_parser("bundle", help="pack a run with a manifest of every file's SHA-256, "
                       "signed with the lab's Ed25519 key")
    b.add_argument("run_dir", type=Path)
    b.add_argument("--lab", help="lab config naming signing_key (default: the built-in)")
    b.add_argument("--key", type=Path, help="the Ed25519 private key (instead of the lab's)")
    b.add_argument("--out", type=Path, help="bundle file (default: RUN_DIR.bundle.tar.gz)")
    v = sub.add_parser("verify", help="check a bundle: every hash and the signature; names "
                       "altered, missing and added files (exit 1 when anything is wrong)")
    v.add_argument("bundle", type=Path)
    v.add_argument("--key", action="append", default=[], help="a signer's key fingerprint "
                   "(SHA256:...) or public key hex the verifier trusts (repeatable); also "
                   "trusted: the lab config's trusted_keys and its own signing key")
    v.add_argument("--lab", help="lab config whose trusted_keys (and signing key) to trust")
    v.add_argument("--extract", type=Path, metavar="DIR", help="write the verified files "
                   "here (a new or empty directory), only when everything verified")
    a = sub.add_parser("approve", help="authorise a finished run's report: who, their role "
                       "and when, signed with the lab's key (until then it says DRAFT)")
    a.add_argument("run_dir", type=Path)
    a.add_argument("--name", required=True, help="the person authorising the report")
    a.add_argument("--role", required=True, help="their role (e.g. technical manager)")
    a.add_argument("--lab", help="lab config naming signing_key (default: the built-in)")
    a.add_argument("--key", type=Path, help="the Ed25519 private key (instead of the lab's)")
    k = sub.add_parser("keygen", help="a new Ed25519 signing key: PATH and PATH.pub")
    k.add_argument("path", type=Path)
    d = sub.add_parser("diff", help="a re-test against a certified baseline: new open ports, "
                       "firmware, changed verdicts and evidence (exit 1 on a regression)")
    d.add_argument("old_run", type=Path)
    d.add_argument("new_run", type=Path)
    d.add_argument("--html", type=Path, help="also write the comparison as HTML here")


def _key_path(args) -> Path:
    """--key, else the lab config's signing_key."""
    from harness.errors import InputError
    if args.key is not None:
        return args.key
    from harness.lab.config import load_lab
    lab, lab_path = load_lab(args.lab)
    if not lab.signing_key:
        raise InputError("the lab config names no signing_key (or give --key)", lab_path,
                         None, "signing_key")
    return Path(lab_path).resolve().parent / lab.signing_key


def _lab_trust(lab_arg) -> list[str]:
    """The keys a lab config trusts: its trusted_keys and its own signing key's public key.
    Without --lab, only a lab config the user names counts (the built-in has none)."""
    from harness.lab.config import load_lab
    from harness.report import bundle
    if not lab_arg:
        return []
    lab, lab_path = load_lab(lab_arg)
    keys = list(lab.trusted_keys)
    if lab.signing_key:
        key = bundle.load_key(Path(lab_path).resolve().parent / lab.signing_key)
        keys.append(bundle.fingerprint(bundle._raw(key.public_key())))
    return keys


def run(args) -> int:
    from harness.errors import InputError
    from harness.report import bundle
    if args.cmd == "keygen":
        print(f"key: {args.path} (public: {args.path}.pub), fingerprint "
              f"{bundle.keygen(args.path)}")
        return 0
    if args.cmd == "approve":
        from harness.report import approval, writer
        from harness.redact import Redactor
        record = approval.approve(args.run_dir, bundle.load_key(_key_path(args)), args.name,
                                  args.role)
        writer.render_all(args.run_dir, Redactor())
        print(f"approved: run {record['run_id']} by {record['name']} ({record['role']}) at "
              f"{record['approved_at']}, key {record['key_fingerprint']}; reports rendered again")
        return 0
    if args.cmd == "bundle":
        key_path = _key_path(args)
        out = args.out or Path(f"{str(args.run_dir).rstrip('/')}.bundle.tar.gz")
        if out.exists():
            raise InputError("exists already", str(out), None, "--out")
        m = bundle.create(args.run_dir, bundle.load_key(key_path), out)
        print(f"bundle: {out} ({len(m['files'])} files, run {m['run_id']}, signed by "
              f"{m['key_fingerprint']})")
        return 0
    if args.cmd == "verify":
        from harness.termsafe import clean
        r = bundle.verify(args.bundle, [*args.key, *_lab_trust(args.lab)], args.extract)
        print(clean(f"run {r['run_id']}: {r['files']} files listed; signature "
                    f"{r['signature']} (key {r['key_fingerprint']}); signer {r['signer']}"))
        for what in ("refused", "altered", "missing", "added"):
            for p in r[what]:
                print(clean(f"  {what}: {p}"))
        print("verified: every file and the signature match, by a trusted key" if r["ok"]
              else "NOT VERIFIED")
        if r["ok"] and args.extract:
            print(f"extracted: {args.extract}")
        return 0 if r["ok"] else 1
    from harness.report import diff
    return diff.main(args.old_run, args.new_run, args.html)
