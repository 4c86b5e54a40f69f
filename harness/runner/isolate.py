"""One step in a process forked for it: whatever the step allocates — and every page it
copies from the memory the device worker shares with the run's owner — goes back when that
process ends. For the memory-hungry library calls a worker makes once per device (sslyze's
TLS scan: ≈18 MiB in a worker, freed by nothing else).

The step's result or exception comes back pickled; a step that dies or outlasts its bound
is the device's error (DeviceError / TransportTimeout), and its process is killed.
"""
from __future__ import annotations

import ctypes
import os
import signal
from multiprocessing.connection import Pipe

from harness.errors import DeviceError, TransportTimeout

PR_SET_PDEATHSIG = 1


def die_with(owner: int) -> None:
    """In a forked process: killed when `owner` dies (a killed run leaves nothing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != owner:          # the owner died before the line above
        os._exit(1)


def stop_on_sigterm(ignore_sigint: bool = True) -> None:
    """SIGTERM ends the process the way Ctrl-C does (KeyboardInterrupt: the test case's
    restores run), once: a second signal while it puts the device back is ignored, so a
    restore is never interrupted twice. A device worker ignores the terminal's SIGINT: its
    owner tells it (SIGTERM)."""
    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_sigint else handler)


def how_it_ended(status: int) -> str:
    """A wait status in words: "signal SIGKILL", "exit status 1"."""
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def forked(what: str, fn, *args, timeout: float):
    reader, writer = Pipe(duplex=False)
    owner = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            reader.close()
            die_with(owner)
            try:
                out = ("ok", fn(*args))
            except Exception as exc:        # noqa: BLE001 - handed to the caller as is
                out = ("raise", exc)
            try:
                writer.send(out)
            except Exception as exc:        # noqa: BLE001 - an unpicklable result
                writer.send(("raise", DeviceError(f"{what}: {type(exc).__name__}: {exc}")))
            code = 0
        finally:
            os._exit(code)
    writer.close()
    try:
        if not reader.poll(timeout):
            raise TransportTimeout(f"{what} did not finish in {timeout:.0f}s")
        kind, value = reader.recv()
    except EOFError:
        _, status = os.waitpid(pid, 0)
        pid = 0
        raise DeviceError(f"{what}: its process died ({how_it_ended(status)})") from None
    finally:
        reader.close()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    if kind == "raise":
        raise value
    return value
