"""RTSP (a camera's stream): DESCRIBE with and without the lab's credential."""
from harness.surfaces import Kind, Surface, register


def build(p):
    if not p.rtsp:
        return []
    return [Surface(f"rtsp:{p.rtsp.port}", "rtsp", p.rtsp.port, p.rtsp.username,
                    p.rtsp.password, p.rtsp)]


def attempt(device, s):
    from harness.transport import rtsp
    return lambda u, pw: rtsp.describe(device, (u, pw))["status"] == 200


def unauthenticated(device, s):
    from harness.transport.rtsp import describe
    d = describe(device)
    item = {"surface": f"rtsp:{s.port}", "status": d["status"],
            "open": d["status"] == 200 and d["has_sdp"]}
    if not item["open"]:
        if s.has_credentials:
            ok = describe(device, s.lab_credential())
            passed = ok["status"] == 200 and ok["has_sdp"]
            item["control"] = {"with the lab's credential": ok["status"], "passed": passed,
                               "why": "" if passed else (
                                   f"rtsp:{s.port}: DESCRIBE {d['status']} without credentials "
                                   f"and {ok['status']} with the lab's (no SDP): the refusal "
                                   "proves nothing")}
        else:
            item["control"] = {"passed": False, "why": "the lab gave no credential"}
    return [item]


register(Kind("rtsp", build, attempt, unauthenticated, brute=True, services=("rtsp",)))
