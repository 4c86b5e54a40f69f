"""HTTP Basic authentication (RFC 7617): the credential with every request."""
from harness.transport import http
from harness.weblogin._common import check_throttle

NAME = "basic"


def fetch(wire, host, web, path, user, password):
    return check_throttle(http.request(wire, host, web.port, path, tls=web.tls,
                                       basic=(user, password)), f"GET {path}")
