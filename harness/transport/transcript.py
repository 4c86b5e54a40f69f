"""Per-device transcript of every byte exchanged, with secrets redacted."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path


class Redactor:
    MASK = "***"

    def __init__(self, secrets=()):
        # longest first, so a secret containing another is masked whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, self.MASK)
        return text

    def obj(self, value):
        """Redact every string inside a JSON-like structure."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.obj(v) for v in value]
        return value


class Transcript:
    """Append-only log; each line is `time channel dir text`. dir: > sent, < received, # note."""

    def __init__(self, path: Path | None, redact: Redactor | None = None):
        self.path = path
        self.redact = redact or Redactor()
        self._lock = threading.Lock()
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)

    def _write(self, channel: str, direction: str, data) -> None:
        if self.path is None:
            return
        if isinstance(data, bytes):
            data = data.decode("utf-8", "backslashreplace")
        text = self.redact(data)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        lines = text.splitlines() or [""]
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(f"{stamp} {channel} {direction} {line}\n")

    def sent(self, channel: str, data) -> None:
        self._write(channel, ">", data)

    def received(self, channel: str, data) -> None:
        self._write(channel, "<", data)

    def note(self, channel: str, text: str) -> None:
        self._write(channel, "#", text)
