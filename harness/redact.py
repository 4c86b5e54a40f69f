"""Masking secrets in anything the harness writes: transcripts, reasons, evidence, reports.

One Redactor per run holds the run's secrets (the profiles' passwords and those made during
the run); what a device discloses on its own (a Wi-Fi passphrase, a private key) is masked
by kind, whether or not the lab knew it."""
from __future__ import annotations

import json
import re
import shlex
import urllib.parse


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
        self.raw = list(dict.fromkeys(s for s in secrets if s))    # as given, once each
        self.secrets = self._forms(self.raw)

    @staticmethod
    def _forms(secrets) -> list[str]:
        forms = set()
        for s in secrets:
            forms |= {s, repr(s)[1:-1], json.dumps(s)[1:-1], shlex.quote(s),
                      s.encode("unicode_escape").decode("ascii"),
                      urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s),
                      *_base64_cores(s)}
            # its hex form only from four bytes on: a shorter one (a two-character
            # password is four hex digits) turns up by chance in every other digest
            if len(s.encode()) >= 4:
                forms |= {s.encode().hex(), s.encode().hex().upper()}
        # longest first, so a secret containing another is masked whole
        return sorted((f for f in forms if f), key=len, reverse=True)

    def add(self, secret: str) -> None:
        """A secret made during the run (a temporary password, a login's token). The forms
        are made from the secrets as given: made again from the forms, they multiplied with
        every secret added (a unit whose web UI hands out a token per login slowed its run
        to minutes per transcript line)."""
        if secret and secret not in self.raw:
            self.raw.append(secret)
            self.secrets = self._forms(self.raw)

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
