"""The device under test: a profile plus transports resolved by capability.

A test asks for a capability ("a command shell on the device") and gets whichever
transport the profile provides; it never names SSH or serial itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import DeviceError, DeviceUnreachable
from harness.profile.access import LABGRID
from harness.profile.schema import DeviceProfile
from harness.transport import net
from harness.transport.wire import Wire


@dataclass
class Health:
    """Once a device stops answering, the remaining tests on it become ERROR with this cause."""
    broken: str | None = None


@dataclass
class Device:
    profile: DeviceProfile
    wire: Wire
    profile_path: str = ""
    profile_hash: str = ""
    health: Health = field(default_factory=Health)
    identity: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)      # observations shared by test cases in a run
    place: dict | None = None       # the acquired labgrid place (harness.runner.places), if any
    busy: str | None = None         # another run holds the unit (harness.runner.claims)

    def cached(self, key: str, gather):
        """Run a probe once per run and device (e.g. the port scan two test cases read)."""
        if key not in self.cache:
            self.cache[key] = gather()
        return self.cache[key]

    @property
    def name(self) -> str:
        return self.profile.name

    def tcp_ports(self) -> list[int]:
        """The TCP ports the unit declares or its profile configures a transport on."""
        p = self.profile
        return sorted(p.declared_ports("tcp") | {w.port for w in p.web}
                      | {s.port for s in (p.ssh, p.telnet, p.ftp, p.rtsp) if s})

    def check_alive(self) -> bool:
        """Any declared or configured TCP port answers, or the serial console opens."""
        p = self.profile
        ports = self.tcp_ports()
        if p.address and ports:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=min(len(ports), 8)) as pool:  # ≤ 8 connects
                if any(pool.map(lambda port: net.tcp_open(self.wire, p.address, port,
                                                          timeout=2.0), ports[:8])):
                    return True
        if p.serial:
            try:
                self.console().close()
                return True
            except DeviceError:
                pass
        return not ports and not p.serial

    def mark_broken(self, cause: str) -> None:
        if not self.health.broken:
            self.health.broken = cause

    def ensure_alive(self) -> None:
        if self.place and "error" in self.place:
            raise DeviceUnreachable(self.place["error"])
        if self.health.broken:
            raise DeviceUnreachable(f"device stopped answering earlier: {self.health.broken}")

    # ---- capabilities ----
    def shell(self):
        """An authenticated command shell: SSH, else telnet, else the serial console.
        The returned object has run(cmd) -> (status, output) and close()."""
        from harness.transport.ssh import SSHSession
        p, errors = self.profile, []
        if p.ssh and (p.ssh.password or p.ssh.key_file):
            try:
                s = SSHSession(self.wire, p.address, p.ssh.port)
                ok = (s.auth_key(p.ssh.username, p.ssh.key_file) if p.ssh.key_file
                      else s.auth_password(p.ssh.username, p.ssh.password.get_secret_value()))
                if ok:
                    return s
                s.close()
                errors.append("ssh: the lab's credentials were rejected")
            except DeviceError as exc:
                errors.append(str(exc))
        for section, opener in ((p.telnet, self.telnet), (p.serial, self.console)):
            if section and section.password:
                try:
                    c = opener()
                    c.open_shell(section.username, section.password.get_secret_value())
                    return c
                except DeviceError as exc:
                    errors.append(str(exc))
        raise DeviceError("no command shell on the device: " + ("; ".join(errors) or
                          "the profile gives no credentials for ssh, telnet or serial"))

    def telnet(self):
        from harness.transport.telnet import TelnetConsole
        return TelnetConsole(self.wire, self.profile.prompts, self.profile.address,
                             self.profile.telnet.port)

    def console(self):
        from harness.transport.serial import SerialConsole
        s = self.profile.serial
        if not s:
            raise DeviceError("the profile has no serial console")
        port = s.port
        if port == LABGRID:
            port = (self.place or {}).get("serial")
            if not port:
                raise DeviceError(f"labgrid place {self.profile.lab.labgrid_place}: "
                                  + ((self.place or {}).get("error") or "not acquired by this "
                                     "run, or it has no serial console"))
        return SerialConsole(self.wire, self.profile.prompts, port, s.baud)
