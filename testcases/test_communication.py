"""Secure communication: TLS, SSH algorithms, no credentials in plaintext."""
from harness.profile import applicability as a
from harness.errors import DeviceError, Inconclusive, NotApplicable
from harness.model import testcase
from harness.probe import ssh_algorithms, standin, tls, tls_client

OLD_VERSIONS = {"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"}
WEAK_SUITE_MARKERS = ("RC4", "_DES_", "3DES", "NULL", "EXPORT", "anon", "_MD5")

# SSH policy (best-practice cryptography, ETSI 5.5-1): what makes the test FAIL.
SSH_WEAK = {
    "kex": ("diffie-hellman-group1-sha1", "diffie-hellman-group-exchange-sha1",
            "gss-group1-sha1"),
    "enc": ("3des", "des", "arcfour", "rc4", "blowfish", "cast128", "none"),
    "mac": ("md5", "-96", "umac-32", "none"),
    "key": ("ssh-dss",),
}


@testcase("TC-TLS-01", "TLS ports offer only TLS 1.2+ with strong cipher suites",
          steps=["sslyze: accepted suites per protocol version on every TLS port, "
                 "≤ lab-configured connections at a time",
                 "FAIL on SSLv2/3, TLS 1.0/1.1 or suites with RC4, DES, 3DES, NULL, EXPORT, "
                 "anonymous key exchange or MD5"],
          applies=[a.network])
def test_tls_configuration(device, evidence, run_context):
    port_list = tls.tls_ports(device.profile)
    if not port_list:
        raise NotApplicable("the profile declares no TLS port")
    obs = tls.scan(device, port_list, run_context.lab.rate_limits.tls_connections)
    problems, errors = [], []
    for o in obs:
        evidence.record(f"port {o.port}", o.to_dict())
        if o.error and not o.versions:
            errors.append(f"{o.port}: {o.error}")
        for version, suites in o.versions.items():
            if version in OLD_VERSIONS:
                problems.append(f"{o.port}: {version} accepted")
            weak = [s for s in suites if any(m in s for m in WEAK_SUITE_MARKERS)]
            if weak:
                problems.append(f"{o.port}: weak suites in {version}: {', '.join(weak[:5])}")
    if errors and not problems:
        raise DeviceError("TLS scan failed: " + "; ".join(errors))
    evidence.expect("only TLS 1.2+ with strong suites", not problems, "TLS 1.2/1.3, strong",
                    problems, reason="; ".join(problems))


@testcase("TC-TLS-02", "The device's TLS client refuses a server certificate from an untrusted CA",
          steps=["for each outbound TLS connection in the profile: the harness listens on the "
                 "lab's harness_address with a fresh certificate for the expected host name, "
                 "issued by a CA made for this run",
                 "the lab's redirect action sends the device's connection there; the profile's "
                 "trigger action (default power_cycle) makes the device connect",
                 "PASS when the client aborts the handshake; FAIL when it completes it; "
                 "INCONCLUSIVE when no TLS connection arrives within the wait",
                 "the redirect is always cleared"],
          applies=[a.tls_client], disrupts="redirect")
def test_tls_client_verification(device, evidence, run_context, lifecycle):
    lab, p = standin.lab_for(run_context, "the device's server"), device.profile
    accepted, undecided = [], []
    for client in p.tls_clients:
        target = f"{client.host}:{client.port}"
        with tls_client.StandIn(lab.harness_address, client.host,
                                device.wire.transcript) as server:
            with standin.redirected(lifecycle, target, server.endpoint):
                server.start(client.wait)
                if client.trigger:               # a power cycle: proven ready afterwards
                    lifecycle.act(client.trigger, timeout=120)
                attempts = server.result()
        evidence.record(f"client to {target} ({client.purpose})",
                        {"stand_in": server.endpoint,
                         "attempts": [a_.to_dict() for a_ in attempts]})
        last = attempts[-1].outcome if attempts else "none"
        if last == "completed":
            accepted.append(f"{target}: handshake completed with an untrusted certificate "
                            f"({attempts[-1].app_bytes} bytes of application data followed)")
        elif last != "rejected":
            undecided.append(f"{target}: " + ("no connection arrived within "
                                              f"{client.wait:.0f}s" if not attempts else
                                              f"{last} ({attempts[-1].detail})"))
    if undecided and not accepted:
        raise Inconclusive("; ".join(undecided))
    evidence.expect("every TLS client aborts the handshake", not accepted,
                    "handshake refused", accepted, reason="; ".join(accepted))


@testcase("TC-SSH-01", "SSH uses best-practice key exchange, ciphers, MACs and host keys",
          steps=["ssh-audit reads the server's algorithm lists (no connection-rate test)",
                 "FAIL on 1024-bit or SHA-1 group exchange, (3)DES/RC4/Blowfish/CAST, MD5 or "
                 "truncated MACs, DSA host keys, RSA host keys under 2048 bits"],
          applies=[a.ssh])
def test_ssh_algorithms(device, evidence):
    result = ssh_algorithms.audit(device, device.profile.ssh.port)
    evidence.record("server", result["banner"])
    weak = []
    for kind, algs in result["algorithms"].items():
        for alg in algs:
            name = alg["name"]
            if any(m in name for m in SSH_WEAK.get(kind, ())):
                weak.append(f"{kind} {name}")
            elif kind == "key" and "rsa" in name and (alg.get("keysize") or 2048) < 2048:
                weak.append(f"key {name} {alg['keysize']} bits")
    evidence.record("ssh-audit findings (informative)",
                    {k: [a["name"] for a in v if a["ssh_audit_fail"]]
                     for k, v in result["algorithms"].items()})
    evidence.expect("no weak algorithm offered", not weak, "none", weak,
                    reason="weak SSH algorithms offered: " + ", ".join(weak))


@testcase("TC-COMM-01", "No credentials cross the network in plaintext",
          steps=["each login surface: does its declared login run over an encrypted "
                 "channel? (web logins without TLS, MQTT without TLS, telnet, FTP, SNMP "
                 "v1/v2c communities)"],
          applies=[a.network])
def test_no_plaintext_credentials(device, evidence):
    from harness import surfaces
    found, checked = [], 0
    for s in surfaces.of(device.profile):
        k = surfaces.kind(s)
        c = k.cleartext(device, s) if k.cleartext else None
        if c is None:
            continue
        checked += 1
        evidence.record(c["surface"], {k_: v for k_, v in c.items() if k_ != "surface"})
        if c["finding"]:
            found.append(c["finding"])
    if not checked:
        raise NotApplicable("the profile declares no credential surface on the network "
                            "(web login, MQTT, telnet, FTP or SNMP)")
    evidence.expect("credentials only over encrypted channels", not found, "none in plaintext",
                    found, reason="; ".join(found))
