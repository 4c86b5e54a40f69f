"""Web login procedures, one module per style, wired here and nowhere else.

A style knows how to log in to a web surface the way the profile declares it and fetch a
page with the session it got: `fetch(wire, host, web, path, user, password) -> Response`.
A login counts only when the admin page then answers 2xx (the proof), and a refusal only
means something once the same procedure has been shown to succeed with the lab's own
credential (the positive control, harness.probe.credentials). The profile schema's
`web[].auth` values are this registry's keys plus "none".
"""
from __future__ import annotations

from harness.weblogin import basic, digest, form, oauth2, token

STYLES = {m.NAME: m for m in (basic, digest, form, token, oauth2)}


def fetch(wire, host: str, web, path: str, user: str, password: str):
    """`path` fetched after logging in with the surface's declared style."""
    try:
        style = STYLES[web.auth]
    except KeyError:
        raise ValueError(f"no login on a web surface with auth '{web.auth}'") from None
    return style.fetch(wire, host, web, path, user, password)


def login(wire, host: str, web, user: str, password: str) -> bool:
    """Log in and prove it: the first admin path answers 2xx with the session."""
    r = fetch(wire, host, web, web.admin_paths[0], user, password)
    return 200 <= r.status < 300
