"""How the tests call the harness's command: as a user would (a process of its own) or in
this process where what is checked is the command's decision on its input."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from tests.background import REPO


def harness(*args, timeout=1800, env=None, pdf=False):
    """Run the harness CLI as a user would; returns the CompletedProcess. A run makes no
    report.pdf unless the test asks (`pdf=True`): the PDF has its own tests, and rendering
    it costs seconds per device in every run."""
    args = [str(a) for a in args]
    if args[:1] == ["run"] and not pdf and "--no-pdf" not in args:
        args.append("--no-pdf")
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def cli(*args, env=None):
    """The harness CLI in this process (`harness.cli.main`): the same exit code and output
    as `harness(...)` without starting an interpreter (≈ 0.6 CPU-s each). For what the
    command decides from its input; what is the user's own command line (the entry point,
    the README's commands) keeps `harness(...)`."""
    import io
    from harness import cli as entry
    args = [str(a) for a in args]
    out, err, saved = io.StringIO(), io.StringIO(), dict(os.environ)
    os.environ.update(env or {})
    try:
        with contextlib.chdir(REPO), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                code = entry.main(args)
            except SystemExit as exc:
                code = exc.code
    finally:
        os.environ.clear()
        os.environ.update(saved)
    code = 0 if code is None else code if isinstance(code, int) else 1
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
