"""Instance profiles of the emulated devices: ordinary profile files, written from the
variant table so they never drift from what `emulate up` starts (a test checks the
committed copies)."""
from __future__ import annotations

from pathlib import Path

from harness.emulate.variants import CLOUD, Variant, address, address6, mac
from harness.emulate import qemu
from harness.emulate.netns import STATE
from harness.emulate.swupdate import OTA_SERVER

PROFILE_DIR = Path(__file__).resolve().parents[2] / "device_profiles" / "instances" / "emulated"
TYPES = {"router": "emulab-er100.yaml", "camera": "emulab-cam3.yaml",
         "appliance": "emulab-heater.yaml", "hub": "emulab-hb2.yaml"}
WEB_AUTH = {"router": "basic", "camera": "digest", "appliance": "form",   # web UI login
            "hub": "oauth2"}
# appliance-1 and appliance-noverify are two units of one model on one vendor cloud broker
MQTT_PORTS = {"appliance-1": 8883, "appliance-open": 1883, "appliance-noverify": 8883}


def mqtt_users(v: Variant) -> dict[str, str]:
    """The unit's accounts on its cloud broker: the device itself, and the owner's app."""
    return {"device": f"{v.name}-device", "app": f"{v.name}-app"}


def type_file(v: Variant) -> str:
    if v.has("shared_default_password"):
        return "emulab-er90.yaml"
    if v.has("snmp"):
        return "emulab-er100s.yaml"
    if v.has("mjpeg_stream"):
        return "emulab-cam5.yaml"
    if v.has("swupdate"):
        return "emulab-er200.yaml"
    if v.has("ota"):
        return "emulab-er300h.yaml" if v.has("ota_plain_http") else "emulab-er300.yaml"
    if v.has("qemu"):
        return "emulab-er50.yaml"
    if v.has("rauc"):
        return "emulab-er60.yaml"
    if v.has("mender"):
        return "emulab-er80.yaml"
    if v.has("web_firmware"):
        return "emulab-er70w.yaml"
    return TYPES[v.kind]


def _web(v: Variant, secret: str) -> list[str]:
    if v.kind == "hub":            # Node-RED's editor, as the vendor's manual describes it
        tls = "false" if v.has("plain_http_login") else "true"
        return [f"  - {{port: 1880, tls: {tls}, auth: oauth2, login_path: /auth/token, "
                "client_id: node-red-admin, scope: '*', admin_paths: [/flows], "
                f"username: admin, password: {secret}}}"]
    web_port, tls = (80, "false") if v.has("plain_http_login") else (443, "true")
    out = [f"  - {{port: {web_port}, tls: {tls}, auth: {WEB_AUTH[v.kind]}, admin_paths: [/admin/], "
           + ("login_path: /login.cgi, " if v.kind == "appliance" else "")
           + f"username: admin, password: {secret}}}"]
    if v.has("web_firmware"):      # the ER-70W's firmware page, behind its UI's form login
        out.append(f"  - {{port: 8443, tls: true, auth: form, login_path: /login, "
                   f"admin_paths: [/admin/status], username: admin, password: {secret}}}")
    if v.has("mjpeg_stream"):      # the live stream (motion), basic authentication over TLS
        out.append(f"  - {{port: 8081, tls: true, auth: basic, admin_paths: [/], "
                   f"username: admin, password: {secret}}}")
    return out


def render(v: Variant, labgrid_place: str | None = None) -> str:
    d = STATE / v.name
    secret = f"{{file: {d}/admin.pw}}"
    lines = [
        f"# Emulated device {v.name} (flaws: {', '.join(sorted(v.flaws)) or 'none'}).",
        "# Written by `harness emulate up`; the password file exists while the device is up."
        if not labgrid_place else f"# Written by `harness emulate labgrid`: console and power "
        f"through the labgrid place {labgrid_place}.",
        f"extends: ../../types/{type_file(v)}",
        f"name: {v.name}",
        f"serial_number: EMU-{v.index:04d}",
        f"mac: {mac(v)}",
        f"address: {address(v)}",
        *([f"address6: '{address6(v)}'"] if v.profile6 else
          ["# no address6: the harness finds it on the lab link (scope.interfaces)"]),
        f"ssh: {{port: 22, username: admin, password: {secret}}}",
        *([] if v.has("qemu") else ["web:", *_web(v, secret)]),     # qemu: SSH only
        f"serial: {{port: {'labgrid' if labgrid_place else f'{d}/console'}, baud: 115200, "
        f"username: admin, password: {secret}, survives_power_cycle: true"
        # firmware under TCG on a loaded machine: the boot may take as long as emulate waits
        + (f", bootloader: {{boot_wait: {qemu.BOOT_WAIT:.0f}}}}}" if v.has("qemu") else "}"),
    ]
    if v.has("plain_http_login") and v.kind != "hub":
        lines += ["declared_services:", "  - {port: 22, service: ssh, purpose: administration}",
                  "  - {port: 80, service: http, purpose: web administration}",
                  "  - {port: 8443, service: https, purpose: firmware update}"]
    if v.kind == "hub" and v.has("plaintext_mqtt"):
        lines += ["declared_services:       # its firmware: plain HTTP and MQTT",
                  "  - {port: 22, service: ssh, purpose: maintenance}",
                  "  - {port: 1880, service: http, purpose: automation editor (Node-RED)}",
                  "  - {port: 8443, service: https, purpose: firmware update}",
                  "  - {port: 1883, service: mqtt, purpose: the home's sensors (MQTT)}"]
    if v.kind == "hub":
        port, tls_m = (1883, "false") if v.has("plaintext_mqtt") else (8883, "true")
        lines.append(f"mqtt: {{host: {address(v)}, port: {port}, tls: {tls_m}, "
                     f"username: admin, password: {secret}}}")
    if v.has("snmp"):
        lines.append("snmp: {port: 161, version: '2c', password: public}  # as configured"
                     if v.has("snmp_public") else
                     f"snmp: {{port: 161, version: '3', username: admin, password: {secret}}}")
    if v.has("telnet"):
        lines.append(f"telnet: {{port: 23, username: admin, password: {secret}}}")
    if v.kind == "camera":
        lines.append(f"rtsp: {{port: 554, path: /stream, username: admin, password: {secret}}}")
    if v.kind == "appliance":
        tls_m = "false" if v.has("plaintext_mqtt") else "true"
        lines.append(f"mqtt: {{host: {CLOUD}, port: {MQTT_PORTS[v.name]}, tls: {tls_m}, "
                     f"username: {mqtt_users(v)['app']}, password: {secret}, topic_prefix: home/{v.name}}}")
        if not v.has("plaintext_mqtt"):
            lines.append(f"tls_clients:\n  - {{host: {CLOUD}, port: {MQTT_PORTS[v.name]}, "
                         "purpose: cloud broker (MQTT over TLS)}")
        else:
            lines.append("tls_clients: []           # its cloud link is plaintext MQTT")
    elif v.has("ota") and not v.has("ota_plain_http"):
        lines.append(f"tls_clients:\n  - {{host: {OTA_SERVER[0]}, port: {OTA_SERVER[1]}, "
                     "trigger: null, wait: 30, purpose: 'update server (hawkBit, polled "
                     "every few seconds)'}")
    else:
        lines.append("tls_clients: []             # makes no outbound TLS connection")
    if v.has("ota") and not v.has("ota_plain_http"):    # handed over by the vendor
        lines.append(f"update: {{server_cert: {STATE}/_vendor/ota-server.pem}}")
    if v.has("rauc") or v.has("mender"):     # where a bundle is put for the installer
        lines.append(f"update: {{bundle_dir: {d}/fs/var/update}}")
    lines.append(f"update_images: {{valid: {d}/update-valid.img, older: {d}/update-old.img}}")
    if v.has("qemu"):
        lines.append(f"firmware_image: {d}/vendor-firmware.img   # the disk it boots as "
                     "the vendor ships it: kernel and initramfs (harness firmware)")
    else:
        lines.append(f"firmware_image: {d}/firmware.squashfs   # what the unit ships (harness "
                     "firmware)")
    lines += [f"lab: {{power: {v.name}, link: {v.name}"
              + (f", boot_medium: {v.name}" if v.has("qemu") else "")
              + (f", labgrid_place: {labgrid_place}}}" if labgrid_place else "}")]
    return "\n".join(lines) + "\n"


def write(v: Variant, labgrid_place: str | None = None) -> Path:
    """The unit's profile (with a place: NAME.labgrid.yaml, reaching it through the place)."""
    path = PROFILE_DIR / f"{v.name}{'.labgrid' if labgrid_place else ''}.yaml"
    text = render(v, labgrid_place)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path
