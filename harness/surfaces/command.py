"""The remote command channel: commands on the unit's MQTT topic through the broker (the
S-mark test cases' surface; no login of its own)."""
from harness.surfaces import Kind, Surface, register


def build(p):
    if not (p.mqtt and getattr(p, "remote_control", None)):
        return []
    return [Surface("command:mqtt", "command", p.mqtt.port, p.mqtt.username, p.mqtt.password,
                    p.remote_control, login=False, host=p.mqtt.host)]


register(Kind("command", build))
