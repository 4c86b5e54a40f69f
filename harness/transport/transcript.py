"""Per-device transcript of every byte exchanged, with secrets redacted."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from pathlib import Path

from harness.redact import Redactor


class Transcript:
    """Append-only log; each line is `time channel dir text`. dir: > sent, < received, # note.

    Raw reads (bytes) are written in whole lines: a chunk that ends mid-line waits for the
    rest of its line (or flush()), so a secret split across two reads is still masked. A text
    message is one entry. Output read under
    `withheld(channel)` (a file of password hashes) is logged as its size and digest only."""

    def __init__(self, path: Path | None, redact: Redactor | None = None):
        self.path = path
        self.redact = redact or Redactor()
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], str] = {}
        self._withheld: set[str] = set()
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def withheld(self, channel: str):
        self.flush()
        self._withheld.add(channel)
        try:
            yield
        finally:
            self._withheld.discard(channel)

    def _write(self, channel: str, direction: str, data) -> None:
        if self.path is None:
            return
        stream = isinstance(data, bytes)      # raw reads of a console; text is one message
        if stream:
            data = data.decode("utf-8", "backslashreplace")
        if channel in self._withheld and direction == "<":
            digest = hashlib.sha256(data.encode()).hexdigest()[:16]
            data = f"<{len(data)} characters withheld (secret content); sha256 {digest}…>\n"
        with self._lock:
            key = (channel, direction)
            text = self._pending.pop(key, "") + data
            if stream and not text.endswith(("\n", "\r")) and len(text) < 65536:
                head, sep, tail = text.rpartition("\n")
                if tail:
                    self._pending[key] = tail
                    text = head + sep
            if text:
                self._emit(channel, direction, text)

    def _emit(self, channel: str, direction: str, text: str) -> None:
        text = self.redact(text)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        lines = text.splitlines() or [""]
        from harness import safefile            # never through a link
        safefile.append(self.path, "".join(f"{stamp} {channel} {direction} {line}\n"
                                           for line in lines))

    def flush(self) -> None:
        """Write what waits for the end of its line (at the end of a test, a close)."""
        if self.path is None:
            return
        with self._lock:
            pending, self._pending = self._pending, {}
            for (channel, direction), text in pending.items():
                self._emit(channel, direction, text)

    def sent(self, channel: str, data) -> None:
        self._write(channel, ">", data)

    def received(self, channel: str, data) -> None:
        self._write(channel, "<", data)

    def note(self, channel: str, text: str) -> None:
        self._write(channel, "#", text)
