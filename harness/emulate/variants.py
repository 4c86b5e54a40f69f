"""The emulated devices: which product, which unit, which planted flaws.

Each flaw is named; the detection matrix in tests/ asserts, per variant, exactly which
test cases FAIL. A compliant unit has an empty flaw set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FLAWS = {
    "shared_default_password": "every unit ships with the documented default password",
    "shared_keys": "every unit shares one SSH host key and one TLS certificate",
    "telnet": "telnet open (undeclared)",
    "telnet_no_login": "telnet drops straight into a root shell",
    "plain_http_login": "web login over plaintext HTTP",
    "weak_tls": "TLS 1.0 and weak cipher suites accepted",
    "weak_ssh": "weak SSH key exchange, ciphers and MACs",
    "no_throttle": "no brute-force throttling",
    "plaintext_storage": "passwords stored in plaintext and as unsalted MD5-crypt",
    "root_console": "serial console drops straight into a root shell",
    "info_leak": "unauthenticated status page reveals firmware version and Wi-Fi passphrase",
    "anonymous_rtsp": "RTSP stream described without authentication",
    "ftp_anonymous": "anonymous FTP open (undeclared)",
    "anonymous_mqtt": "cloud broker accepts anonymous publish/subscribe",
    "plaintext_mqtt": "MQTT without TLS",
    "unsigned_update": "accepts unsigned and tampered firmware images",
    "downgrade_update": "accepts a signed image of an older version",
    "reset_keeps_wifi": "factory reset keeps the Wi-Fi passphrase",
    "reset_keeps_user_data": "factory reset erases the settings but leaves the user's data "
                             "on the data disk",
    "unsafe_on_link_loss": "keeps heating after the link to the broker is lost",
    "queued_commands": "a persistent MQTT session: a command sent during an outage switches "
                       "the heater on when the link returns",
    "malformed_on": "a sloppy command parser: malformed frames starting with 'o' switch it on",
    "retained_commands": "carries out a retained command the broker replays when it "
                         "subscribes (after a power cycle, an old ON switches it on)",
    "tls_client_noverify": "the cloud client accepts any server certificate",
    "remote_on_at_shipment": "remote operation is enabled in the shipped state (after a "
                             "factory reset)",
    "remote_overrides_local": "a remote command right after a local operation overrides it "
                              "(the last command wins, local or not)",
    "stale_state_report": "the state reported back on the command channel is the one before "
                          "the command (the load switches; the app is told it did not)",
    "obeys_sibling_commands": "subscribes to the commands of every unit on its cloud broker (a "
                              "wildcard topic): a command addressed to its sibling moves it",
    "reconnect_storm": "no reconnection back-off: after a link flap it retries the cloud "
                       "five times a second",
    "undeclared_telemetry": "its telemetry to the vendor cloud also carries the home's Wi-Fi "
                            "name and position, which the vendor does not declare",
    "bootloader_break_in": "any key on the serial console stops autoboot at an open U-Boot prompt",
    "unverified_boot": "U-Boot boots whatever FIT the firmware disk holds (no hashes or "
                       "signature in the shipped one, no key in its control device tree): a "
                       "modified kernel, and an unsigned or foreign-signed update, boot",
    "weak_password": "the unit's password is a known default deep in the credential list, "
                     "beyond what the online tries reach",
    "short_password": "the unit's password is unique but two characters long: no match for "
                      "automated guessing",
    "ipv6_only_telnet": "telnet listens on IPv6 only: an IPv4 scan cannot see it",
    "known_exploited_vuln": "old firmware: its package list and web server banner report "
                            "lighttpd 1.4.59 and busybox 1.31.1, with known exploited CVEs",
    "web_no_login": "its web UI (Node-RED) runs in its shipped configuration: no adminAuth, "
                    "the editor and its admin API answer anyone; the login the vendor's "
                    "manual describes does not exist (its token endpoint answers 404)",
    "anonymous_stream": "its MJPEG stream (motion) runs with the shipped stream settings: no "
                        "authentication",
    "tftp_backup": "an undeclared TFTP server (tftpd-hpa) hands out the configuration backup "
                   "to anyone",
    "snmp_public": "SNMP v2c with the documented default community 'public' (net-snmp), "
                   "in plaintext and without any rate limit",
    "ota_plain_http": "polls its update server in plain HTTP (the url of Debian's example "
                      "SWUpdate configuration)",
    "ota_nocheckcert": "its update client skips the server certificate check (suricatta "
                       "started with -x, 'do not abort on flawed server certificates')",
}

# Which test cases each planted flaw must FAIL (and no other): the detection matrix
# (tests/lab/test_matrix.py) asserts it, `harness emulate found RUN_DIR` reports it
DETECTED_BY = {
    "shared_default_password": {"TC-CRED-01", "TC-UNIQ-01", "TC-IXIT-01"},  # its IXIT says so
    "shared_keys": {"TC-UNIQ-02"},
    "telnet": {"TC-SURF-01", "TC-SURF-02", "TC-COMM-01"},
    "telnet_no_login": {"TC-AUTH-01"},
    "plain_http_login": {"TC-COMM-01"},
    "weak_tls": {"TC-TLS-01"},
    "weak_ssh": {"TC-SSH-01"},
    "no_throttle": {"TC-BRUTE-01"},
    "plaintext_storage": {"TC-STORE-01"},
    "root_console": {"TC-DEBUG-01"},
    "info_leak": {"TC-INFO-01"},
    "anonymous_rtsp": {"TC-AUTH-01"},
    "ftp_anonymous": {"TC-AUTH-01", "TC-SURF-01", "TC-SURF-02"},
    "anonymous_mqtt": {"TC-AUTH-01"},
    "plaintext_mqtt": {"TC-COMM-01"},
    "unsigned_update": {"TC-UPD-02"},
    "downgrade_update": {"TC-UPD-02"},
    "reset_keeps_wifi": {"TC-DEL-01"},
    "reset_keeps_user_data": {"TC-DEL-01"},
    "unsafe_on_link_loss": {"TC-SMARK-02"},
    "queued_commands": {"TC-SMARK-03"},
    "malformed_on": {"TC-SMARK-03"},
    "tls_client_noverify": {"TC-TLS-02"},
    "stale_state_report": {"TC-SMARK-04"},
    "remote_on_at_shipment": {"TC-SMARK-09"},
    "remote_overrides_local": {"TC-SMARK-07"},
    "obeys_sibling_commands": {"TC-SMARK-05"},
    "retained_commands": {"TC-SMARK-03P"},
    "reconnect_storm": {"TC-SMARK-05R"},
    "undeclared_telemetry": {"TC-TELEM-01"},
    "bootloader_break_in": {"TC-DEBUG-02"},
    "unverified_boot": {"TC-BOOT-01", "TC-UPD-02"},
    "weak_password": {"TC-CRED-01"},
    "short_password": {"TC-CRED-01"},
    "ipv6_only_telnet": {"TC-SURF-01", "TC-SURF-02"},
    "known_exploited_vuln": {"TC-VULN-01"},
    "web_no_login": {"TC-AUTH-01"},
    "anonymous_stream": {"TC-AUTH-01"},
    "tftp_backup": {"TC-AUTH-01", "TC-SURF-01", "TC-SURF-02"},
    "snmp_public": {"TC-CRED-01", "TC-COMM-01", "TC-BRUTE-01"},
    "ota_plain_http": {"TC-UPD-01"},
    "ota_nocheckcert": {"TC-UPD-01", "TC-TLS-02"},
}


# What a unit runs besides its kind's base (not flaws: the compliant twins have them too)
FEATURES = {
    "mjpeg_stream": "an MJPEG stream on 8081 (motion 4.5, still-image source)",
    "web_firmware": "updates by a file upload in its web UI behind a form login, the image "
                    "in the vendor's own binary format (a header, the payload, an RSA-2048 "
                    "signature trailer)",
    "snmp": "an SNMP agent (net-snmp snmpd): v2c, or v3 authPriv on the compliant unit",
    "rate_limit": "new SSH connections and SNMP requests rate-limited in nftables "
                  "(control-plane policing)",
    "swupdate": "updates through SWUpdate's web server (signed .swu, TLS, digest login)",
    "ota": "pulls its updates: SWUpdate's hawkBit client (suricatta) polls the vendor's "
           "update server (signed .swu, TLS with the vendor's CA)",
    "rauc": "updates through RAUC (A/B raw slots, signed bundles, its service on the unit's "
            "own D-Bus system bus); a bundle is installed with `rauc install` on its shell",
    "mender": "updates through the Mender client in standalone mode (signed artifacts, "
              "Mender's single-file update module); `mender install` on its shell",
    "qemu": "boots real firmware in QEMU (arm64): U-Boot from flash, Debian's kernel, "
            "busybox init, dropbear; settings on a data disk (harness/emulate/qemu.py)",
}


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str                       # router | camera | appliance | hub
    index: int                      # host address offset and link number
    flaws: frozenset = field(default_factory=frozenset)
    key_group: str = ""             # units with the same key_group share keys (shared_keys)
    password: str = ""              # a fixed password (else a random one per unit)
    features: frozenset = field(default_factory=frozenset)     # keys of FEATURES
    profile6: bool = True           # its profile gives address6 (else found on the lab link)

    @property
    def ns(self) -> str:
        return f"hx-{self.name}"

    def has(self, flaw: str) -> bool:
        return flaw in self.flaws or flaw in self.features


def _v(name, kind, index, *flaws, key_group="", password="", features=(), profile6=True):
    unknown = (set(flaws) - set(FLAWS)) | (set(features) - set(FEATURES))
    if unknown:
        raise ValueError(f"unknown flaws or features {unknown}")
    return Variant(name, kind, index, frozenset(flaws), key_group, password,
                   frozenset(features), profile6)


VARIANTS = [
    _v("router-1", "router", 1),
    _v("router-2", "router", 2),
    # three more units of router-1's model (compliant; numbered last, listed here: the matrix
    # starts units in this order), as a lab keeps several of one model: the project's lab
    # tests that drive such a unit share them out instead of queueing for one
    _v("router-3", "router", 36),
    _v("router-4", "router", 37),
    _v("router-5", "router", 40),
    _v("router-legacy-1", "router", 3, "shared_default_password", "shared_keys", key_group="legacy"),
    _v("router-legacy-2", "router", 4, "shared_default_password", "shared_keys", key_group="legacy"),
    _v("router-telnet", "router", 5, "telnet"),
    _v("router-plainhttp", "router", 6, "plain_http_login"),
    _v("router-weakcrypto", "router", 7, "weak_tls", "weak_ssh"),
    _v("router-nothrottle", "router", 8, "no_throttle"),
    _v("router-plainstore", "router", 9, "plaintext_storage"),
    _v("camera-1", "camera", 10),
    _v("camera-open", "camera", 11, "anonymous_rtsp", "ftp_anonymous", "info_leak",
       "bootloader_break_in"),
    _v("appliance-1", "appliance", 12),
    _v("appliance-open", "appliance", 13, "anonymous_mqtt", "plaintext_mqtt", "root_console",
       "unsigned_update", "downgrade_update", "reset_keeps_wifi", "unsafe_on_link_loss",
       "queued_commands", "malformed_on", "remote_overrides_local", "reconnect_storm",
       "undeclared_telemetry"),
    # a second unit of appliance-1's model on the same cloud broker
    _v("appliance-noverify", "appliance", 14, "tls_client_noverify", "stale_state_report",
       "remote_on_at_shipment", "obeys_sibling_commands", "retained_commands"),
    _v("router-telnetshell", "router", 15, "telnet", "telnet_no_login"),
    _v("router-weakpw", "router", 16, "weak_password"),
    _v("router-ipv6telnet", "router", 17, "ipv6_only_telnet"),
    # compliant, with a password that tries every quoting and masking path: a backslash, both
    # quotes, a dollar, a semicolon, spaces (the password-change test must restore it intact)
    _v("router-oddpw", "router", 18, password="Od\\d p'w$1;\"x 9Q"),
    _v("router-oldfw", "router", 19, "known_exploited_vuln"),
    # the leak check also looks for a two-character secret (masked whatever its length)
    _v("router-shortpw", "router", 20, "short_password", password="]~"),
    # units running third-party IoT software in its shipped configuration (and a hardened
    # twin each); their profiles give no address6: the harness finds it on the lab link
    _v("hub-1", "hub", 21, profile6=False),
    _v("hub-open", "hub", 22, "web_no_login", "plain_http_login", "plaintext_mqtt",
       "no_throttle", profile6=False),
    _v("camera-mjpeg", "camera", 23, features=("mjpeg_stream",), profile6=False),
    _v("camera-mjpeg-open", "camera", 24, "anonymous_stream", features=("mjpeg_stream",),
       profile6=False),
    _v("router-udp", "router", 25, "tftp_backup", "snmp_public", features=("snmp",),
       profile6=False),
    _v("router-snmpv3", "router", 26, features=("snmp", "rate_limit"), profile6=False),
    # routers that update through SWUpdate (a real update framework) as the vendor ships it
    _v("router-swu", "router", 27, features=("swupdate",)),
    _v("router-swu-downgrade", "router", 28, "downgrade_update", features=("swupdate",)),
    # routers whose web UI takes the vendor's binary firmware image as an upload (ER-70W)
    _v("router-webfw", "router", 38, features=("web_firmware",)),
    _v("router-webfw-nosig", "router", 39, "unsigned_update", features=("web_firmware",)),
    # routers that pull their updates over the air (SWUpdate's suricatta, hawkBit DDI)
    _v("router-ota", "router", 29, features=("ota",)),
    _v("router-ota-http", "router", 30, "ota_plain_http", features=("ota",)),
    _v("router-ota-nocheck", "router", 31, "ota_nocheckcert", features=("ota",)),
    # routers whose firmware boots in QEMU: the bootloader, kernel and init are real
    _v("fw-router", "router", 32, features=("qemu",)),
    _v("fw-router-open", "router", 33, "bootloader_break_in", "root_console", "weak_ssh",
       "reset_keeps_user_data", "unverified_boot", features=("qemu",)),
    # routers that update through RAUC on the unit (A/B slots), as the vendor ships it
    _v("router-rauc", "router", 34, features=("rauc",)),
    _v("router-rauc-downgrade", "router", 35, "downgrade_update", features=("rauc",)),
    # routers that update through the Mender client on the unit, as the vendor ships it
    _v("router-mender", "router", 42, features=("mender",)),
    _v("router-mender-nosig", "router", 43, "unsigned_update", features=("mender",)),
]
BY_NAME = {v.name: v for v in VARIANTS}

DEFAULT_PASSWORD = "admin"          # the documented default of the legacy router model
WEAK_PASSWORD = "7ujMko0admin"      # entry 56 of the known-credential list (Mirai, 2016)
# the old firmware's package list (opkg) and web server banner
OLD_PACKAGES = {"busybox": "1.31.1-1", "dropbear": "2019.78-2", "lighttpd": "1.4.59-1"}
OLD_LIGHTTPD = "lighttpd/1.4.59"


def fixed_password(v: Variant) -> str:
    """The password a unit is given whatever the run ("" when each `up` draws a new one)."""
    return DEFAULT_PASSWORD if v.has("shared_default_password") else \
        WEAK_PASSWORD if v.has("weak_password") else v.password


SUBNET = "198.18.0.0/24"
GATEWAY = "198.18.0.1"          # the harness side of the lab bridge
SUBNET6 = "2001:2::/64"         # IPv6 benchmarking range (RFC 5180)
GATEWAY6 = "2001:2::1"
CLOUD = "198.18.0.2"            # the appliances' cloud broker
CLOUD_NS = "hx-cloud"


def address(v: Variant) -> str:
    return f"198.18.0.{10 + v.index}"


def address6(v: Variant) -> str:
    return f"2001:2::{10 + v.index}"


def mac(v: Variant) -> str:
    """The unit's MAC (locally administered), as its profile and label give it."""
    return f"02:00:5e:00:00:{v.index:02x}"


def select(names) -> list[Variant]:
    if not names:
        return list(VARIANTS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [BY_NAME[n] for n in names]


def found(run: dict) -> list[dict]:
    """Per emulated unit in a run and planted flaw: whether the run found it (every test
    case the flaw must FAIL did FAIL on that unit)."""
    out = []
    for d in run["devices"]:
        v = BY_NAME.get(d["name"])
        if v is None:
            continue
        verdicts = {r["test_id"]: r["verdict"] for r in d["results"]}
        for flaw in sorted(v.flaws):
            want = DETECTED_BY[flaw]
            failed = sorted(t for t in want if verdicts.get(t) == "FAIL")
            out.append({"unit": v.name, "flaw": flaw, "what": FLAWS[flaw],
                        "found": failed == sorted(want), "by": failed,
                        "missed": {t: verdicts.get(t, "not run") for t in sorted(want)
                                   if t not in failed}})
    return out
