"""An HTML form POSTed to `login_path`, answered with a session cookie. A login that sets
no cookie gets no session: the page is then fetched without one, so the unit's own answer
(a redirect to the login, 401) is the evidence, never the login form's "200 OK"."""
import urllib.parse

from harness.transport import http
from harness.weblogin._common import check_throttle

NAME = "form"


def auth(wire, host, web, user, password):
    body = urllib.parse.urlencode({web.user_field: user, web.password_field: password})
    posted = check_throttle(http.request(
        wire, host, web.port, web.login_path, "POST", tls=web.tls, body=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"}),
        f"POST {web.login_path}")
    if not posted.cookies:
        return {} if 200 <= posted.status < 400 else posted
    return {"headers": {"Cookie": "; ".join(f"{k}={v}" for k, v in posted.cookies.items())}}
