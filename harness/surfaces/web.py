"""Web surfaces: each `web:` entry of the profile, logging in with its declared style
(harness.weblogin). Without a credential every admin path must refuse; with the lab's it
must answer (the positive control, applied by the caller)."""
from harness.surfaces import Kind, Surface, register


def build(p):
    return [Surface(f"http-{w.auth}:{w.port}", "web", w.port, w.username, w.password, w,
                    login=w.auth != "none") for w in p.web]


def attempt(device, s):
    """A login counts when the admin path answers 2xx with the same content type as it
    does for the lab's own credential (learnt once): a device that answers a locked-out or
    malformed login with '200 OK' and an error page (motion does) is not logged in."""
    from harness import weblogin
    web, learnt = s.section, {}

    def fetch(u, pw):
        return weblogin.fetch(device.wire, device.profile.address, web, web.admin_paths[0],
                              u, pw)

    def one(u, pw):
        r = fetch(u, pw)
        if not 200 <= r.status < 300:
            return False
        if "type" not in learnt and s.has_credentials:
            good = r if (u, pw) == s.lab_credential() else fetch(*s.lab_credential())
            learnt["type"] = good.content_type if 200 <= good.status < 300 else None
        want = learnt.get("type")
        return want is None or r.content_type == want
    return one


def unauthenticated(device, s):
    from harness import weblogin
    from harness.transport import http
    web, out = s.section, []
    if web.auth == "none":
        return []
    scheme = "https" if web.tls else "http"
    for path in web.admin_paths:
        r = http.request(device.wire, device.profile.address, web.port, path, tls=web.tls)
        item = {"surface": f"{scheme}:{web.port}{path}", "status": r.status,
                "content_type": r.content_type, "open": 200 <= r.status < 300}
        if r.truncated:
            item["body"] = r.truncated
        if not item["open"]:
            # the positive control: the same path answers once logged in the declared way
            if s.has_credentials:
                ok = weblogin.fetch(device.wire, device.profile.address, web, path,
                                    *s.lab_credential())
                passed = 200 <= ok.status < 300
                item["control"] = {"with the lab's credential": ok.status, "passed": passed,
                                   "why": "" if passed else (
                                       f"{item['surface']}: {r.status} without credentials "
                                       f"and {ok.status} with the lab's: the refusal proves "
                                       "nothing")}
            else:
                item["control"] = {"passed": False, "why": "the lab gave no credential"}
        out.append(item)
    return out


def cleartext(device, s):
    web = s.section
    if web.auth == "none":
        return None
    if web.tls:
        return {"surface": f"https:{web.port}", "over": "TLS", "finding": None}
    return {"surface": f"http:{web.port}", "login": web.auth,
            "finding": f"http:{web.port}: the {web.auth} login sends credentials without TLS"}


register(Kind("web", build, attempt, unauthenticated, cleartext, brute=True,
              services=()))   # HTTP ports without a profile entry are TC-SURF's business
