"""What the login styles share: a throttling answer is a signal, not a refusal."""
from __future__ import annotations

import json

from harness.errors import Throttled

THROTTLE_STATUS = (429, 503)


def check_throttle(r, what: str):
    """A 429/503 answer (with its Retry-After), or an error that says "too many" attempts
    (Node-RED's lockout answers 500 so), means "slow down": the credential probes back off
    and try again rather than reading it as a refused password."""
    said = r.text()[:300] if r.status >= 400 else ""
    if r.status in THROTTLE_STATUS or "too many" in said.lower():
        after = r.headers.get("retry-after", "")
        raise Throttled(f"{what}: {r.status} {r.reason}"
                        + (f" (Retry-After: {after})" if after else "")
                        + (f": {said[:120]}" if "too many" in said.lower() else ""))
    return r


def json_field(body: bytes, dotted: str):
    """`a.b` of a JSON object, or None."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value if isinstance(value, str) and value else None
