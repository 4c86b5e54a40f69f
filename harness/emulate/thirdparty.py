"""Third-party IoT software in its shipped configuration, as emulated units run it:
Node-RED (a home-automation hub's web UI, OAuth2 password-grant login), motion (a
camera's MJPEG stream), tftpd-hpa (a router's TFTP), net-snmp's snmpd (SNMP v2c or v3),
mosquitto on the unit itself (a hub's broker). Each function writes what its daemon needs
under the unit's directory and returns the command that runs it in the foreground; the
versions in use are recorded by `versions()`."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from harness.emulate.files import write

REPO = Path(__file__).resolve().parents[2]
NODE_RED = REPO / ".node-red" / "node_modules" / "node-red" / "red.js"   # scripts/setup.sh
NODE_RED_VERSION = "4.1.8"
FRAME = Path(__file__).with_name("data") / "frame.jpg"


class Missing(RuntimeError):
    """Third-party software the unit needs is not installed (run scripts/setup.sh)."""


# Node-RED's adminAuth as a vendor integrates it: the editor's login is the unit's own
# account (checked against the same crypt(3) file the rest of the UI uses, so a password
# change applies here too), behind a guard that slows a source down after failed logins.
NODE_RED_SETTINGS = """// written by harness emulate: Node-RED {version}, {what}
const fs = require("fs"), child = require("child_process");
function check(user, password) {{
  for (const line of fs.readFileSync({users}, "utf8").split("\\n")) {{
    const [name, hash] = line.split(":");
    if (name !== user || !hash) continue;
    const m = /^\\$(1|5|6)\\$([^$]+)\\$/.exec(hash);
    if (!m) return false;
    const got = child.execFileSync("openssl", ["passwd", "-" + m[1], "-salt", m[2], "-stdin"],
                                   {{input: password}}).toString().trim();
    return got === hash;
  }}
  return false;
}}
const guard = {{fails: {{}}, ban: {{}}, reset: 0}};
module.exports = {{
  uiHost: {host}, uiPort: 1880, userDir: {userdir}, flowFile: "flows.json",
  credentialSecret: {secret}, logging: {{console: {{level: "info", audit: true}}}},
  editorTheme: {{tours: false, projects: {{enabled: false}}}},
{https}{auth}}};
"""
NODE_RED_AUTH = """  adminAuth: {{
    type: "credentials",
    users: (name) => Promise.resolve(name === "admin" ? {{username: "admin", permissions: "*"}} : null),
    authenticate: (name, password) => Promise.resolve(check(name, password) ?
                                        {{username: name, permissions: "*"}} : null),
  }},
  // the vendor's guard in front of the login (Node-RED's own lockout of an account after
  // five attempts would lock its owner out for ten minutes): four failed logins from one
  // source within a minute answer 429 for 20 s, before the request reaches Node-RED
  httpAdminMiddleware: (req, res, next) => {{
    if (req.path !== "/auth/token") return next();
    const src = (req.socket.remoteAddress || "").replace(/^::ffff:/, ""), now = Date.now();
    try {{
      const reset = fs.statSync({reset}).mtimeMs;
      if (reset > guard.reset) {{ guard.reset = reset; guard.fails = {{}}; guard.ban = {{}}; }}
    }} catch (e) {{}}
    if ((guard.ban[src] || 0) > now) {{
      res.set("Retry-After", "20"); return res.status(429).json({{error: "too_many_requests"}});
    }}
    res.on("finish", () => {{
      if (res.statusCode !== 401 && res.statusCode !== 403) return;
      const recent = (guard.fails[src] || []).filter((t) => now - t < 60000).concat([now]);
      guard.fails[src] = recent.length >= 4 ? [] : recent;
      if (recent.length >= 4) guard.ban[src] = now + 20000;
    }});
    next();
  }},
"""


def node_red(d: Path, addr: str, *, login: bool, tls: bool, pem: Path, users: Path) -> list[str]:
    """Node-RED {NODE_RED_VERSION}. Shipped (login=False, tls=False): settings.js as the
    package ships it — no adminAuth, plain HTTP: the editor and its admin API answer anyone.
    Hardened: adminAuth on the unit's account, HTTPS with the unit's certificate."""
    if not NODE_RED.exists():
        raise Missing(f"Node-RED is not installed at {NODE_RED.parent} (scripts/setup.sh "
                      f"installs node-red@{NODE_RED_VERSION} with npm)")
    userdir = d / "node-red"
    userdir.mkdir(parents=True, exist_ok=True)
    q = json.dumps
    https = (f"  https: {{key: fs.readFileSync({q(str(pem))}), "
             f"cert: fs.readFileSync({q(str(pem))})}},\n") if tls else ""
    auth = NODE_RED_AUTH.format(reset=q(str(d / "guard-reset"))) if login else ""
    write(userdir / "settings.js", NODE_RED_SETTINGS.format(
        version=NODE_RED_VERSION, what="adminAuth, HTTPS" if login else "shipped settings",
        users=q(str(users)), host=q(addr), userdir=q(str(userdir)),
        secret=q(d.name + "-flows"), https=https, auth=auth))
    write(userdir / "flows.json", "[]\n")
    node = shutil.which("node") or "node"
    return [node, str(NODE_RED), "--settings", str(userdir / "settings.js")]


def motion_conf(d: Path, *, auth: bool, password: str, pem: Path) -> Path:
    """motion 4.5 (the camera daemon of motionEye and many DIY cameras): an endless MJPEG
    stream on 8081 over TLS from a still image (netcam_url file://). Shipped stream
    settings: no authentication (stream_auth_method 0); hardened: basic authentication,
    motion's own 2-second delay after each failed login (its lockout of a source only after
    30: a locked source is answered '200 OK' with an error page, and every try while locked
    extends the lock). In the unit's etc/:
    a password change rewrites it, a factory reset restores it, motion reads it again on
    SIGHUP (the agent sends it)."""
    (d / "motion").mkdir(exist_ok=True)
    lines = ["daemon off", "setup_mode off", "log_level 5", f"target_dir {d}/motion",
             f"netcam_url file://{FRAME}", "width 320", "height 240", "framerate 5",
             "movie_output off", "picture_output off", "webcontrol_port 0",
             "stream_port 8081", "stream_localhost off", "stream_maxrate 5",
             "stream_tls on", f"webcontrol_cert {pem}", f"webcontrol_key {pem}"]
    if auth:
        lines += ["stream_auth_method 1", f"stream_authentication admin:{password}",
                  "webcontrol_lock_attempts 30", "webcontrol_lock_minutes 1"]
    else:
        lines += ["stream_auth_method 0"]
    return write(d / "fs" / "etc" / "motion.conf", "\n".join(lines) + "\n", 0o600)


# The firmware's system-wide TLS policy for GnuTLS (motion's TLS library): no TLS 1.0/1.1
GNUTLS_POLICY = "[overrides]\ndisabled-version = tls1.0\ndisabled-version = tls1.1\n"


def motion(d: Path) -> list[str]:
    if not shutil.which("motion"):
        raise Missing("motion is not installed (Debian package motion)")
    policy = write(d / "gnutls-policy.conf", GNUTLS_POLICY)
    return ["env", f"GNUTLS_SYSTEM_PRIORITY_FILE={policy}", "motion", "-n", "-c",
            str(d / "fs" / "etc" / "motion.conf")]


def tftpd(d: Path, addr: str, backup: str) -> list[str]:
    """tftpd-hpa as Debian ships it (--secure, one directory), serving the router's
    configuration backup — the file a TFTP-based backup feature leaves there."""
    root = d / "tftp"
    root.mkdir(exist_ok=True)
    write(root / "backup.cfg", backup, 0o644)
    root.chmod(0o755)
    return ["/usr/sbin/in.tftpd", "--listen", "--foreground", "--secure", "--user", "root",
            "--address", f"{addr}:69", str(root)]


def snmpd(d: Path, addr: str, *, version: str, secret: str, user: str = "admin") -> list[str]:
    """net-snmp's snmpd. v2c: a read-only community (routers ship 'public'); v3: one USM
    user, authPriv only (SHA, AES), no community at all."""
    (d / "snmp").mkdir(exist_ok=True)
    body = [f"sysDescr Emulab router {d.name}", "sysContact psirt@emulab.invalid",
            "sysLocation lab"]
    if version == "3":
        body += [f'createUser {user} SHA "{secret}" AES "{secret}"', f"rouser {user} priv"]
    else:
        body += [f"rocommunity {secret} default"]
    conf = write(d / "snmpd.conf", "\n".join(body) + "\n", 0o600)
    return ["env", f"SNMP_PERSISTENT_DIR={d}/snmp", "MIBS=", "MIBDIRS=/nonexistent",
            "snmpd", "-f", "-Lf", str(d / "log" / "snmpd.log"), "-I", "-smux", "-C", "-c",
            str(conf),
            "-p", str(d / "snmpd.pid"), f"udp:{addr}:161"]


# A unit that rate-limits new connections (control-plane policing): at most 20 new SSH
# connections a minute after a burst of 8, SNMP packets 12 a minute after 8 (a v3 request is
# two: discovery, then the request). Polling fits under it; a burst of logins does not, also
# when the one who sends it is slow (at 2 a second, a tester whose tries took over a second
# each under load went through unthrottled: a gate's router-snmpv3 read as FAIL).
RATE_LIMIT = """table inet hxrate
delete table inet hxrate
table inet hxrate {
 chain input { type filter hook input priority -10;
  tcp dport 22 ct state new limit rate over 20/minute burst 8 packets drop
  udp dport 161 limit rate over 12/minute burst 8 packets drop
 }
}
"""


def versions() -> dict[str, str]:
    """What third-party software the emulated lab runs, by the tools' own words."""
    out = {"node-red": NODE_RED_VERSION if NODE_RED.exists() else "not installed"}
    for name, cmd in (("motion", ["motion", "-h"]), ("snmpd", ["snmpd", "-v"]),
                      ("tftpd-hpa", ["/usr/sbin/in.tftpd", "-V"]),
                      ("mosquitto", ["mosquitto", "-h"]),
                      ("swupdate", ["dpkg-query", "-W", "-f=swupdate ${Version}", "swupdate"])):
        try:
            text = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            first = (text.stdout + text.stderr).strip().splitlines()
            out[name] = next((x.strip() for x in first if any(c.isdigit() for c in x)),
                             "unknown")[:80]
        except (OSError, subprocess.TimeoutExpired):
            out[name] = "not installed"
    return out


# ------------------------------------------------------------------ per unit
def prepare(v, d: Path, password: str, pem: Path) -> None:
    """Configuration written once when the unit is built (a reboot keeps its changes)."""
    if v.has("mjpeg_stream"):
        motion_conf(d, auth=not v.has("anonymous_stream"), password=password, pem=pem)


def mqtt_port(v) -> int:
    return 1883 if v.has("plaintext_mqtt") else 8883


def commands(v, d: Path, addr: str, password: str) -> list[tuple[str, list[str]]]:
    """(name, command) of each third-party daemon the unit runs, in start order."""
    from harness.emulate import daemons
    out = []
    if v.kind == "hub":
        tls = not v.has("plain_http_login")
        out.append(("node-red", node_red(d, addr, login=not v.has("web_no_login"), tls=tls,
                                         pem=d / "server.pem",
                                         users=d / "fs" / "etc" / "web-htpasswd")))
        passwd = d / "mosquitto.passwd"
        passwd.unlink(missing_ok=True)
        daemons.mosquitto_user(passwd, "admin", password)
        out.append(("mosquitto", daemons.mosquitto(
            d, "unit", addr, mqtt_port(v), None if v.has("plaintext_mqtt") else d / "server.pem",
            passwd, extra=["log_type all", f"log_dest file {d}/log/mosquitto-auth.log"])))
    if v.has("mjpeg_stream"):
        out.append(("motion", motion(d)))
    if v.has("swupdate") or v.has("ota"):
        from harness.emulate import swupdate
        out.append(("swupdate", swupdate.command(d)))
    if v.has("rauc"):
        from harness.emulate import rauc
        out += rauc.commands(d)
    if v.has("tftp_backup"):
        out.append(("tftp", tftpd(d, addr, f"# {v.name} configuration backup\n"
                                          "hostname=" + v.name + "\nadmin_user=admin\n"
                                          "wifi_ssid=home\nremote_admin=1\n")))
    if v.has("snmp"):
        v3 = not v.has("snmp_public")
        out.append(("snmp", snmpd(d, addr, version="3" if v3 else "2c",
                                  secret=password if v3 else "public")))
    return out


def tcp_ports(v) -> list[int]:
    """The TCP ports these daemons listen on (the unit is ready once they answer)."""
    out = [1880, mqtt_port(v)] if v.kind == "hub" else []
    return out + ([8081] if v.has("mjpeg_stream") else [])


def guard_logs(v, d: Path) -> list[tuple[str, int]]:
    """(log, port) pairs the unit's brute-force guard reads besides SSH's and the web UI's."""
    out = []
    if v.kind == "hub":
        out += [(str(d / "log" / "mosquitto-auth.log"), mqtt_port(v))]
    return out
