"""HTTP Digest authentication (RFC 7616): the server's challenge answered per request."""
from harness.transport import http
from harness.weblogin._common import check_throttle

NAME = "digest"


def fetch(wire, host, web, path, user, password):
    return check_throttle(http.request(wire, host, web.port, path, tls=web.tls,
                                       digest=(user, password)), f"GET {path}")
