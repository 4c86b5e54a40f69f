"""Which login style a web port speaks, from what it answers: an HTTP challenge (basic,
digest), an HTML form with a password field (form), an OAuth2 token endpoint that answers
a password grant with an OAuth2 error (oauth2), or a JSON login API (token). Each POST
carries one deliberately wrong credential. With the lab's credential, the guess is then
proven the way the credential tests prove a login (the admin path answers 2xx)."""
from __future__ import annotations

import html.parser
import json
import urllib.parse

from harness.errors import DeviceError
from harness.transport import http

OAUTH2_PATHS = ("/auth/token", "/oauth/token", "/oauth2/token", "/token")
TOKEN_PATHS = ("/api/login", "/api/auth/login", "/api/v1/login", "/api/session",
               "/api/login.cgi", "/login")
OAUTH2_ERRORS = ("invalid_grant", "invalid_client", "unauthorized_client", "invalid_request",
                 "unsupported_grant_type", "invalid_scope")
WRONG = ("hx-probe", "hx-wrong-password")


class _Forms(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self._form, self.links = [], None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and (a.get("href") or "").startswith("/"):
            self.links.append(a["href"])
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or
                          "get").lower(), "inputs": []}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            self._form["inputs"].append(((a.get("type") or "text").lower(), a.get("name")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _is_tls(wire, host, port) -> bool:
    try:
        http.request(wire, host, port, "/", tls=True, max_body=1024, body_seconds=1)
        return True
    except DeviceError:
        return False


def _json(r):
    try:
        return json.loads(r.body)
    except (ValueError, UnicodeDecodeError):
        return None


def detect(wire, host: str, port: int, tls: bool | None = None) -> dict:
    """{'auth': style | None, 'tls': bool, 'fields': {...}, 'evidence': [...], 'guesses':
    [field names the answers did not show for sure]}."""
    tls = _is_tls(wire, host, port) if tls is None else tls
    seen: list[str] = []
    out = {"auth": None, "tls": tls, "fields": {}, "evidence": seen, "guesses": []}
    root = http.request(wire, host, port, "/", tls=tls, max_body=64 << 10)
    seen.append(f"GET / -> {root.status} {root.content_type or '-'}"
                + (f" ({root.truncated})" if root.truncated else ""))
    # the landing page, the pages it links to and the usual admin paths (a redirect to a
    # login page followed once): the first challenge or password form found decides
    for path in _candidates(root):
        r = root if path == "/" else http.request(wire, host, port, path, tls=tls,
                                                  max_body=64 << 10)
        if path != "/":
            seen.append(f"GET {path} -> {r.status} {r.content_type or '-'}")
        challenge = r.headers.get("www-authenticate", "")
        if r.status == 401 and challenge.lower().startswith(("basic", "digest")):
            out["auth"] = challenge.split()[0].lower()
            out["fields"]["admin_paths"] = [path]
            seen.append(f"WWW-Authenticate: {challenge[:80]}")
            return out
        where = r.headers.get("location", "")
        if r.status in (301, 302, 303, 307) and where.startswith("/"):
            r = http.request(wire, host, port, where, tls=tls, max_body=64 << 10)
            seen.append(f"  redirected to {where} -> {r.status}")
        form = _password_form(r) if r.status == 200 else None
        if form:
            action, user_field, pw_field = form
            seen.append(f"an HTML form with a password field posting to {action}")
            out.update(auth="form", fields={"login_path": action, "user_field": user_field,
                                            "password_field": pw_field,
                                            "admin_paths": [path]})
            return out
    # Node-RED announces its login: GET /auth/login -> {"type": "credentials", ...}
    probe = http.request(wire, host, port, "/auth/login", tls=tls, max_body=4096)
    doc = _json(probe) if probe.status == 200 else None
    if isinstance(doc, dict) and doc.get("type") == "credentials":
        seen.append("GET /auth/login -> {type: credentials}: Node-RED's admin login")
        out.update(auth="oauth2", fields={"login_path": "/auth/token",
                                          "client_id": "node-red-admin", "scope": "*",
                                          "admin_paths": ["/flows"]})
        return out
    if isinstance(doc, dict) and probe.status == 200 and not doc:
        seen.append("GET /auth/login -> {}: Node-RED without adminAuth (no login at all)")
    for path in OAUTH2_PATHS:
        r = http.request(wire, host, port, path, "POST", tls=tls,
                         body=urllib.parse.urlencode({"grant_type": "password",
                                                      "username": WRONG[0],
                                                      "password": WRONG[1]}).encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         max_body=4096)
        doc = _json(r)
        if isinstance(doc, dict) and doc.get("error") in OAUTH2_ERRORS:
            seen.append(f"POST {path} (password grant, wrong credential) -> {r.status} "
                        f"error={doc['error']}")
            out.update(auth="oauth2", fields={"login_path": path})
            out["guesses"] += ["client_id", "scope", "admin_paths"]
            return out
    for path in TOKEN_PATHS:
        r = http.request(wire, host, port, path, "POST", tls=tls,
                         body=json.dumps({"username": WRONG[0], "password": WRONG[1]}).encode(),
                         headers={"Content-Type": "application/json",
                                  "Accept": "application/json"}, max_body=4096)
        if r.status in (200, 400, 401, 403, 422) and _json(r) is not None:
            seen.append(f"POST {path} (JSON, wrong credential) -> {r.status} JSON")
            out.update(auth="token", fields={"login_path": path, "body": "json"})
            out["guesses"] += ["user_field", "password_field", "token_field", "token_use",
                               "admin_paths"]
            return out
    seen.append("no challenge, no password form, no token endpoint answered")
    return out


ADMIN_PATHS = ("/admin/", "/admin", "/login", "/cgi-bin/luci")


def _candidates(root) -> list[str]:
    parser = _Forms()
    try:
        parser.feed(root.text())
    except Exception:          # malformed markup from a device: no links, not a crash
        pass
    return list(dict.fromkeys(["/", *parser.links[:5], *ADMIN_PATHS]))[:9]


def _password_form(r):
    parser = _Forms()
    try:
        parser.feed(r.text())
    except Exception:          # malformed markup from a device: no form, not a crash
        return None
    for f in parser.forms:
        names = [(t, n) for t, n in f["inputs"] if n]
        pw = next((n for t, n in names if t == "password"), None)
        user = next((n for t, n in names if t in ("text", "email")), None)
        if pw and f["method"] == "post":
            return f["action"] or "/", user or "username", pw
    return None


def prove(wire, host: str, port: int, found: dict, user: str, password: str) -> dict:
    """The guess tried with the lab's credential (and a wrong one) the way the credential
    tests try it: proven only when the right one logs in and the wrong one does not."""
    from harness import weblogin
    from harness.profile.schema import Web
    web = Web(port=port, tls=found["tls"], auth=found["auth"], **found["fields"])
    good = weblogin.login(wire, host, web, user, password)
    bad = weblogin.login(wire, host, web, user, WRONG[1])
    return {"lab credential logs in": good, "wrong credential refused": not bad,
            "proven": good and not bad}


def snippet(port: int, found: dict, proof: dict | None = None) -> str:
    """The profile's `web:` entry, every guess marked."""
    if not found["auth"]:
        return (f"# port {port}: no login style recognised ({'; '.join(found['evidence'])});\n"
                "# the credential tests will report this surface as not tested\n")
    fields = {"port": port, "tls": found["tls"], "auth": found["auth"], **found["fields"]}
    body = ", ".join(f"{k}: {json.dumps(v)}" for k, v in fields.items())
    lines = [f"web:   # seen: {'; '.join(found['evidence'])}",
             f"  - {{{body}, username: CHANGE-ME, password: {{env: CHANGE_ME}}}}"]
    if found["guesses"]:
        lines.append(f"    # guessed, confirm from the manual: {', '.join(found['guesses'])}")
    if proof is not None:
        lines.append(f"    # with the lab's credential: {'proven' if proof['proven'] else 'NOT proven'}"
                     f" ({proof})")
    return "\n".join(lines) + "\n"
