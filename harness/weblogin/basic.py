"""HTTP Basic authentication (RFC 7617): the credential with every request."""
NAME = "basic"


def auth(wire, host, web, user, password):
    return {"basic": (user, password)}
