"""A harness run started in the background and taken up later, by the process that started
it or by another worker of the same test run (the detection matrix)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class BackgroundRun:
    """The harness CLI started now, its result taken later (`result()`), by this process or
    another worker of the same test run (`attach(logdir)`): the pid, the deadline and, when
    the run ends, its exit status live in files beside its output. `stop()` kills it with
    its device workers if it is still running."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        meta = json.loads((logdir / "run.meta").read_text())
        self.pid, self.deadline_at, self.args = meta["pid"], meta["deadline"], meta["args"]

    @classmethod
    def start(cls, args, logdir: Path, timeout: float) -> "BackgroundRun":
        logdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "harness", *map(str, args)]
        # a small parent writes the exit status: whichever worker started it may be gone
        wrapper = ("import subprocess, sys\n"
                   "rc = subprocess.call(sys.argv[2:])\n"
                   "open(sys.argv[1] + '.tmp', 'w').write(str(rc))\n"
                   "import os; os.replace(sys.argv[1] + '.tmp', sys.argv[1])\n")
        with open(logdir / "stdout.txt", "w") as out, open(logdir / "stderr.txt", "w") as err:
            proc = subprocess.Popen([sys.executable, "-c", wrapper, str(logdir / "rc"), *cmd],
                                    cwd=REPO, stdout=out, stderr=err, start_new_session=True)
        (logdir / "run.meta").write_text(json.dumps(
            {"pid": proc.pid, "deadline": time.time() + timeout, "args": cmd}))
        return cls(logdir)

    @property
    def deadline(self) -> float:
        """As time.monotonic() reads it in this process."""
        return time.monotonic() + (self.deadline_at - time.time())

    def ended(self) -> bool:
        return (self.logdir / "rc").exists()

    def result(self) -> subprocess.CompletedProcess:
        while not self.ended():
            if time.time() > self.deadline_at:
                self.stop()
                raise TimeoutError(f"{' '.join(self.args)[:200]} still running at its deadline")
            time.sleep(1)
        return subprocess.CompletedProcess(
            self.args, int((self.logdir / "rc").read_text()),
            (self.logdir / "stdout.txt").read_text(encoding="utf-8", errors="replace"),
            (self.logdir / "stderr.txt").read_text(encoding="utf-8", errors="replace"))

    def stop(self) -> None:
        if not self.ended():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:                     # reap it if it is our child
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
