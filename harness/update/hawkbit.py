"""Over-the-air pull (kind `hawkbit`): the unit polls its vendor's update server, here
spoken in the hawkBit DDI API (SWUpdate's suricatta, rauc-hawkbit-updater). The harness
stands in for that server on the lab's harness_address, the lab's redirect action sending
the unit's connections there:

- the channel (TC-UPD-01): first with a certificate from a CA made for this run, which a
  unit that checks its server must refuse with its own TLS alert; a poll in plain HTTP, or a
  handshake the unit completes, is a finding (ETSI 5.3-7). With the vendor's certificate
  for its server (update.server_cert), a poll over TLS is the positive control.
- each image (TC-UPD-02) is offered as a deployment in turn; the outcome is the unit's own
  feedback (closed: success or failure), the version read back over its shell.
"""
from __future__ import annotations

import contextlib
import itertools
import re
import time
from urllib.parse import urlsplit

from harness.errors import DeviceError, Inconclusive, NotRun
from harness.probe import standin, tls_client
from harness.update import ddi, on_unit, refusal, swu, swupdate

OTHER_ACTION = re.compile(r"Action ID for Update Action is (\d+)"
                          r"|update chunk named .*?version (\d+)")
PLAIN = ("474554", "504f5354", "505554", "48454144")     # GET, POST, PUT, HEAD


def _target(device) -> tuple[str, str]:
    url = urlsplit(device.profile.update.server)
    return url.scheme, f"{url.hostname}:{url.port}"


def check_channel(device, evidence, run_context, lifecycle) -> None:
    """TC-UPD-01 for a unit that pulls its updates."""
    u, lab = device.profile.update, standin.lab_for(run_context, "the unit's update server")
    scheme, target = _target(device)
    evidence.record("update server", {"declared": u.server, "redirected": target})
    with tls_client.StandIn(lab.harness_address, target.split(":")[0],
                            device.wire.transcript) as st:
        with standin.redirected(lifecycle, target, st.endpoint):
            st.start(u.poll_within)
            attempts = st.result()
    evidence.record("stand-in with an untrusted certificate",
                    {"stand_in": st.endpoint, "attempts": [a.to_dict() for a in attempts]})
    plain = [a for a in attempts if a.outcome == "not-tls"
             and a.detail.startswith(tuple(f"first bytes {p}" for p in PLAIN))]
    evidence.expect("update server polled over TLS", not plain, "a TLS handshake",
                    [a.detail for a in plain], reason=f"the unit polls its update server "
                    f"{target} in plain HTTP: manifests and images can be read and replaced "
                    "on the way")
    last = attempts[-1].outcome if attempts else "none"
    evidence.expect("untrusted update server refused", last != "completed",
                    "the unit aborts the handshake", last, reason="the unit completed a TLS "
                    f"handshake with an update server for {target} whose certificate it cannot "
                    "verify: it would take updates from anyone on the path")
    if last != "rejected":
        raise Inconclusive(f"no decisive connection to the stand-in within "
                           f"{u.poll_within:.0f}s ({last}): the unit's checking of its "
                           "update server is not shown")
    if scheme == "https" and u.server_cert:      # positive control: it does poll a server
        with ddi.StandIn(lab.harness_address, u.server_cert, device.wire.transcript) as s:
            with standin.redirected(lifecycle, target, s.endpoint):
                since = time.time()
                polled = s.wait(lambda: s.polled(since), u.poll_within)
        evidence.record("positive control: the vendor's certificate",
                        {"stand_in": s.endpoint, "polled": polled,
                         "requests": s.requests[:5]})
        if not polled:
            raise Inconclusive("positive control failed: the unit did not poll the stand-in "
                               "that holds its vendor's certificate within "
                               f"{u.poll_within:.0f}s; its refusal proves nothing")


class Channel:
    """TC-UPD-02's offers, each as one deployment of the stand-in."""

    def __init__(self, device, standin: ddi.StandIn):
        self.device, self.standin, self.ids = device, standin, itertools.count(1)
        self.withdrawn: float | None = None

    def upload(self, image: bytes) -> dict:
        """The image offered as a deployment. Suricatta forwards its log with its feedback
        and under load drops lines of it (seen: a whole install's log but its last lines),
        the one naming the check among them: a failure that named no check is read again in
        the unit's own log where the profile says how, and failing that offered once more."""
        first = self._offer(image)
        if not first.get("undecided"):
            return first
        again = self._offer(image)
        return {**again, "offered_before": {k: first[k] for k in ("offered", "undecided")}}

    def _read_log(self, out: dict, action: str) -> dict:
        """A failure that named no check, read again in the unit's own log
        (update.log_command): the unit writes every line there, whatever reached the
        server. Only deployment `action`'s install is read (deployment_in_log)."""
        command = self.device.profile.update.log_command
        if not out.get("undecided") or not command:
            return out
        try:
            status, text = on_unit(self.device, command)
        except DeviceError as exc:
            return {**out, "log": f"not read ({command}): {exc}"}
        named = refusal.named_check("swupdate", deployment_in_log(text.splitlines(), action))
        if not named:
            return {**out, "log": f"{command} (exit {status}): no check named in deployment "
                                  f"{action}'s install"}
        return {**{k: v for k, v in out.items() if k != "undecided"}, "accepted": False,
                "refused_by": named, "read_from": f"the unit's log ({command})"}

    def _offer(self, image: bytes) -> dict:
        u, s = self.device.profile.update, self.standin
        settled = True
        if self.withdrawn is not None:
            # the unit must see the last deployment gone before the next is offered: a
            # client that finds a new one while it still holds the last one's failure
            # reports that failure against the new one (SWUpdate's suricatta does)
            settled = s.wait(lambda: s.polled(self.withdrawn), u.poll_within)
        since = time.time()
        offer = s.offer_image(image, str(next(self.ids)))
        try:
            s.wait(lambda: s.outcome(offer) is not None, u.poll_within + u.apply_within)
        finally:
            s.withdraw()
            self.withdrawn = time.time()
        outcome, lines = s.outcome(offer), this_install(offer)
        said = [d for d in lines if "rror" in d or "ERROR" in d or "fail" in d.lower()][-4:]
        out = {"offered": f"deployment {offer.action}", "polled": s.polled(since),
               "downloaded": offer.downloaded,
               **({} if settled else {"note": "the unit did not poll between two offers"}),
               **({"errors": said} if said and outcome != "success" else {})}
        if outcome is None:
            return {**out, "accepted": None, "status": "no feedback",
                    "outcome": f"no final feedback within {u.poll_within + u.apply_within:.0f}s"}
        out = {**out, "status": outcome, "outcome": outcome}
        if outcome == "success":
            return {**out, "accepted": True}
        return self._read_log(refusal.judged("swupdate", out, lines), offer.action)


def deployment_in_log(lines: list[str], action: str) -> list[str]:
    """The unit's own log lines of deployment `action`'s install: from the first line naming
    it (suricatta's "Action ID for Update Action is N") to the first naming another, from
    the last install started there; none while the log does not hold that install (a log
    written late), so another install's words are never read as this one's."""
    ids = [(m.group(1) if (m := OTHER_ACTION.search(line)) else None) for line in lines]
    if action not in ids:
        return []
    first = ids.index(action)
    end = next((i for i in range(first, len(ids)) if ids[i] not in (None, action)), len(ids))
    return _last_install(lines[first:end], [])


def this_install(offer: ddi.Offer) -> list[str]:
    """The details of the unit's feedback on `offer` that are its own install's. A client
    uploads its log with its feedback, and the log begins with the end of the last
    deployment's install: the lines after the last one naming another deployment (SWUpdate's
    suricatta: "Action ID for Update Action is N", "update chunk named …, version N"), from
    the last install started after it."""
    lines = [d for f in offer.feedback for d in f.get("details", []) if isinstance(d, str)]
    cut = 0
    for i, line in enumerate(lines):
        m = OTHER_ACTION.search(line)
        if m and (m.group(1) or m.group(2)) != offer.action:
            cut = i + 1
    return _last_install(lines[cut:], lines[cut:])


def _last_install(lines: list[str], none: list[str]) -> list[str]:
    """`lines` from the last install's start (SWUpdate: "Software Update started"); `none`
    when no install starts in them."""
    starts = [i for i, line in enumerate(lines) if "Software Update started" in line]
    return lines[starts[-1]:] if starts else none


@contextlib.contextmanager
def channel(device, run_context, lifecycle):
    u, lab = device.profile.update, standin.lab_for(run_context, "the unit's update server")
    scheme, target = _target(device)
    if scheme == "https" and not u.server_cert:
        raise NotRun("the vendor handed over no certificate for its update server "
                     "(update.server_cert): the unit rightly refuses any other server, so no "
                     "image can be offered to it")
    cert = u.server_cert if scheme == "https" else None
    with ddi.StandIn(lab.harness_address, cert, device.wire.transcript) as s:
        with standin.redirected(lifecycle, target, s.endpoint):
            yield Channel(device, s)


def version(device) -> dict:
    return swupdate.version(device)          # read back over the unit's shell, the same way


def variants(valid: bytes, bump, update=None) -> dict[str, bytes | str]:
    return swu.variants(valid, bump)
