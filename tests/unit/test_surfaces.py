"""Pure logic of the login/command surface registry and of nmap's port-state counts."""


def test_nmap_port_states_count_listed_and_aggregated_ports():
    from harness.probe.ports import _states
    xml = """<nmaprun><host><status state="up"/><ports>
<extraports state="closed" count="65530"><extrareasons reason="reset" count="65530"/></extraports>
<port protocol="tcp" portid="22"><state state="open"/></port>
<port protocol="tcp" portid="23"><state state="filtered"/></port>
</ports></host></nmaprun>"""
    assert _states(xml) == {"closed": 65530, "open": 1, "filtered": 1}
    assert _states("not xml") == {}


def test_surface_registry_lists_every_login_and_command_surface():
    """One registry built from the profile: the credential tests, brute force, exposure and
    applicability read it (a new surface is one entry)."""
    from harness import surfaces
    from harness.profile import applicability
    from harness.probe import credentials
    from harness.profile.schema import DeviceProfile
    base = {"vendor": "V", "model": "M", "firmware_version": "1", "category": "appliance",
            "name": "u-1", "address": "198.18.0.50"}
    p = DeviceProfile.model_validate({
        **base, "ssh": {"port": 2222, "username": "admin", "password": "x" * 12},
        "telnet": {"port": 2323}, "ftp": {"port": 2121}, "rtsp": {"port": 8554},
        "web": [{"port": 8080, "auth": "form", "username": "op", "password": "y" * 12},
                {"port": 80, "auth": "none"}],
        "mqtt": {"host": "198.18.0.2", "port": 8883, "username": "dev", "password": "z" * 12},
        "snmp": {"version": "2c", "password": "c" * 12}, "tftp": {"files": ["cfg.bin"]},
        "serial": {"port": "/dev/ttyUSB0", "username": "root"},
        "remote_operation": True,
        "remote_control": {"load": "heater", "command": {"topic": "cmd", "on": "on", "off": "off"},
                           "observe": {"via": "serial", "on": "ON", "off": "OFF"},
                           "safe_state": "off", "safe_within": 5}})
    got = {s.name: s for s in surfaces.of(p)}
    assert set(got) == {"ssh:2222", "telnet:2323", "ftp:2121", "rtsp:8554", "http-form:8080",
                        "http-none:80", "mqtt:8883", "serial", "command:mqtt", "snmp-v2c:161",
                        "tftp:69"}
    assert {s.name for s in surfaces.logins(p)} == set(got) - {"http-none:80", "command:mqtt",
                                                               "tftp:69"}
    assert got["snmp-v2c:161"].username == "community" and got["tftp:69"].proto == "udp"
    assert p.targets() == ["198.18.0.50", "198.18.0.2"]        # the broker is a target too
    assert [s.name for s in surfaces.shells(p)] == ["ssh:2222"]     # the others lack passwords
    assert {n for n, s in got.items() if s.banner} == {"ssh:2222", "telnet:2323", "ftp:2121"}
    assert credentials.online_accounts(p) >= {"admin", "op", "dev", "root"}

    class Dev:                     # the attempt functions are built, not called
        profile, wire, console = p, None, None
    assert set(credentials.surfaces(Dev())) == {s.name for s in surfaces.logins(p)}
    # the community list only on the community surface, never on the others
    assert credentials.accounts_for(p, got["snmp-v2c:161"]) == {"community"}
    assert "community" not in credentials.accounts_for(p, got["ssh:2222"])
    # brute force: the cloud broker is not the unit's; the console is local
    assert surfaces.brute_exclusion(Dev(), got["mqtt:8883"]).startswith("mqtt:8883: the broker")
    assert surfaces.brute_exclusion(Dev(), got["serial"])
    assert surfaces.brute_exclusion(Dev(), got["ssh:2222"]) is None
    # no lab credential: the positive control cannot pass, and says why
    assert "the lab gave no credential" in surfaces.control(Dev(), got["ftp:2121"])["why"]
    assert applicability.shell(p) is None and applicability.login_surface(p) is None
    bare = DeviceProfile.model_validate(base)
    assert surfaces.of(bare) == [] and applicability.login_surface(bare)
