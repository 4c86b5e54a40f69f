"""Whether an image the unit did not install was refused: a failed install counts as the
unit's refusal of the image only where the update framework's own words name a check on
the image — its hash, its signature or signer, its version, or the vendor's check hook
(a RAUC pre-install handler, a Mender state script). A download that broke off, a full
disk or a crashed installer says nothing about the image: TC-UPD-02 then leaves that
variant untested (NOT_RUN, with the framework's last words), never PASS.

Each framework's words are its shipped software's own messages (SWUpdate 2022.12, RAUC
1.8, Mender client 3.4, as Debian ships them), as each was seen refusing the images the
harness derives; a framework's other refusals (another product's bundle, say) are not
listed until seen, and leave their variant NOT_RUN meanwhile."""
from __future__ import annotations

import re

CHECKS = {
    "swupdate": re.compile(
        r"HASH mismatch"                                     # tampered content
        r"|instead of sw-description\.sig"                   # unsigned: no signature first
        r"|Authentication of all signatures failed|Failed to verify certificate"  # signer
        r"|No downgrading allowed"),                         # older
    "rauc": re.compile(
        r"signature verification failed|Signature size is 0"
        r"|Pre-install handler error"),                      # the vendor's version check
    "mender": re.compile(
        r"invalid checksum|expecting signed artifact|invalid signature|verification error"
        r"|refusing artifact version|Leave script failed|statescript: error"),
}


def named_check(framework: str, lines: list[str]) -> str | None:
    """The last of `lines` in which the framework names the check that refused the image."""
    words = CHECKS[framework]
    return next((ln.strip()[:300] for ln in reversed(lines) if words.search(ln)), None)


def judged(framework: str, result: dict, lines: list[str], refused_as: str = "") -> dict:
    """An install that failed, read: refused (`refused_by` the framework's words) when they
    name a check on the image, otherwise neither accepted nor refused (`accepted` None and
    `undecided` saying why), which TC-UPD-02 leaves untested. A refusal's outcome becomes
    `refused_as` when given."""
    said = named_check(framework, lines)
    if said:
        return {**result, "accepted": False, "refused_by": said,
                **({"outcome": refused_as} if refused_as else {})}
    last = "; ".join(ln.strip()[:160] for ln in lines[-3:] if ln.strip()) or "nothing"
    return {**result, "accepted": None,
            "undecided": f"the install failed ({result.get('outcome')}), but {framework} named "
                         f"no check on the image (its last words: {last}): a failure for "
                         "another cause (a broken download, a full disk) is no refusal"}


def by_status(result: dict, status: int) -> dict:
    """An upload's HTTP answer, read: 2xx taken, 4xx the unit's refusal, anything else (a
    5xx: the server failed) neither taken nor refused — no refusal of the image."""
    if 200 <= status < 300 or 400 <= status < 500:
        return {**result, "accepted": status < 300}
    return {**result, "accepted": None,
            "undecided": f"the unit's web server answered {status}: a server that failed "
                         "refused nothing"}
