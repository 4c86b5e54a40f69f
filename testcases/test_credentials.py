"""Authentication: default and weak credentials, uniqueness across units, brute force,
changing the authentication value."""
import hashlib
import os
import secrets
import shlex

from harness.profile import applicability as a
from harness.errors import DeviceError, Inconclusive, NotRun
from harness.model import Verdict, testcase
from harness.probe import bruteforce, credentials, identity_keys, password_policy


@testcase("TC-CRED-01", "No known default or weak credential is accepted",
          steps=["offline, before any packet: every password the lab was given against the "
                 "whole known-credential list and the password policy (" + password_policy.POLICY
                 + ")",
                 "calibrate each login surface with one wrong password",
                 "positive control: the lab's own credential must log in with the same "
                 "procedure (else that surface is not tested: NOT_RUN)",
                 "try the vendor's documented defaults, then the known-credential list "
                 "(at most N per account; stop at the first hit); a throttling device is "
                 "waited out within a bounded time",
                 "login services the port scan finds outside the profile are listed as not "
                 "tested"],
          applies=[a.login_surface])
def test_no_default_credentials(device, evidence, run_context):
    entries = credentials.load_list()
    offline = password_policy.check(device.profile, entries)
    evidence.record("offline check of the lab-given passwords", {
        "policy": password_policy.POLICY, "passwords": offline})
    weak = [f"{o['surface']} user {o['user']}: the lab-given password " + ", ".join(o["breaks"])
            for o in offline if o["breaks"]]
    if weak:                # the others are not judged: harness.en18031 says so for them
        evidence.per_surface({o["surface"]: ("FAIL", "the lab-given password "
                                             + ", ".join(o["breaks"])) for o in offline
                              if o["breaks"]})
    evidence.expect("no lab-given password breaks the policy", not weak, "none", weak,
                    reason="; ".join(weak))
    lab = run_context.lab
    per_account = lab.rate_limits.credential_tries_per_account
    results = credentials.try_known(device, entries, per_account,
                                    budget=lab.rate_limits.backoff_budget)
    evidence.per_surface({r.surface: ("FAIL", "known credential accepted") if r.hit else
                          ("INCONCLUSIVE", r.stopped) if r.stopped else
                          ("NOT_RUN", r.untested) if r.untested else
                          ("NOT_RUN", r.calibrated + " (TC-AUTH-01's finding)")
                          if r.calibrated.startswith("accepts") else
                          ("PASS", f"{len(r.tried)} known credentials refused") if r.tried
                          else ("INCONCLUSIVE", "no known credential tried")
                          for r in results})
    for r in results:
        evidence.record(f"surface {r.surface}", {
            **{k: v for k, v in r.to_dict().items() if k != "hit"},
            "online": f"{len(r.tried)} known credentials tried online of {len(entries)} in the "
                      f"list (at most {per_account} per account, vendor defaults first)"})
    hits = [f"{r.surface}: {r.hit['username']}/{r.hit['password']} ({r.hit['source']})"
            for r in results if r.hit]
    evidence.expect("no known credential accepted", not hits, "none", hits,
                    reason="known credential accepted: " + "; ".join(hits))
    # a surface stopped part-way (lockout that did not let up, hang-up) was not tried with
    # the rest of its list: the verdict cannot speak for it
    stopped = [f"{r.surface}: {r.stopped}" for r in results if r.stopped]
    if stopped:
        raise Inconclusive("login surfaces not tried with their whole list: "
                           + "; ".join(stopped))
    untested = [r.untested for r in results if r.untested]
    if device.profile.address:
        from harness.probe import ports
        scans = device.cached("scan", lambda: ports.scan(device, lab))
        untested += credentials.seen_not_in_profile(device.profile, scans)
    evidence.expect("every login surface tested with its positive control", True,
                    "all tested", {"not tested": untested})
    if untested:
        raise NotRun("not run on part of the unit: " + "; ".join(untested))
    if not any(r.tried or r.calibrated.startswith("accepts") for r in results):
        raise Inconclusive("no login surface was tried")


def _needs_two(device) -> tuple:
    p = device.profile
    return (Verdict.NOT_RUN, f"not run: needs at least two units of {p.vendor} {p.model} "
            "(another unit in this run, or the vendor's comparison_units in the device type)",
            [])


def _alone(observation) -> str:
    n = observation["vendor_units"]
    return (f"none: decided by the vendor's comparison data ({n} unit(s))" if n else
            "none: decided by the firmware image alone")


def _decide_passwords(device, observation, peers):
    """Run-level: compare this unit's password with the other units of the model in the
    run (from their profiles; no traffic)."""
    from harness.firmware.join import shared
    mine = set(device.profile.secrets())
    image, image_ev = shared(observation, peers, "accounts", "fixed password hash")
    if not peers and not observation["vendor_units"] and not image:
        return _needs_two(device)
    same = [d.name for d, _ in peers if mine & set(d.profile.secrets())]
    ev = [{"check": "password differs from the other units of the model in the run",
           "expected": "unique per unit", "observed": {"compared with": [d.name for d, _ in peers],
                                                       "same password as": same},
           "ok": not same}] if peers else [
        {"check": "other units of the model in the run", "observed": _alone(observation)}]
    problems = ([f"same password as {', '.join(same)}"] if same else []) + image
    if problems:
        return Verdict.FAIL, "; ".join(problems), ev + image_ev
    return Verdict.PASS, "", ev + image_ev


@testcase("TC-UNIQ-01", "Passwords are unique per unit and not derived from identifiers",
          steps=["check the lab-given password is not derived from the serial number or MAC",
                 "compare it with the vendor's comparison data (password digests)",
                 "at the end of the run: compare it with every other unit of the same model"],
          applies=[a.login_surface], decide=_decide_passwords)
def test_passwords_unique(device, evidence):
    mine = set(device.profile.secrets())
    if not mine:
        raise NotRun("not run: the profile holds no password for this unit")
    derived = {s: password_policy.derived_from_identifiers(s, device.profile) for s in mine}
    derived = [why for why in derived.values() if why]
    evidence.expect("password not derived from identifiers", not derived, "independent",
                    derived, reason="password " + ", ".join(derived))
    vendor = [u for u in device.profile.comparison_units if u.password_sha256]
    digests = {hashlib.sha256(s.encode()).hexdigest() for s in mine}
    same = [u.name for u in vendor if u.password_sha256 in digests]
    if vendor:
        evidence.expect("password differs from the vendor's other units", not same,
                        "unique per unit", {"compared with": [u.name for u in vendor],
                                            "same password as": same},
                        reason=f"same password as {', '.join(same)} (vendor comparison data)")
    else:
        evidence.record("vendor comparison data", "none given: the other units of the model "
                        "in this run decide (at the end of the run)")
    evidence.observe({"vendor_units": len(vendor)})


def _decide_keys(device, observation, peers):
    """Run-level: compare fingerprints with the other units' observations."""
    from harness.firmware.join import shared as image_shared
    image, image_ev = image_shared(observation, peers, "keys", "private key")
    if not peers and not observation["vendor_units"] and not image:
        return _needs_two(device)
    mine, shared = observation, []
    for d, theirs in peers:
        if mine["ssh"] and mine["ssh"] == theirs["ssh"]:
            shared.append(f"SSH host key with {d.name}")
        if set(mine["tls"].values()) & set(theirs["tls"].values()):
            shared.append(f"TLS certificate with {d.name}")
    ev = [{"check": "no key material shared with the other units of the model in the run",
           "expected": "unique per unit", "observed": {"compared with": [d.name for d, _ in peers],
                                                       "shared": shared}, "ok": not shared}] \
        if peers else [{"check": "other units of the model in the run",
                        "observed": _alone(observation)}]
    problems = (["shares " + "; ".join(shared)] if shared else []) + image
    if problems:
        return Verdict.FAIL, "; ".join(problems), ev + image_ev
    return Verdict.PASS, "", ev + image_ev


@testcase("TC-UNIQ-02", "SSH host keys and TLS certificates are unique per unit",
          steps=["read the SSH host key and the TLS certificate of each TLS port",
                 "compare them with the vendor's comparison data (fingerprints)",
                 "at the end of the run: compare them with every other unit of the same model"],
          applies=[a.network], decide=_decide_keys)
def test_keys_unique(device, evidence):
    mine = {"ssh": (identity_keys.ssh_host_key(device) or {}).get("sha256"),
            "tls": {str(k): v for k, v in identity_keys.tls_certificates(device).items()}}
    evidence.record("this unit's key fingerprints", mine)
    vendor = [u for u in device.profile.comparison_units
              if u.ssh_host_key_sha256 or u.tls_cert_sha256]
    shared = [f"SSH host key with {u.name}" for u in vendor
              if mine["ssh"] and mine["ssh"] == u.ssh_host_key_sha256]
    shared += [f"TLS certificate with {u.name}" for u in vendor
               if set(mine["tls"].values()) & set(u.tls_cert_sha256)]
    if vendor:
        evidence.expect("no key material shared with the vendor's other units", not shared,
                        "unique per unit", {"compared with": [u.name for u in vendor],
                                            "shared": shared},
                        reason="shares " + "; ".join(shared))
    else:
        evidence.record("vendor comparison data", "none given: the other units of the model "
                        "in this run decide (at the end of the run)")
    evidence.observe({**mine, "vendor_units": len(vendor)})


@testcase("TC-BRUTE-01", "Brute force over the network is impracticable",
          steps=["send a bounded burst of wrong passwords to each password login surface",
                 "record the timing curve; look for delay, refusal or lockout (also: the "
                 "valid login refused right after the burst)",
                 "wait out the lockout window; the lab's valid login must work again"],
          applies=[a.login_surface], destructive=True, disrupts="lockout")
def test_brute_force_resistance(device, evidence, run_context):
    from harness import surfaces as registry
    from harness.probe.patience import Patience
    p, w, lab = device.profile, device.wire, run_context.lab
    n = lab.rate_limits.brute_force_attempts
    chosen, untested = [], []
    excluded = {}                     # surface -> its outcome when it is not in the burst
    for s in registry.logins(p):      # every network password login of the unit itself
        why = registry.brute_exclusion(device, s)
        if why:
            evidence.record(f"{s.name}: not in the burst", why)
            excluded[s.name] = ("NOT_APPLICABLE", why)
        elif not registry.kind(s).attempt or not s.has_credentials:
            untested.append(registry.control(device, s)["why"])
            excluded[s.name] = ("NOT_RUN", untested[-1])
        else:
            chosen.append(s)
    if not chosen and not untested:
        raise Inconclusive("no network password login surface on the unit")

    def one(s):
        attempt = registry.kind(s).attempt(device, s)
        user, good = s.lab_credential()
        patience = Patience(lab.rate_limits.backoff_budget)
        if patience.call(attempt, user, "hx-wrong-" + secrets.token_hex(6)):
            return s, "open", None                         # TC-AUTH-01's finding
        if not patience.call(attempt, user, good):         # the positive control
            return s, "untested", registry.control(device, s)["why"] or \
                f"{s.name}: the lab's own credential was refused before the burst"
        curve = bruteforce.burst(lambda pw: attempt(user, pw), n, w.connect_timeout)
        judged = bruteforce.throttled(curve, base=0.5,
                                      silent=registry.kind(s).silent_refusal(s))
        ok, waited, locked = bruteforce.recovers(lambda: attempt(user, good), window=90.0)
        judged = {**judged, "locked_out": locked, "throttled": judged["throttled"] or locked,
                  "valid_login_after_s": waited, "valid_login_works_again": ok}
        return s, "burst", (curve, judged)

    from concurrent.futures import ThreadPoolExecutor
    outcomes = []
    if chosen:
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:   # independent services
            outcomes = list(pool.map(one, chosen))
    unthrottled, stuck = [], []
    per = dict(excluded)
    for s, how, data in outcomes:
        if how == "open":
            why = "accepts a wrong password: it authenticates nothing (TC-AUTH-01's finding)"
            evidence.record(f"{s.name}: not in the burst", why)
            per[s.name] = ("NOT_RUN", why)
            continue
        if how == "untested":
            untested.append(data)
            per[s.name] = ("NOT_RUN", data)
            continue
        curve, judged = data
        evidence.record(f"{s.name} timing curve", curve)
        evidence.record(f"{s.name} throttling seen", judged)
        fail = f"{s.name}: a random wrong password was accepted" \
            if any(c["outcome"] == "accepted" for c in curve) else \
            f"{s.name}: {n} wrong passwords refused without delay or lockout" \
            if not judged["throttled"] else ""
        late = "" if judged["valid_login_works_again"] else \
            f"{s.name}: the valid login did not work again within " \
            f"{judged['valid_login_after_s']}s"
        unthrottled += [fail] if fail else []
        stuck += [late] if late else []
        per[s.name] = ("FAIL", fail) if fail else ("INCONCLUSIVE", late) if late else \
            ("PASS", "throttled" + (" (locked out)" if judged["locked_out"] else "")
             + f"; the valid login works again after {judged['valid_login_after_s']}s")
    evidence.per_surface(per)
    evidence.expect("every surface throttles a burst", not unthrottled, "throttled",
                    unthrottled, reason="; ".join(unthrottled))
    if stuck:
        raise Inconclusive("; ".join(stuck) + " (permanent lockout or the device stopped "
                           "answering)")
    if untested:
        raise NotRun("not run on part of the unit: " + "; ".join(untested))


@testcase("TC-PWCHG-01", "The authentication value can be changed, on every surface",
          steps=["change the password over the device's own interface (profile's command)",
                 "every password surface must reject the old and accept the new one",
                 "restore the original password"],
          applies=[a.password_change], destructive=True,
          disrupts="credentials")
def test_password_can_be_changed(device, evidence, run_context):
    from harness import surfaces as registry
    from harness.probe.patience import Patience
    p = device.profile
    old = (p.ssh or p.telnet or p.serial).password.get_secret_value()
    user = (p.ssh or p.telnet or p.serial).username
    new = "Hx-" + secrets.token_urlsafe(12)
    device.wire.transcript.redact.add(new)
    patience = Patience(run_context.lab.rate_limits.backoff_budget)
    surfaces, untested = {}, []          # the logins of the device's own account
    per = {}                              # login surface -> (verdict, why)
    for s in registry.logins(p):
        k = registry.kind(s)
        if s.kind in ("mqtt", "rtsp", "ftp", "snmp") or not k.attempt:
            per[s.name] = ("NOT_RUN", "an account of its own (or no login procedure): the "
                           "profile's password change does not reach it")
            continue
        attempt = k.attempt(device, s)
        u = s.username or user
        if patience.call(attempt, u, "hx-wrong-" + secrets.token_hex(6)):
            evidence.record(f"{s.name} skipped", "accepts a wrong password (TC-DEBUG/TC-AUTH's "
                            "finding)")
            per[s.name] = ("NOT_RUN", "accepts a wrong password (TC-DEBUG/TC-AUTH's finding)")
        elif not patience.call(attempt, u, old):           # the positive control
            untested.append(f"{s.name}: the current password is refused before the change "
                            "(the login procedure cannot be shown to work)")
            per[s.name] = ("NOT_RUN", untested[-1])
        else:
            surfaces[s.name] = (attempt, u)
    results, problems = {}, []
    try:
        status, out = _change(device, user, new)
        evidence.record("change command", {"status": status, "output": out[-200:]})
        if status != 0:
            raise DeviceError(f"the password change command failed ({status}: "
                              f"{out.strip()[-160:]})")
        for name, (attempt, u) in surfaces.items():   # a service may restart to apply it
            old_ok, new_ok = patience.call(attempt, u, old), patience.call(attempt, u, new)
            results[name] = {"old_accepted": old_ok, "new_accepted": new_ok}
            if old_ok or not new_ok:
                problems.append(f"{name}: old {'accepted' if old_ok else 'refused'}, "
                                f"new {'accepted' if new_ok else 'refused'}")
    finally:
        # always, also when the change failed or raised half-way: it may have applied
        _restore(device, user, new, old, {n: a for n, (a, _) in surfaces.items()}, evidence,
                 run_context)
    if patience.events:
        evidence.record("waited for the device", patience.to_dict())
    evidence.per_surface({**per, **{
        n: ("FAIL", f"{n}: old {'accepted' if r['old_accepted'] else 'refused'}, new "
                    f"{'accepted' if r['new_accepted'] else 'refused'}")
        if r["old_accepted"] or not r["new_accepted"] else
        ("PASS", "the old password refused, the new one accepted") for n, r in results.items()}})
    evidence.expect("old refused and new accepted everywhere", not problems,
                    "old refused, new accepted", results, reason="; ".join(problems))
    if untested:
        raise NotRun("not run on part of the unit: " + "; ".join(untested))


def _change(device, user, password, shell=None) -> tuple[int, str]:
    """The profile's command with {user} and {new} quoted for the device's POSIX shell (a
    password with $, quotes, spaces or ; is passed as one word, never run)."""
    cmd = device.profile.password_change.command.format(user=shlex.quote(user),
                                                        new=shlex.quote(password))
    shell = shell or device.shell()
    try:
        return shell.run(cmd)
    finally:
        shell.close()


def _restore(device, user, new, old, surfaces, evidence, run_context):
    """Put the original password back (logging in with the new one if the lab's login no
    longer works) and prove it by logging in with the original. When that cannot be
    proved, the temporary password goes once, clearly marked, into a file only the lab can
    read, and every later test on the device is an ERROR with the cause."""
    from harness.transport.ssh import SSHSession
    p = device.profile
    try:
        try:
            shell = device.shell()
        except DeviceError:
            if not p.ssh:
                raise
            s = SSHSession(device.wire, p.address, p.ssh.port)
            if not s.auth_password(user, new):
                s.close()
                raise DeviceError("could not log in with the temporary password either")
            shell = s
        status, out = _change(device, user, old, shell)
        shells = [f for n, f in surfaces.items() if n.startswith(("ssh", "telnet", "serial"))]
        verified = status == 0 and (not shells or shells[0](user, old))
        why = "" if verified else f"restore command {status}: {out[-120:]}" if status else \
            "the original password is not accepted after the restore"
    except DeviceError as exc:
        verified, why = False, str(exc)
    evidence.record("original password restored and verified by a login", verified)
    if verified:
        return
    note = run_context.out_dir / f"RECOVERY-{device.name}.txt"
    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{device.name}: the password change test could not restore the original "
                 f"password of user {user!r} ({why}).\nThe temporary password the harness "
                 f"set is:\n{new}\n")
    device.mark_broken(f"the original password could not be restored ({why}); the temporary "
                       f"password is in {note.name} in the run directory")
    raise DeviceError(f"the original password could not be restored ({why}); see {note.name}")
