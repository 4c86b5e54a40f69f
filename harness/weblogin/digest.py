"""HTTP Digest authentication (RFC 7616): the server's challenge answered per request."""
NAME = "digest"


def auth(wire, host, web, user, password):
    return {"digest": (user, password)}
