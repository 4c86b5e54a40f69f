"""The hawkBit DDI stand-in's answers, as pure logic (no socket: a fake request handler);
that a real client (SWUpdate's suricatta) speaks with it is the lab's proof
(tests/lab/test_matrix.py::test_updates_pulled_over_the_air)."""
import hashlib
import json
import threading

from harness.update import ddi


class FakeHandler:
    def __init__(self, path):
        self.path, self.headers, self.sent = path, {"Host": "198.18.0.2:8444"}, None  # never sent

    def _send(self, status, body=b"", ctype="application/json"):
        self.sent = (status, body)


def _standin():
    s = ddi.StandIn.__new__(ddi.StandIn)         # the logic alone: no listener
    s.transcript, s.tls, s.endpoint = None, None, "stand-in"
    s.requests, s.offer, s._lock = [], None, threading.Lock()
    return s


def _ask(s, method, path, body=b""):
    h = FakeHandler(path)
    s.answer(h, method, body)
    return h.sent[0], json.loads(h.sent[1]) if h.sent[1][:1] == b"{" else h.sent[1]


BASE = "/default/controller/v1/router-ota"


def test_a_deployment_is_offered_downloaded_and_closed_by_the_units_feedback():
    s = _standin()
    status, doc = _ask(s, "GET", BASE)
    assert status == 200 and "deploymentBase" not in doc["_links"]
    assert s.polled(0)
    offer = s.offer_image(b"IMAGE", "1")
    _, doc = _ask(s, "GET", BASE + "?c=1")
    href = doc["_links"]["deploymentBase"]["href"]
    assert href == "http://198.18.0.2:8444" + BASE + "/deploymentBase/1"   # never sent
    status, dep = _ask(s, "GET", BASE + "/deploymentBase/1")
    art = dep["deployment"]["chunks"][0]["artifacts"][0]
    assert art["size"] == 5 and art["hashes"]["sha256"] == hashlib.sha256(b"IMAGE").hexdigest()
    link = art["_links"]["download-http"]["href"].split("8444", 1)[1]
    assert _ask(s, "GET", link) == (200, b"IMAGE") and offer.downloaded == 1
    assert s.outcome(offer) is None
    for execution, finished in (("proceeding", "none"), ("closed", "failure")):
        fb = {"id": "1", "status": {"execution": execution, "result": {"finished": finished},
                                    "details": ["ERROR : HASH mismatch"]}}
        assert _ask(s, "POST", BASE + "/deploymentBase/1/feedback",
                    json.dumps(fb).encode())[0] == 200
    assert s.outcome(offer) == "failure"
    s.withdraw()
    assert "deploymentBase" not in _ask(s, "GET", BASE)[1]["_links"]


def test_foreign_paths_unreadable_feedback_and_the_request_cap():
    s = _standin()
    assert _ask(s, "GET", "/etc/passwd")[0] == 404
    assert _ask(s, "GET", "/x/controller/v1/a/../../b")[0] == 404
    offer = s.offer_image(b"I", "7")
    _ask(s, "POST", BASE + "/deploymentBase/7/feedback", b"\xff not json")
    assert s.outcome(offer) is None and "unreadable" in offer.feedback[0]
    s.requests = [{}] * ddi.MAX_REQUESTS
    assert _ask(s, "GET", BASE)[0] == 503
