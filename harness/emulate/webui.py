"""The form-login web UI of an emulated appliance: CGI programs under the real lighttpd.

`/login.cgi` takes a POSTed user name and password, checks them against the device's
crypt(3) user file and sets a session cookie; `/admin/` (index.cgi) answers only with a
valid session and otherwise redirects to the login page. The companion app's API logs in
with JSON at `/api/login.cgi` and gets a token, sent to `/api/settings.cgi` as a bearer
header or a `token` cookie. Failed logins go to an auth log,
and repeated ones lock the source out (unless the unit has the no_throttle flaw). Standard library only: every request is a new
process.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

SESSION_SECONDS = 600
LOGIN_PAGE = ("<html><body><h1>Sign in</h1>{msg}<form method='post' action='/login.cgi'>"
              "<input name='username'><input name='password' type='password'>"
              "<button>Sign in</button></form></body></html>\n")


def check(users: Path, user: str, password: str) -> bool:
    """Against a crypt(3) user file (user:hash or /etc/shadow), openssl computing the hash
    (the crypt module is gone from current Pythons)."""
    for line in users.read_text().splitlines():
        name, _, rest = line.partition(":")
        if name != user:
            continue
        stored = rest.split(":", 1)[0]
        m = re.match(r"^\$(1|5|6)\$([^$]+)\$", stored)
        if not m:
            return False
        got = subprocess.run(["openssl", "passwd", f"-{m.group(1)}", "-salt", m.group(2),
                              "-stdin"], input=password, capture_output=True, text=True).stdout
        return got.strip() == stored
    return False


def reply(status: str, body: str = "", headers: tuple = ()) -> None:
    sys.stdout.write(f"Status: {status}\r\n" + "".join(f"{h}\r\n" for h in headers)
                     + "Content-Type: text/html\r\n\r\n" + body)
    sys.stdout.flush()


def login(cfg: dict) -> None:
    if os.environ.get("REQUEST_METHOD") != "POST":
        return reply("200 OK", LOGIN_PAGE.format(msg=""))
    size = min(int(os.environ.get("CONTENT_LENGTH") or 0), 4096)
    form = urllib.parse.parse_qs(sys.stdin.read(size))
    user, password = form.get("username", [""])[0], form.get("password", [""])[0]
    source = os.environ.get("REMOTE_ADDR", "")
    if cfg["throttle"] and _banned(Path(cfg["guard"]), source):
        return reply("429 Too Many Requests", LOGIN_PAGE.format(
            msg="<p>Too many failed logins; try again later</p>"))
    if user and check(Path(cfg["users"]), user, password):
        token = _new_session(cfg, user)
        secure = "; Secure" if cfg["tls"] else ""
        return reply("302 Found", headers=(f"Set-Cookie: session={token}; HttpOnly{secure}; "
                                           "Path=/", "Location: /admin/"))
    with open(cfg["auth_log"], "a") as fh:
        fh.write(f"form login failed for {user[:32]!r} from {source}\n")
    if cfg["throttle"]:
        _count_failure(Path(cfg["guard"]), source)
    reply("200 OK", LOGIN_PAGE.format(msg="<p>Login failed</p>"))


def _banned(guard: Path, source: str) -> bool:
    ban = guard / f"ban-{source}"
    try:
        return float(ban.read_text()) > time.time()
    except (OSError, ValueError):
        return False


def _count_failure(guard: Path, source: str) -> None:
    """Like the SSH and basic-auth guard: 8 failures from one source within 60 s lock that
    source out of the login for 20 s — decided here, before the next request is answered."""
    guard.mkdir(parents=True, exist_ok=True)
    log, now = guard / f"fails-{source}", time.time()
    try:
        past = [float(t) for t in log.read_text().split()]
    except (OSError, ValueError):
        past = []
    recent = [t for t in past if now - t < 60] + [now]
    if len(recent) >= 8:
        (guard / f"ban-{source}").write_text(str(now + 20))
        recent = []
    log.write_text(" ".join(f"{t:.3f}" for t in recent))


def _new_session(cfg: dict, user: str) -> str:
    token = secrets.token_hex(16)
    sessions = Path(cfg["sessions"])
    sessions.mkdir(parents=True, exist_ok=True)
    (sessions / token).write_text(user)
    return token


def _session_ok(token: str | None, cfg: dict) -> bool:
    session = Path(cfg["sessions"]) / token if token and re.fullmatch(r"[0-9a-f]{32}", token) \
        else None
    return bool(session and session.exists()
                and time.time() - session.stat().st_mtime < SESSION_SECONDS)


def _json(status: str, doc: dict) -> None:
    sys.stdout.write(f"Status: {status}\r\nContent-Type: application/json\r\n\r\n"
                     + json.dumps(doc))
    sys.stdout.flush()


def api_login(cfg: dict) -> None:
    """The app's JSON login: {"username", "password"} -> {"token": ...} (the same accounts,
    sessions and brute-force guard as the form login)."""
    if os.environ.get("REQUEST_METHOD") != "POST":
        return _json("405 Method Not Allowed", {"error": "POST a JSON login"})
    size = min(int(os.environ.get("CONTENT_LENGTH") or 0), 4096)
    try:
        doc = json.loads(sys.stdin.read(size) or "{}")
        user, password = str(doc.get("username", "")), str(doc.get("password", ""))
    except (ValueError, AttributeError):
        return _json("400 Bad Request", {"error": "not JSON"})
    source = os.environ.get("REMOTE_ADDR", "")
    if cfg["throttle"] and _banned(Path(cfg["guard"]), source):
        return _json("429 Too Many Requests", {"error": "too many failed logins"})
    if user and check(Path(cfg["users"]), user, password):
        return _json("200 OK", {"token": _new_session(cfg, user), "expires_in": SESSION_SECONDS})
    with open(cfg["auth_log"], "a") as fh:
        fh.write(f"api login failed for {user[:32]!r} from {source}\n")
    if cfg["throttle"]:
        _count_failure(Path(cfg["guard"]), source)
    _json("401 Unauthorized", {"error": "invalid credentials"})


def api_settings(cfg: dict) -> None:
    """Settings for the app: the token as a bearer header or a `token` cookie."""
    auth = os.environ.get("HTTP_AUTHORIZATION", "")
    token = auth[7:].strip() if auth.startswith("Bearer ") else None
    m = re.search(r"(?:^|;\s*)token=([0-9a-f]{32})\b", os.environ.get("HTTP_COOKIE", ""))
    if _session_ok(token, cfg) or _session_ok(m.group(1) if m else None, cfg):
        return _json("200 OK", {"wifi": "configured", "accounts": 1, "firmware": "current"})
    _json("401 Unauthorized", {"error": "log in first"})


def admin(cfg: dict) -> None:
    m = re.search(r"(?:^|;\s*)session=([0-9a-f]{32})\b", os.environ.get("HTTP_COOKIE", ""))
    session = Path(cfg["sessions"]) / m.group(1) if m else None
    if session and session.exists() and time.time() - session.stat().st_mtime < SESSION_SECONDS:
        return reply("200 OK", "<html><body><h1>Settings</h1><form>Wi-Fi, accounts, "
                               "firmware</form></body></html>\n")
    reply("302 Found", headers=("Location: /login.cgi",))


def main(config: str) -> None:
    cfg = json.loads(Path(config).read_text())
    script = os.environ.get("SCRIPT_NAME", "")
    handler = {"/api/login.cgi": api_login, "/api/settings.cgi": api_settings}.get(script) \
        or (login if script.endswith("login.cgi") else admin)
    handler(cfg)


def install(d: Path, docs: Path, users: Path, tls: bool, throttle: bool) -> list[str]:
    """Write the CGI stubs and their config; return lighttpd config lines."""
    from harness.emulate.files import write
    cfg = write(d / "webui.json", json.dumps({
        "users": str(users), "sessions": str(d / "sessions"), "guard": str(d / "guard"),
        "auth_log": str(d / "log" / "web-auth.log"), "tls": tls, "throttle": throttle}))
    repo = Path(__file__).resolve().parents[2]
    stub = (f"import sys\nsys.path.insert(0, {str(repo)!r})\n"
            f"from harness.emulate.webui import main\nmain({str(cfg)!r})\n")
    write(docs / "login.cgi", stub)
    write(docs / "admin" / "index.cgi", stub)
    write(docs / "api" / "login.cgi", stub)         # the app's JSON login (token)
    write(docs / "api" / "settings.cgi", stub)
    return [f'cgi.assign = (".cgi" => "{sys.executable}")',
            'index-file.names = ("index.html", "index.cgi")']
