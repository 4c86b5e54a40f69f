"""The device-side agent: firmware behaviour that no stock daemon has.

Runs inside the device's namespace (`python -m harness.emulate.agent CONFIG.json`):
serial console on a pty (boot log, login, shell), firmware version and HTTPS update
endpoint, RTSP responder (cameras), heater driven over MQTT (appliances), and
brute-force throttling that bans a source address in nftables after repeated failures.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness.emulate import webfw
from harness.emulate.heater import Heater
from harness.emulate.webui import check


def check_password(user: str, password: str) -> bool:
    """Against the namespace's own /etc/shadow."""
    return check(Path("/etc/shadow"), user, password)


class Agent(Heater):
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.dir = Path(cfg["dir"])
        self.fs = self.dir / "fs"
        self.lock = threading.Lock()
        self.heater = False
        self.local_at = -1e9            # when the local button was last pressed
        self.link_ok = True
        self.master = None
        self.fails: dict[tuple, list[float]] = {}      # the brute-force guard's counts

    # ------------------------------------------------------------ firmware state
    def version(self) -> str:
        return json.loads((self.fs / "etc" / "firmware.json").read_text())["version"]

    def set_version(self, v: str) -> None:
        (self.fs / "etc" / "firmware.json").write_text(json.dumps({"version": v}))

    # ------------------------------------------------------------ serial console
    def console_out(self, text: str) -> None:
        if self.master is not None:
            try:
                os.write(self.master, text.replace("\n", "\r\n").encode())
            except OSError:
                pass

    def console(self) -> None:
        from harness.emulate.uart import LineReader, connect
        self.uart = connect(self.dir)             # the adapter outlives this boot
        self.master = self.uart.fileno()
        reader = LineReader(self.master)
        self.console_out("\nU-Boot 2023.04 (emulated)\nDRAM: 128 MiB\n")
        if self.cfg["bootloader_break_in"]:
            self.console_out("Hit any key to stop autoboot:  2 \n")
            if reader.key_within(2.0):
                self.bootloader(reader)
        for line in ("Starting kernel ...", "[    0.000000] Linux version 6.1.0 (emulated)",
                     f"[    1.204000] {self.cfg['name']}: firmware {self.version()}",
                     "[    2.310000] init: starting services"):
            self.console_out(line + "\n")
        reader.flush()                            # getty drops what was typed during boot
        while True:
            if self.cfg["root_console"]:
                self.shell(reader)
                continue
            self.console_out(f"\n{self.cfg['name']} login: ")
            user = reader.line(echo=self.console_out)
            if user is None:
                return
            if not user.strip():
                continue
            self.console_out("Password: ")
            pw = reader.line(echo=None)
            if pw is None:
                return
            self.console_out("\n")
            if user and check_password(user, pw):
                self.shell(reader)
            else:
                time.sleep(1.0)
                self.console_out("Login incorrect\n")

    def bootloader(self, reader) -> None:
        """The flaw: an open U-Boot prompt (environment, memory, boot arguments)."""
        env = ("bootcmd=run distro_bootcmd\nbootdelay=2\nbaudrate=115200\n"
               "bootargs=console=ttyS0,115200 root=/dev/mtdblock2\n")
        while True:
            self.console_out("=> ")
            line = reader.line(echo=self.console_out)
            if line is None:
                return
            cmd = line.strip()
            if cmd in ("boot", "bootm", "reset"):
                return
            if cmd == "printenv":
                self.console_out(env)
            elif cmd == "version":
                self.console_out("U-Boot 2023.04 (emulated)\n")
            elif cmd:
                self.console_out(f"Unknown command '{cmd[:40]}' - try 'help'\n")

    def shell(self, reader) -> None:
        while True:
            self.console_out("# ")
            line = reader.line(echo=self.console_out)
            if line is None:
                return
            line = line.strip()
            if line in ("exit", "logout"):
                return
            if not line:
                continue
            try:
                out = subprocess.run([self.cfg["shell"], "-c", line], cwd=self.fs,
                                     capture_output=True,
                                     text=True, timeout=20, env={**os.environ, "HOME": str(self.fs)})
                self.console_out(out.stdout + out.stderr)
            except subprocess.TimeoutExpired:
                self.console_out("command timed out\n")

    # ------------------------------------------------------------ update endpoint
    def apply_update(self, image: bytes) -> tuple[int, str]:
        try:
            doc = json.loads(image)
            version, payload = doc["version"], base64.b64decode(doc["payload"])
        except (ValueError, KeyError, TypeError):
            return 400, "malformed image"
        if not self.cfg["unsigned_update"]:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.cfg["vendor_key"]))
            try:
                key.verify(base64.b64decode(doc.get("signature") or ""),
                           version.encode() + b"\n" + payload)
            except (InvalidSignature, ValueError):
                return 403, "signature verification failed"
        if not self.cfg["downgrade_update"] and _vtuple(version) <= _vtuple(self.version()):
            return 409, f"refusing downgrade from {self.version()} to {version}"
        self.set_version(version)
        self.console_out(f"\n[update] firmware now {version}\n")
        return 200, f"updated to {version}"

    def serve_update(self) -> None:
        agent, sessions = self, webfw.Sessions()

        class Handler(BaseHTTPRequestHandler):
            server_version = "fwupd"
            sys_version = ""
            timeout = 15                # s: a client that stalls (handshake or request)

            def log_message(self, *a):
                pass

            def _authed(self) -> bool:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    except ValueError:
                        return False
                    return check_password(user, pw)
                return False

            def _send(self, code, body, headers=None):
                data = body.encode()
                self.send_response(code)
                if code == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="update"')
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _signed_in(self) -> bool:
                return sessions.valid(self.headers.get("Cookie", ""))

            def do_GET(self):
                if agent.cfg.get("web_firmware"):          # the ER-70W's web UI pages
                    if self.path == webfw.LOGIN:
                        return self._send(200, webfw.login_page())
                    if self.path != webfw.STATUS:
                        return self._send(404, "not found")
                    if not self._signed_in():
                        return self._send(302, "sign in", {"Location": webfw.LOGIN})
                    return self._send(200, webfw.status_page(agent.version()))
                if self.path == "/api/firmware":
                    if not self._authed():
                        return self._send(401, "authentication required")
                    return self._send(200, json.dumps({"version": agent.version()}))
                self._send(404, "not found")

            def do_POST(self):
                web = agent.cfg.get("web_firmware")
                n = int(self.headers.get("Content-Length") or 0)
                if web and self.path == webfw.LOGIN:
                    code, page, headers = webfw.sign_in(sessions, self.rfile.read(min(n, 4096)),
                                                        check_password)
                    if code != 303:
                        agent.failed(self.client_address[0], 8443)
                    return self._send(code, page, headers)
                if self.path != (webfw.UPLOAD if web else "/api/update"):
                    return self._send(404, "not found")
                if not (self._signed_in() if web else self._authed()):
                    return self._send(403, "sign in first") if web else \
                        self._send(401, "authentication required")
                if n > 8 << 20:
                    return self._send(413, "image too large")
                body = self.rfile.read(n)
                if not web:
                    return self._send(*agent.apply_update(body))
                data = webfw.form_file(self.headers.get("Content-Type", ""), body)
                if data is None:
                    return self._send(400, f"Upgrade failed: no file in field {webfw.FIELD}")
                self._send(*webfw.apply(agent, data, lambda a, b: _vtuple(a) > _vtuple(b)))

        srv = ThreadingHTTPServer((self.cfg["address"], 8443), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cfg["pem"])
        # the TLS handshake in each connection's own thread: done in accept(), one client
        # that connects and says nothing (nmap's first probe) held every other one up
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
        srv.serve_forever()

    # ------------------------------------------------------------ RTSP (cameras)
    def serve_rtsp(self) -> None:
        agent = self

        class H(socketserver.StreamRequestHandler):
            def handle(self):
                self.request.settimeout(10)
                for _ in range(20):
                    lines = []
                    while True:
                        line = self.rfile.readline(2048)
                        if not line:
                            return
                        if line in (b"\r\n", b"\n"):
                            break
                        lines.append(line.decode("latin-1").strip())
                    if not lines:
                        return
                    method = lines[0].split(" ")[0]
                    headers = dict(l.split(":", 1) for l in lines[1:] if ":" in l)
                    headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
                    cseq = headers.get("cseq", "0")
                    self.wfile.write(agent.rtsp_reply(method, headers, cseq,
                                                      self.client_address[0]).encode())

        class S(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
        S((self.cfg["address"], 554), H).serve_forever()

    def rtsp_reply(self, method: str, headers: dict, cseq: str, source: str = "") -> str:
        if method == "OPTIONS":
            return f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n"
        if method != "DESCRIBE":
            return f"RTSP/1.0 405 Method Not Allowed\r\nCSeq: {cseq}\r\n\r\n"
        ok = self.cfg["anonymous_rtsp"]
        auth = headers.get("authorization", "")
        if not ok and auth.startswith("Basic "):
            user, _, pw = base64.b64decode(auth[6:]).decode(errors="replace").partition(":")
            ok = check_password(user, pw)
            if not ok:
                self.failed(source, 554)
        if not ok:
            return (f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                    f"WWW-Authenticate: Basic realm=\"camera\"\r\n\r\n")
        sdp = "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=camera\r\nm=video 0 RTP/AVP 96\r\n"
        return (f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\n"
                f"Content-Length: {len(sdp)}\r\n\r\n{sdp}")

    # ------------------------------------------------------------ brute-force throttle
    GUARD_LIMIT, GUARD_WINDOW, GUARD_BAN = 8, 60, 20

    def failed(self, source: str, port: int) -> None:
        """One failed login from `source` on `port`; like fail2ban, 8 within 60 s ban the
        source from that port for 20 s (nftables drops its packets). Called from the log
        reader and, synchronously, by the agent's own services (RTSP): a burst faster than
        the log is read must not slip through."""
        if self.cfg["no_throttle"]:
            return
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.fails.get((source, port), []) if now - t < 60] + [now]
            banned = len(recent) >= self.GUARD_LIMIT
            self.fails[(source, port)] = [] if banned else recent
        if banned:
            subprocess.run(["nft", "add", "element", "inet", "hxguard", "ban",
                            f"{{ {source} . {port} timeout {self.GUARD_BAN}s }}"],
                           capture_output=True)
            self.console_out(f"\n[guard] {source} locked out of port {port}\n")

    def throttle(self) -> None:
        """The guard: reads the logs of the unit's daemons (SSH, the web UI, ...) for failed
        logins (the form login and RTSP report theirs directly)."""
        subprocess.run(["nft", "-f", "-"], text=True, check=True, input=(   # fresh after a reboot
            "table inet hxguard\ndelete table inet hxguard\n"
            "table inet hxguard {\n set ban { type ipv4_addr . inet_service; flags timeout; }\n"
            " chain input { type filter hook input priority 0; "
            "ip saddr . tcp dport @ban drop\n }\n}\n"))
        # the logs of the unit's daemons -> the port each guards (unitbuild.build lists them)
        logs = {Path(path): port for path, port in self.cfg["guard_logs"]}
        pats = re.compile(r"(?:Bad password attempt|Login attempt for nonexistent user|"
                          r"Failed password|Invalid user|password doesn't match|"
                          r"get_password failed|digest: auth failed|"
                          r"Sending CONNACK to (?=\S+ \(\d+, 5\)))"
                          r".*?(\d+\.\d+\.\d+\.\d+)")
        # from the logs' current end: a rebooted unit does not replay the failures it saw
        # before (it used to, and banned the lab right after a power cycle)
        offsets = {p: p.stat().st_size if p.exists() else 0 for p in logs}
        forget = self.dir / "guard-forget"     # the test suite's clean slate between tests
        while True:
            time.sleep(0.2)
            if forget.exists():
                with self.lock:
                    self.fails.clear()
                (self.dir / "guard-reset").write_text(str(time.time()))   # for Node-RED's
                forget.unlink(missing_ok=True)
            for path, port in logs.items():
                try:
                    if path.stat().st_size == offsets[path]:
                        continue            # nothing new (a stat, not an open: 44 units poll)
                    with open(path, "rb") as fh:
                        fh.seek(offsets[path])
                        data = fh.read()
                        offsets[path] = fh.tell()
                except OSError:
                    continue
                for m in pats.finditer(data.decode("utf-8", "replace")):
                    self.failed(m.group(1), port)

    # ------------------------------------------------------------ motion's configuration
    def reload_motion(self) -> None:
        """A password change rewrites motion.conf (the stream's login): motion reads its
        configuration again on SIGHUP, as its documentation says."""
        from harness.emulate.netns import _ours
        conf = self.fs / "etc" / "motion.conf"
        seen = conf.stat().st_mtime if conf.exists() else 0
        while True:
            time.sleep(0.5)
            try:
                now = conf.stat().st_mtime
            except OSError:
                continue
            if now != seen:
                seen = now
                pid = _ours(self.dir / "pids" / "motion")
                if pid:
                    os.kill(pid, signal.SIGHUP)

    def start(self) -> None:
        jobs = [] if self.cfg.get("framework") else [self.serve_update]  # the framework's
        if self.cfg.get("motion"):
            jobs.append(self.reload_motion)
        if self.cfg["kind"] == "camera":
            jobs.append(self.serve_rtsp)
        if self.cfg.get("mqtt"):
            jobs.append(self.run_mqtt)
        if not self.cfg["no_throttle"]:
            jobs.append(self.throttle)
        for job in jobs:
            threading.Thread(target=job, daemon=True).start()
        self.console()


def _vtuple(v: str) -> tuple:
    return tuple(int(x) if x.isdigit() else 0 for x in re.split(r"[.-]", v))


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    Agent(cfg).start()


if __name__ == "__main__":
    main()
