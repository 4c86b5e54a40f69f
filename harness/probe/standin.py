"""The harness as a stand-in for a device's server: a listener on the lab's
harness_address (the lab's redirect action sends the device's connection there)."""
from __future__ import annotations

import contextlib
import socket

from harness.errors import DeviceError, Inconclusive


def listen(bind: str, backlog: int) -> tuple[socket.socket, str]:
    """A TCP listener on `bind`, an ephemeral port; returns it and its HOST:PORT."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, 0))
    except OSError as exc:
        sock.close()
        raise DeviceError(f"cannot listen on the lab's harness_address {bind}: "
                          f"{exc.strerror or exc}") from None
    sock.listen(backlog)
    host, port = sock.getsockname()[:2]
    return sock, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


def lab_for(run_context, what: str, refuse=None):
    """The lab config, when it can stand in for `what` (harness_address and the redirect
    and redirect_clear actions); else `refuse` (default Inconclusive) names what it lacks."""
    lab = run_context.lab
    if not (lab.harness_address and lab.actions.redirect and lab.actions.redirect_clear):
        raise (refuse or Inconclusive)("the lab config needs harness_address and the redirect "
                                       f"and redirect_clear actions to stand in for {what}")
    return lab


@contextlib.contextmanager
def redirected(lifecycle, target: str, to: str):
    """The lab's redirect sends the device's connections for `target` to `to`; always
    cleared on the way out."""
    lifecycle.act("redirect", target=target, to=to)
    try:
        yield
    finally:
        lifecycle.act("redirect_clear")
