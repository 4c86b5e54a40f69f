"""OAuth 2.0 resource-owner password grant (RFC 6749 §4.3), as device UIs such as
Node-RED's editor use it: grant_type=password, the user name, password, client_id and
scope POSTed as a form to the token endpoint (`login_path`); `access_token` from the JSON
answer sent as a bearer header (or a cookie, `token_use`)."""
import urllib.parse

from harness.transport import http
from harness.weblogin._common import check_throttle, json_field
from harness.weblogin.token import use

NAME = "oauth2"


def auth(wire, host, web, user, password):
    fields = {"grant_type": "password", "username": user, "password": password}
    if web.client_id:
        fields["client_id"] = web.client_id
    if web.scope:
        fields["scope"] = web.scope
    posted = check_throttle(http.request(
        wire, host, web.port, web.login_path, "POST", tls=web.tls,
        body=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"}, log_body=False), f"POST {web.login_path}")
    if not 200 <= posted.status < 300:
        return posted
    return use(wire, web, json_field(posted.body, "access_token"))
