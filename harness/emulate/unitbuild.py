"""Build an emulated unit's state once per `emulate up`: its accounts and passwords, keys and
certificates, the firmware it ships (image, version files, the vendor's update images), the
factory-reset and password-change tools, and the agent's config (harness.emulate.agent)."""
from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from harness.emulate import (daemons, files, image, mender, qemu, rauc, swupdate, thirdparty,
                             webfw)
from harness.emulate.netns import STATE
from harness.emulate.profiles import MQTT_PORTS, WEB_AUTH, mqtt_users
from harness.emulate.variants import CLOUD, OLD_PACKAGES, Variant, address, fixed_password

FIRMWARE = {"router": "2.4.1", "camera": "3.1.0", "appliance": "1.2.0", "hub": "2.0.3"}

# Changes the password of one account everywhere the device checks it: the shadow file
# and the web UI's user file (plain or hashed, as the variant stores it).
SET_PASSWORD = r"""#!/bin/sh
# set-password USER NEWPASSWORD
[ -n "$2" ] || {{ echo "usage: set-password USER NEWPASSWORD"; exit 2; }}
h=$(printf %s "$2" | openssl passwd -6 -stdin) || exit 1
t=/tmp/.hx-pw.$$
awk -F: -v u="$1" -v h="$h" 'BEGIN{{OFS=":"}} $1==u{{$2=h}} {{print}}' /etc/shadow > $t && cat $t > /etc/shadow
if [ -f {fs}/etc/web-htdigest ]; then
  d=$(printf '%s:{realm}:%s' "$1" "$2" | openssl md5 -r | cut -d' ' -f1)
  awk -F: -v u="$1" -v d="$d" 'BEGIN{{OFS=":"}} $1==u{{$3=d}} {{print}}' {fs}/etc/web-htdigest > $t && cat $t > {fs}/etc/web-htdigest
elif [ -f {fs}/etc/web-users ]; then
  awk -F: -v u="$1" -v p="$2" 'BEGIN{{OFS=":"}} $1==u{{$2=p}} {{print}}' {fs}/etc/web-users > $t && cat $t > {fs}/etc/web-users
  [ -f {fs}/etc/users.conf ] && printf '%s=%s
' "$1" "$2" > {fs}/etc/users.conf
else
  awk -F: -v u="$1" -v h="$h" 'BEGIN{{OFS=":"}} $1==u{{$2=h}} {{print}}' {fs}/etc/web-htpasswd > $t && cat $t > {fs}/etc/web-htpasswd
fi
if [ -f {fs}/etc/motion.conf ]; then      # the camera stream's login (motion reloads it)
  awk -v u="$1" -v p="$2" '/^stream_authentication /{{print "stream_authentication " u ":" p; next}} {{print}}' {fs}/etc/motion.conf > $t && cat $t > {fs}/etc/motion.conf
fi
rm -f $t
echo password changed
"""


def unit_dir(v: Variant | str) -> Path:
    return STATE / (v if isinstance(v, str) else v.name)


# ------------------------------------------------------------------ build (once per up)
def build(v: Variant) -> dict:
    """Write the unit's accounts, keys, certificates and firmware state; return its config."""
    d = unit_dir(v)
    (d / "log").mkdir(parents=True, exist_ok=True)
    fs = d / "fs"
    password = fixed_password(v) or secrets.token_urlsafe(12)
    files.write(d / "admin.pw", password + "\n", 0o600)
    if v.has("qemu"):                  # its firmware holds the rest (harness/emulate/qemu.py)
        return {"name": v.name, "firmware": qemu.build(v, d, password)}
    group = STATE / "_groups" / v.key_group if v.has("shared_keys") else None
    wifi = secrets.token_urlsafe(10)
    files.write(fs / "etc" / "wifi.conf", f"ssid=home\npsk={wifi}\n", 0o600)
    files.write(fs / "etc" / "firmware.json", json.dumps({"version": FIRMWARE[v.kind]}))
    files.write(fs / "data" / "userdata.json", json.dumps({"owner": "alice", "schedule": [7, 22]}))
    if v.has("plaintext_storage"):
        files.write(fs / "etc" / "users.conf", f"admin={password}\n", 0o600)
        files.write(fs / "etc" / "web-users", f"admin:{password}\n", 0o600)
    elif WEB_AUTH[v.kind] == "digest":
        files.write(fs / "etc" / "web-htdigest", files.htdigest("admin", password), 0o600)
    else:
        files.write(fs / "etc" / "web-htpasswd", f"admin:{files.crypt_hash(password)}\n", 0o600)
    etc = Path("/etc/netns") / v.ns
    files.accounts(etc, fs, password, weak_hash=v.has("plaintext_storage"),
                   shell=_firmware_shell(v, fs))
    if v.kind == "appliance":
        # as shipped: remote operation off until the owner enables it (the flaw: on); the
        # deployed unit the lab receives has it enabled
        files.write(fs / "etc" / "remote.conf",
                    "enabled\n" if v.has("remote_on_at_shipment") else "disabled\n")
        files.write(fs / "bin" / "remote-enable",
                    f"#!/bin/sh\necho enabled > {fs}/etc/remote.conf\necho remote operation enabled\n",
                    0o755)
    pem = files.tls_cert(d, f"{v.name}.emulated", address(v), group)
    thirdparty.prepare(v, d, password, pem)
    image.build(v, d / "firmware.squashfs", "squashfs", password, group,    # what it ships
                STATE / "_vendor")
    # the firmware's version files are part of the state a reset restores (the lab's
    # recovery path back to the shipped firmware)
    key, pub = files.vendor_key(STATE / "_vendor")
    if v.has("swupdate"):              # the vendor's images are .swu, SWUpdate applies them
        swupdate.prepare(v, d, fs, FIRMWARE[v.kind], STATE / "_vendor", password, pem)
    elif v.has("ota"):                 # the same, pulled from the vendor's update server
        swupdate.prepare_ota(v, d, fs, FIRMWARE[v.kind], STATE / "_vendor")
    elif v.has("rauc"):                # RAUC on the unit installs the vendor's bundles
        rauc.prepare(v, d, fs, FIRMWARE[v.kind], STATE / "_vendor")
    elif v.has("mender"):              # the Mender client on the unit installs its artifacts
        mender.prepare(v, d, fs, FIRMWARE[v.kind], STATE / "_vendor")
    elif v.has("web_firmware"):        # its web UI takes the vendor's binary images
        webfw.update_images(d, webfw.vendor_key(STATE / "_vendor"), FIRMWARE[v.kind], v.name)
    else:
        files.json_update_images(d, key, FIRMWARE[v.kind], v.name)
    # reset restores the per-unit initial state; the flawed reset keeps the Wi-Fi passphrase
    initial = d / "initial"
    shutil.copytree(fs, initial, dirs_exist_ok=True)
    if v.kind == "appliance":
        files.write(fs / "etc" / "remote.conf", "enabled\n")
    shutil.copy(etc / "shadow", initial / "shadow")
    keep = "cp etc/wifi.conf /tmp/.wifi.$$; " if v.has("reset_keeps_wifi") else ""
    restore = "cat /tmp/.wifi.$$ > etc/wifi.conf; rm -f /tmp/.wifi.$$; " if keep else ""
    files.write(fs / "bin" / "factory-reset", f"#!/bin/sh\ncd {fs} || exit 1\n{keep}"
                f"rm -rf etc data && cp -a {initial}/etc {initial}/data . && {restore}"
                f"cat {initial}/shadow > /etc/shadow\necho factory reset done\n", 0o755)
    files.write(fs / "bin" / "set-password", SET_PASSWORD.format(fs=fs, realm=daemons.HTPASSWD_REALM), 0o755)
    web_port = 80 if v.has("plain_http_login") else 443
    guard_logs = [(str(d / "log" / "ssh.log"), 22)] + thirdparty.guard_logs(v, d)
    if v.kind != "hub":                          # the hub's web UI is Node-RED's
        guard_logs.append((str(d / "lighttpd-error.log"), web_port))
    cfg = {"name": v.name, "kind": v.kind, "dir": str(d), "address": address(v),
           "shell": str(d / "jail-shell"), "web_port": web_port, "guard_logs": guard_logs,
           "motion": v.has("mjpeg_stream"),
           "pem": str(pem), "vendor_key": pub.hex(), "web_firmware": v.has("web_firmware"),
           **{f: v.has(f) for f in ("root_console", "unsigned_update", "downgrade_update",
                                    "anonymous_rtsp", "no_throttle", "unsafe_on_link_loss",
                                    "queued_commands", "malformed_on", "stale_state_report",
                                    "remote_overrides_local", "obeys_sibling_commands",
                                    "retained_commands", "undeclared_telemetry",
                                    "reconnect_storm", "bootloader_break_in")},
           # an update framework takes the unit's updates, not the agent's JSON API
           "framework": any(v.has(f) for f in ("swupdate", "ota", "rauc", "mender"))}
    if v.kind == "appliance":
        ca = files.cloud_ca(STATE / "_cloud")[2]
        cfg["mqtt"] = {"host": CLOUD, "port": MQTT_PORTS[v.name], "prefix": f"home/{v.name}",
                       "tls": not v.has("plaintext_mqtt"), "ca": str(ca),
                       "verify": not v.has("tls_client_noverify"),
                       "username": None if v.has("anonymous_mqtt") else mqtt_users(v)["device"],
                       "password": None if v.has("anonymous_mqtt") else password}
    files.write(d / "agent.json", json.dumps(cfg, indent=1), 0o600)
    return cfg


def _firmware_shell(v: Variant, fs: Path) -> str:
    """The login shell: the unit's jail (daemons.jail_shell). The firmware's own tools come
    first on PATH: an old-firmware unit's package manager (opkg), a RAUC unit's `rauc` (its
    configuration and system bus)."""
    path = "/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin"
    if v.has("rauc"):
        path = f"{fs}/bin:{path}"
    if v.has("known_exploited_vuln"):
        listing = "".join(f"{n} - {ver}\n" for n, ver in OLD_PACKAGES.items())
        files.write(fs / "bin" / "opkg", "#!/bin/sh\n[ \"$1\" = list-installed ] || "
                    f"{{ echo 'opkg: only list-installed here' >&2; exit 1; }}\ncat <<'EOF'\n"
                    f"{listing}EOF\n", 0o755)
        path = f"{fs}/bin:{path}"
    return str(daemons.jail_shell(fs.parent, path))
