"""The emulated appliance's heater: driven over MQTT from the vendor cloud, switched by its
local button, with the safe state on link loss and the planted remote-operation flaws
(a mixin of the emulated firmware's Agent)."""
from __future__ import annotations

import json
import ssl
import threading
import time

LOCAL_PRIORITY = 10.0     # s after a local operation during which remote commands are refused
KEEPALIVE = 2             # s, MQTT keep-alive: a lost broker shows after about 3 s
GRACE = 3.0               # s without the broker before the safe state (type: safe_within 10)
TELEMETRY_EVERY = 5.0     # s between telemetry messages (the type declares interval 5)


class Heater:
    def run_mqtt(self) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        m = self.cfg["mqtt"]
        # the queued_commands flaw: a persistent session, so the broker keeps a command sent
        # while the device was offline and delivers it on reconnection
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                        client_id=f"{self.cfg['name']}-device",
                        clean_session=not self.cfg.get("queued_commands"))
        if m.get("username"):
            c.username_pw_set(m["username"], m["password"])
        if m.get("tls") and m.get("verify"):
            c.tls_set(ca_certs=m["ca"])             # the vendor cloud's CA, host name checked
        elif m.get("tls"):
            c.tls_set(cert_reqs=ssl.CERT_NONE)      # the flaw: any certificate will do
            c.tls_insecure_set(True)
        prefix = m["prefix"]

        # the obeys_sibling_commands flaw: every unit's command topic, not only its own
        commands = "home/+/heater/set" if self.cfg.get("obeys_sibling_commands") \
            else f"{prefix}/heater/set"

        def on_connect(client, userdata, flags, rc, props):
            self.link_ok = True
            client.subscribe(commands, qos=1)
            client.publish(f"{prefix}/heater/state", "on" if self.heater else "off", retain=True)

        def on_message(client, userdata, msg):
            p = msg.payload.strip().lower()
            # a retained frame is an old command the broker replays on (re)subscription; the
            # retained_commands flaw carries it out like a new one
            if msg.retain and not self.cfg.get("retained_commands"):
                self.console_out("\n[heater] stale (retained) command ignored\n")
                return
            if not self.remote_enabled():
                self.console_out("\n[heater] remote command refused: remote operation "
                                 "is disabled\n")
                return
            if (time.monotonic() - self.local_at < LOCAL_PRIORITY
                    and not self.cfg.get("remote_overrides_local")):
                self.console_out("\n[heater] remote command refused: local operation has "
                                 "priority\n")
                return
            if self.cfg.get("malformed_on"):          # the flaw: a sloppy parser
                on = p != b"off" and p[:1] == b"o"
            elif p in (b"on", b"off"):
                on = p == b"on"
            else:
                self.console_out("\n[heater] malformed command ignored\n")
                return
            before, self.heater = self.heater, on
            self.console_out(f"\n[heater] {'on' if self.heater else 'off'} (remote)\n")
            # the stale_state_report flaw: the report sent back is the state before the
            # command (the load did switch; the app is told otherwise)
            shown = before if self.cfg.get("stale_state_report") else self.heater
            client.publish(f"{prefix}/heater/state", "on" if shown else "off", retain=True)

        def on_disconnect(client, userdata, flags, rc, props):
            self.link_ok = False
            self.console_out("\n[link] broker connection lost\n")

        c.on_connect, c.on_message, c.on_disconnect = on_connect, on_message, on_disconnect
        # the reconnect_storm flaw: no back-off, five attempts a second
        retry = 0.2 if self.cfg.get("reconnect_storm") else 2
        c.reconnect_delay_set(*((retry, retry) if self.cfg.get("reconnect_storm") else (1, 5)))
        threading.Thread(target=self.telemetry, args=(c, prefix), daemon=True).start()
        threading.Thread(target=self.safe_state_watch, daemon=True).start()
        threading.Thread(target=self.local_button, daemon=True).start()
        while True:
            try:
                c.connect(m["host"], m["port"], keepalive=KEEPALIVE)
                c.loop_forever(retry_first_connection=True)
            except OSError:
                time.sleep(retry)

    def telemetry(self, client, prefix: str) -> None:
        """What the unit reports to the vendor cloud while connected (the items its type
        declares); the undeclared_telemetry flaw adds the home's Wi-Fi name and position."""
        started, n = time.monotonic(), 0
        while True:
            time.sleep(TELEMETRY_EVERY)
            if not self.link_ok:
                continue
            n += 1
            data = {"temperature_c": 19.5 + (n % 7) * 0.5, "heating": self.heater,
                    "uptime_s": int(time.monotonic() - started)}
            if self.cfg.get("undeclared_telemetry"):
                data.update({"wifi_ssid": "emulab-home", "location": [35.681, 139.767]})
            client.publish(f"{prefix}/heater/telemetry", json.dumps(data), qos=0)

    def local_button(self) -> None:
        """The local button (harness emulate button writes the press to a file)."""
        press = self.dir / "button"
        while True:
            time.sleep(0.2)
            try:
                state = press.read_text().strip()
                press.unlink()
            except OSError:
                continue
            self.heater, self.local_at = state == "on", time.monotonic()
            self.console_out(f"\n[heater] {state} (local)\n")

    def remote_enabled(self) -> bool:
        try:
            return (self.fs / "etc" / "remote.conf").read_text().strip() == "enabled"
        except OSError:
            return False

    def safe_state_watch(self) -> None:
        """Compliant firmware switches the heater off GRACE s after it lost its broker."""
        lost_since = None
        while True:
            time.sleep(0.5)
            if self.link_ok:
                lost_since = None
                continue
            lost_since = lost_since or time.monotonic()
            if (self.heater and not self.cfg["unsafe_on_link_loss"]
                    and time.monotonic() - lost_since > GRACE):
                self.heater = False
                self.console_out("\n[heater] off (safe state: remote link lost)\n")
