"""Per-device transcript of every byte exchanged, with secrets redacted."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import shlex
import threading
import urllib.parse
from pathlib import Path


def _base64_cores(secret: str) -> list[str]:
    """The characters a secret always turns into inside base64, whatever stands before it
    (HTTP Basic's base64 of "user:password"): for each of the three alignments, the part of
    the encoding that depends on the secret's bytes alone. Too short a core (a secret under
    four bytes) would mask innocent text: such a secret's base64 is left as it is."""
    import base64
    raw, out = secret.encode(), []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw).decode()
        start = -(-4 * k // 3)                     # characters touched by the prefix
        end = (len(raw) + k) // 3 * 4              # the last full group
        core = enc[start:end]
        if len(core) >= 4:
            out.append(core)
    return out


# Secrets a device discloses (a status page showing the Wi-Fi passphrase, a private key
# served without login): the finding names the kind, the transcript never spells the value
DISCLOSED = [
    (re.compile(r"(?i)\b(psk|passphrase|wpa[_ -]?key|wpa_passphrase|wifi[_ -]?password)"
                r"(\s*[:=]\s*)(\S{6,})"), "Wi-Fi passphrase"),
    (re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE "
                r"KEY-----|$)"), "private key"),
]


def mask_disclosed(text: str) -> str:
    text = DISCLOSED[0][0].sub(lambda m: f"{m.group(1)}{m.group(2)}***(Wi-Fi passphrase)",
                               text)
    return DISCLOSED[1][0].sub("***(private key)***", text)


class Redactor:
    """Masks every secret in text, also in the forms it takes inside a repr(), JSON, a URL
    or a shell command line, and whatever its length (a short secret is still a secret)."""
    MASK = "***"

    def __init__(self, secrets=()):
        forms = set()
        for s in secrets:
            if not s:
                continue
            forms |= {s, repr(s)[1:-1], json.dumps(s)[1:-1], shlex.quote(s),
                      s.encode("unicode_escape").decode("ascii"),
                      urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s),
                      s.encode().hex(), s.encode().hex().upper(), *_base64_cores(s)}
        # longest first, so a secret containing another is masked whole
        self.secrets = sorted((f for f in forms if f), key=len, reverse=True)

    def add(self, secret: str) -> None:
        """A secret made during the run (a temporary password)."""
        self.secrets = Redactor([*self.secrets, secret]).secrets

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, self.MASK)
        return mask_disclosed(text)

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
