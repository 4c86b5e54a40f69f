"""Device-controlled text on a terminal: a banner, a status page or a reason quoting them
can carry escape sequences that retitle the window, move the cursor or hide lines. Every
line the harness prints from such text goes through `clean()`."""
from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other ESC sequences, C0 controls
# except tab and newline, DEL, C1 controls (their 8-bit forms)
_SEQ = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|"
                  r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def clean(text) -> str:
    """`text` with every terminal control sequence shown as '?' (tab and newline kept)."""
    return _SEQ.sub("?", str(text))
