"""A token login, as single-page web UIs and device APIs do it: the user name and password
POSTed as JSON or a form to `login_path`, a token in the JSON answer (`token_field`, dotted
for nested objects) or a cookie, then sent as a bearer header or a cookie. An answer
without a token is a refusal."""
import json
import urllib.parse

from harness.transport import http
from harness.weblogin._common import check_throttle, json_field

NAME = "token"


def auth(wire, host, web, user, password):
    fields = {web.user_field: user, web.password_field: password}
    if web.body == "json":
        body, kind = json.dumps(fields).encode(), "application/json"
    else:
        body, kind = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    posted = check_throttle(http.request(
        wire, host, web.port, web.login_path, "POST", tls=web.tls, body=body,
        headers={"Content-Type": kind, "Accept": "application/json"}, log_body=False),
        f"POST {web.login_path}")
    if not 200 <= posted.status < 300:
        return posted
    return use(wire, web, json_field(posted.body, web.token_field), posted.cookies)


def use(wire, web, value, cookies=None):
    """The token sent as the profile says (bearer or cookie); no token: refused."""
    if value:
        wire.transcript.redact.add(value)
    if web.token_use == "bearer" and value:
        return {"headers": {"Authorization": f"Bearer {value}"}}
    if web.token_use == "cookie" and (value or cookies):
        jar = dict(cookies or {})
        if value:
            jar[web.token_cookie] = value
        return {"headers": {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}}
    return http.Response(401, "no token in the login answer")
