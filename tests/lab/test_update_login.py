"""TC-UPD-01 on the units that take their images as uploads (json: router-3, swupdate:
router-swu, web behind a form login: router-webfw): an upload without credentials must be refused, and that
refusal counts only once the lab's credential is shown to pass the same server's login.
With a wrong credential in the profile the refusal proves nothing: INCONCLUSIVE, saying so."""
import re

import pytest

from tests.conftest import REPO, harness, load_run

UNITS = ["router-3", "router-swu", "router-webfw"]
pytestmark = pytest.mark.units(*UNITS)


def _results(out):
    return {d["name"]: d["results"][0] for d in load_run(out)["devices"]}


def _control(result):
    return next(e["observed"] for e in result["evidence"]
                if e["check"].startswith("positive control: the lab's credential"))


def test_the_refusal_counts_once_the_labs_credential_passes(emulated_lab, tmp_path):
    args = [a for u in UNITS for a in ("--profile", emulated_lab[u])]
    proc = harness("run", "--no-pdf", "--out", tmp_path / "right", "-k", "TC-UPD-01", *args)
    assert proc.returncode == 0, (proc.stdout[-1500:], proc.stderr[-1500:])
    res = _results(tmp_path / "right")
    assert {n: r["verdict"] for n, r in res.items()} == dict.fromkeys(UNITS, "PASS")
    assert _control(res["router-3"]) == {"status": 200, "path": "/api/firmware"}
    assert _control(res["router-swu"]) == {"status": 200, "path": "/"}
    assert _control(res["router-webfw"]) == {"status": 200, "path": "/admin/status"}


def test_a_wrong_credential_makes_the_refusal_prove_nothing(emulated_lab, tmp_path):
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("not-the-units-password\n")
    profiles = []
    for u in UNITS:
        text = open(emulated_lab[u]).read().replace(
            "extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
        # the web surfaces' credential only (the update channels use it; SSH keeps its own)
        text = re.sub(r"^(  - \{port: .*password: \{file: )[^}]+", rf"\g<1>{wrong}", text,
                      flags=re.M)
        path = tmp_path / f"{u}.yaml"
        path.write_text(text)
        profiles += ["--profile", str(path)]
    proc = harness("run", "--no-pdf", "--out", tmp_path / "wrong", "-k", "TC-UPD-01", *profiles)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    res = _results(tmp_path / "wrong")
    # basic and digest logins answer 401; the ER-70W's form login signs no one in, so its
    # status page redirects to the login
    refused = {"router-3": "401 on /api/firmware", "router-swu": "401 on /",
               "router-webfw": "302 on /admin/status"}
    for u in UNITS:
        r = res[u]
        assert r["verdict"] == "INCONCLUSIVE", (u, r["verdict"], r.get("reason"))
        assert r["reason"].startswith(f"the lab's credential is refused too ({refused[u]})"), \
            r["reason"]
