"""Web login procedures, one module per style, wired here and nowhere else.

A style knows how to log in to a web surface the way the profile declares it:
`auth(wire, host, web, user, password)` gives the arguments of `http.request` that carry the
session it got (a credential, a cookie, a bearer token), or the unit's answer that refused
the login. A login counts only when the admin page then answers 2xx (the proof), and a
refusal only means something once the same procedure has been shown to succeed with the
lab's own credential (the positive control, harness.probe.credentials). The profile
schema's `web[].auth` values are this registry's keys plus "none".
"""
from __future__ import annotations

from harness.transport import http
from harness.weblogin import basic, digest, form, oauth2, token
from harness.weblogin._common import check_throttle

STYLES = {m.NAME: m for m in (basic, digest, form, token, oauth2)}


def auth(wire, host: str, web, user: str, password: str):
    """Log in with the surface's declared style: `http.request` arguments carrying the
    session, or the answer that refused the login (an http.Response)."""
    try:
        style = STYLES[web.auth]
    except KeyError:
        raise ValueError(f"no login on a web surface with auth '{web.auth}'") from None
    return style.auth(wire, host, web, user, password)


def fetch(wire, host: str, web, path: str, user: str, password: str):
    """`path` fetched after logging in with the surface's declared style."""
    got = auth(wire, host, web, user, password)
    if isinstance(got, http.Response):
        return got
    return check_throttle(http.request(wire, host, web.port, path, tls=web.tls, **got),
                          f"GET {path}")


def login(wire, host: str, web, user: str, password: str) -> bool:
    """Log in and prove it: the first admin path answers 2xx with the session."""
    r = fetch(wire, host, web, web.admin_paths[0], user, password)
    return 200 <= r.status < 300
