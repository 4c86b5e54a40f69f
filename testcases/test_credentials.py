"""Authentication: default and weak credentials, uniqueness across units, brute force,
changing the authentication value."""
import re
import secrets

from harness import applicability as a
from harness.errors import DeviceError, Inconclusive
from harness.model import testcase
from harness.probe import bruteforce, credentials, identity_keys


@testcase("TC-CRED-01", "No known default or weak credential is accepted",
          ["ETSI-5.1-1", "ETSI-5.1-2", "JCSTAR-S1.1-02", "JCSTAR-S1.1-01"],
          steps=["calibrate each login surface with one wrong password",
                 "try the vendor's documented defaults, then the known-credential list "
                 "(at most N per account; stop at the first hit)"],
          applies=[a.login_surface])
def test_no_default_credentials(device, evidence, run_context):
    entries = credentials.load_list()
    per_account = run_context.lab.rate_limits.credential_tries_per_account
    results = credentials.try_known(device, entries, per_account)
    for r in results:
        evidence.record(f"surface {r.surface}", {k: v for k, v in r.to_dict().items()
                                                  if k != "hit"})
    hits = [f"{r.surface}: {r.hit['username']}/{r.hit['password']} ({r.hit['source']})"
            for r in results if r.hit]
    evidence.expect("no known credential accepted", not hits, "none", hits,
                    reason="known credential accepted: " + "; ".join(hits))
    untested = [f"{r.surface}: {r.stopped}" for r in results
                if r.stopped.startswith("calibration failed")]
    if untested or not any(r.tried or r.calibrated.startswith("accepts") for r in results):
        raise Inconclusive("login surfaces that could not be tried: " + ("; ".join(untested)
                           or "none answered"))


def _derived_from_identifiers(password: str, profile) -> str | None:
    pw = password.lower()
    for label, value in (("serial number", profile.serial_number), ("MAC", profile.mac)):
        if not value:
            continue
        v = re.sub(r"[^0-9a-z]", "", value.lower())
        for part in (v, v[-6:], v[-8:]):
            if len(part) >= 6 and part in re.sub(r"[^0-9a-z]", "", pw):
                return f"contains part of the {label}"
    return None


@testcase("TC-UNIQ-01", "Passwords are unique per unit and not derived from identifiers",
          ["ETSI-5.1-1", "JCSTAR-S1.1-02"],
          steps=["compare the lab-given password of this unit with every other unit of the "
                 "same model in the run", "check it is not derived from the serial number "
                 "or MAC address"],
          applies=[a.login_surface])
def test_passwords_unique(device, peers, evidence):
    mine = set(device.profile.secrets())
    if not mine:
        raise Inconclusive("the profile holds no password for this unit")
    derived = {s: _derived_from_identifiers(s, device.profile) for s in mine}
    derived = [why for why in derived.values() if why]
    evidence.expect("password not derived from identifiers", not derived, "independent",
                    derived, reason="password " + ", ".join(derived))
    if not peers:
        evidence.record("other units of the model in this run", 0)
        return
    same = [p.name for p in peers if mine & set(p.profile.secrets())]
    evidence.expect("password differs from other units of the model", not same,
                    "unique per unit", {"same password as": same},
                    reason=f"same password as {', '.join(same)}")


@testcase("TC-UNIQ-02", "SSH host keys and TLS certificates are unique per unit",
          ["ETSI-5.1-1", "ETSI-5.4-3", "JCSTAR-S1.1-02"],
          steps=["read the SSH host key and the TLS certificate of each TLS port",
                 "compare them with the other units of the same model in the run"],
          applies=[a.network])
def test_keys_unique(device, peers, evidence):
    def keys(d):
        return d.cached("keys", lambda: {
            "ssh": (identity_keys.ssh_host_key(d) or {}).get("sha256"),
            "tls": identity_keys.tls_certificates(d)})
    mine = keys(device)
    evidence.record("this unit's key fingerprints", mine)
    if not peers:
        evidence.record("other units of the model in this run", 0)
        return
    shared = []
    for p in peers:
        theirs = keys(p)
        if mine["ssh"] and mine["ssh"] == theirs["ssh"]:
            shared.append(f"SSH host key with {p.name}")
        common = set(mine["tls"].values()) & set(theirs["tls"].values())
        if common:
            shared.append(f"TLS certificate with {p.name}")
    evidence.expect("no key material shared with other units", not shared, "unique per unit",
                    shared, reason="shares " + "; ".join(shared))


@testcase("TC-BRUTE-01", "Brute force over the network is impracticable",
          ["ETSI-5.1-5", "JCSTAR-S1.1-04"],
          steps=["send a bounded burst of wrong passwords to each password login surface",
                 "record the timing curve; look for delay, refusal or lockout (also: the "
                 "valid login refused right after the burst)",
                 "wait out the lockout window; the lab's valid login must work again"],
          applies=[a.login_surface], destructive=True)
def test_brute_force_resistance(device, evidence, run_context):
    from harness.transport import ssh
    p, w = device.profile, device.wire
    n = run_context.lab.rate_limits.brute_force_attempts
    surfaces = {}
    if p.ssh and p.ssh.password:
        user, good = p.ssh.username, p.ssh.password.get_secret_value()
        surfaces[f"ssh:{p.ssh.port}"] = (
            lambda pw: ssh.try_password(w, p.address, p.ssh.port, user, pw) == "accepted",
            lambda: ssh.try_password(w, p.address, p.ssh.port, user, good) == "accepted")
    for web in p.web:
        if web.auth != "none" and web.password:
            attempt = credentials.web_attempt(device, web)
            good = web.password.get_secret_value()
            surfaces[f"http-{web.auth}:{web.port}"] = (
                lambda pw, f=attempt, u=web.username: f(u, pw),
                lambda f=attempt, u=web.username, g=good: f(u, g))
    if not surfaces:
        raise Inconclusive("no password login surface with lab credentials to test")
    def one(item):
        name, (wrong, valid) = item
        curve = bruteforce.burst(wrong, n, w.connect_timeout)
        judged = bruteforce.throttled(curve, base=0.5)
        ok, waited, locked = bruteforce.recovers(valid, window=90.0)
        judged = {**judged, "locked_out": locked, "throttled": judged["throttled"] or locked}
        return name, curve, judged, ok, waited

    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=len(surfaces)) as pool:   # independent services
        outcomes = list(pool.map(one, surfaces.items()))
    unthrottled, stuck = [], []
    for name, curve, judged, ok, waited in outcomes:
        evidence.record(f"{name} timing curve", curve)
        evidence.record(f"{name} throttling", {**judged, "valid_login_after_s": waited,
                                               "valid_login_works_again": ok})
        if any(c["outcome"] == "accepted" for c in curve):
            unthrottled.append(f"{name}: a random wrong password was accepted")
        elif not judged["throttled"]:
            unthrottled.append(f"{name}: {n} wrong passwords refused without delay or lockout")
        if not ok:
            stuck.append(f"{name}: the valid login did not work again within {waited}s")
    if stuck and not unthrottled:
        raise Inconclusive("; ".join(stuck) + " (permanent lockout or the device stopped "
                           "answering)")
    evidence.expect("every surface throttles a burst", not unthrottled, "throttled",
                    unthrottled, reason="; ".join(unthrottled))


@testcase("TC-PWCHG-01", "The authentication value can be changed, on every surface",
          ["ETSI-5.1-4", "JCSTAR-S1.1-03"],
          steps=["change the password over the device's own interface (profile's command)",
                 "every password surface must reject the old and accept the new one",
                 "restore the original password"],
          applies=[a.password_change], destructive=True)
def test_password_can_be_changed(device, evidence):
    p = device.profile
    old = (p.ssh or p.telnet or p.serial).password.get_secret_value()
    user = (p.ssh or p.telnet or p.serial).username
    new = "Hx-" + secrets.token_urlsafe(12)
    device.wire.transcript.redact.secrets.insert(0, new)
    surfaces = {k: f for k, f in credentials.surfaces(device).items()
                if not k.startswith(("mqtt", "rtsp", "ftp"))}
    for name, attempt in list(surfaces.items()):      # a surface that takes any password
        if attempt(user, "hx-wrong-" + secrets.token_hex(6)):   # is TC-DEBUG/TC-AUTH's finding
            evidence.record(f"{name} skipped", "accepts a wrong password")
            del surfaces[name]
    shell = device.shell()
    try:
        status, out = shell.run(p.password_change.command.format(user=user, new=new))
    finally:
        shell.close()
    evidence.record("change command", {"status": status, "output": out[-200:]})
    if status != 0:
        raise DeviceError(f"the password change command failed ({status})")
    results, problems = {}, []
    try:
        for name, attempt in surfaces.items():
            u = next((wb.username for wb in p.web if name.endswith(f":{wb.port}")), user)
            old_ok, new_ok = attempt(u, old), attempt(u, new)
            results[name] = {"old_accepted": old_ok, "new_accepted": new_ok}
            if old_ok or not new_ok:
                problems.append(f"{name}: old {'accepted' if old_ok else 'refused'}, "
                                f"new {'accepted' if new_ok else 'refused'}")
    finally:
        _restore(device, user, new, old, evidence)
    evidence.expect("old refused and new accepted everywhere", not problems,
                    "old refused, new accepted", results, reason="; ".join(problems))


def _restore(device, user, new, old, evidence):
    """Put the original password back, logging in with the new one if needed."""
    from harness.transport.ssh import SSHSession
    p = device.profile
    cmd = p.password_change.command.format(user=user, new=old)
    try:
        shell = device.shell()
    except DeviceError:
        s = SSHSession(device.wire, p.address, p.ssh.port)
        if not s.auth_password(user, new):
            raise DeviceError("could not log in to restore the original password")
        shell = s
    try:
        status, out = shell.run(cmd)
    finally:
        shell.close()
    evidence.record("original password restored", status == 0)
    if status != 0:                   # every later test would log in with a wrong password
        device.mark_broken(f"the original password could not be restored ({status}: "
                           f"{out[-120:]})")
        raise DeviceError(f"the original password could not be restored ({status})")
