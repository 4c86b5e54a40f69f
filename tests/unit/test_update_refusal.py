"""A failed install counts as a refusal only where the framework names a check on the image
(harness.update.refusal), and a pulling unit's feedback is read for its own install only
(hawkbit.this_install). The lines are the frameworks' own, as Debian's SWUpdate, RAUC and
Mender client printed them refusing the harness's images."""
from harness.update import ddi, hawkbit, refusal

REFUSED = {
    "swupdate": ["ERROR : HASH mismatch : 9945ad <--> 66225c",
                 "[extract_file_to_tmp] : description file name not the first of the list: "
                 "rootfs.img instead of sw-description.sig",
                 "ERROR : Authentication of all signatures failed",
                 "ERROR : No downgrading allowed: new version 2.3.0 <= installed 2.4.1"],
    "rauc": ["LastError: signature verification failed: error:1700009E:CMS routines::"
             "verification failure", "LastError: Invalid bundle format: Signature size is 0",
             "LastError: Pre-install handler error: Child process exited with code 1"],
    "mender": ['level=error msg="installer: failed to read Artifact: reader: expecting signed '
               'artifact, but no signature file found"',
               'level=error msg="statescript: error executing \'Download_Leave_00_newer_only\'"'],
}
NO_CHECK = {
    "swupdate": ["Software Update started !", "[verify_signer_certs] : Verified signature 0 in "
                 "signer sequence", "ERROR : Channel get operation failed (7):  Couldn t "
                 "connect to server ", "Image invalid or corrupted. Not installing ...",
                 "No suitable .swu image found"],
    "rauc": ["LastError: Failed to open file /var/update/hx-update.raucb: No space left",
             "Installing `/var/update/hx-update.raucb` failed"],
    "mender": ['level=error msg="write /var/lib/mender/x: no space left on device"'],
}


def test_a_failure_naming_a_check_is_a_refusal():
    for framework, lines in REFUSED.items():
        for line in lines:
            r = refusal.judged(framework, {"outcome": "failed"}, ["noise", line, "more"],
                               "refused")
            assert r["accepted"] is False and r["refused_by"] == line, (framework, line)
            assert r["outcome"] == "refused"


def test_a_failure_naming_no_check_is_untested_not_refused():
    for framework, lines in NO_CHECK.items():
        r = refusal.judged(framework, {"outcome": "failure"}, lines)
        assert r["accepted"] is None and "refused_by" not in r, (framework, r)
        assert r["outcome"] == "failure"
        assert f"{framework} named no check on the image" in r["undecided"]
        assert lines[-1].strip()[:40] in r["undecided"]       # its last words, quoted


def _offer(action: str, *details: list[str]) -> ddi.Offer:
    o = ddi.Offer(action, b"")
    o.feedback = [{"details": d} for d in details]
    return o


def test_a_pulling_units_feedback_is_read_for_its_own_install():
    # suricatta's log for deployment 2 begins with the end of deployment 1's install
    offer = _offer("2", ["Installing Update Chunk Artifacts."],
                   ["Software Update started !", "ERROR : HASH mismatch : a <--> b",
                    "ERROR : Error processing update chunk named  firmware , version 1, part os ",
                    "[server_get_deployment_info] : Associated Action ID for Update Action "
                    "is 2", "Software Update started !",
                    "ERROR : Authentication of all signatures failed"],
                   ["No suitable .swu image found"])
    mine = hawkbit.this_install(offer)
    assert mine[0] == "Software Update started !" and "HASH mismatch" not in " ".join(mine)
    assert refusal.named_check("swupdate", mine) == \
        "ERROR : Authentication of all signatures failed"


def test_the_last_installs_refusal_is_not_this_ones():
    # this deployment's log lost: only the last one's lines came with its feedback
    offer = _offer("3", ["Software Update started !", "ERROR : HASH mismatch : a <--> b",
                         "ERROR : Error processing update chunk named  firmware , version 2, "
                         "part os "], ["No suitable .swu image found"])
    mine = hawkbit.this_install(offer)
    assert mine == ["No suitable .swu image found"]
    assert refusal.judged("swupdate", {"outcome": "failure"}, mine)["accepted"] is None



class _Offers(hawkbit.Channel):
    """A channel whose deployments end as the unit's feedback in `said` did, in turn."""

    def __init__(self, *said: list[str]):
        self.said, self.offered = list(said), 0
        self.device = _Unit("", command=None)           # no log_command in its profile

    def _offer(self, image):
        self.offered += 1
        return refusal.judged("swupdate", {"offered": f"deployment {self.offered}",
                                           "outcome": "failure"}, self.said.pop(0))


def test_an_image_whose_failure_named_no_check_is_offered_once_more():
    lost = ["Image invalid or corrupted. Not installing ...", "No suitable .swu image found"]
    named = ["ERROR : Authentication of all signatures failed"] + lost
    ch = _Offers(lost, named)
    r = ch.upload(b"image")
    assert ch.offered == 2 and r["accepted"] is False and r["offered"] == "deployment 2"
    assert r["offered_before"]["offered"] == "deployment 1"
    assert "named no check" in r["offered_before"]["undecided"]
    ch = _Offers(lost, lost, named)                     # once more only
    r = ch.upload(b"image")
    assert ch.offered == 2 and r["accepted"] is None and r["undecided"]
    ch = _Offers(named, lost)                           # a refusal is not offered again
    assert ch.upload(b"image")["accepted"] is False and ch.offered == 1


class _Unit:
    """A unit whose shell prints `log` for the profile's log_command."""

    def __init__(self, log: str, command: str | None = "tail -n 300 var/log/swupdate.log"):
        self.log, self.ran = log, []
        self.profile = type("P", (), {"update": type("U", (), {"log_command": command})()})()

    def shell(self):
        unit = self

        class Shell:
            def run(self, command, timeout):
                unit.ran.append(command)
                return 0, unit.log

            def close(self):
                pass
        return Shell()


# SWUpdate's own log on router-ota (its stdout, as the ER-300 keeps it in var/log)
ACTION = "[TRACE] : SWUPDATE running :  [server_get_deployment_info] : Associated Action ID " \
    "for Update Action is {}\n"
UNIT_LOG = (ACTION.format(1) + """[INFO ] : SWUPDATE started :  Software Update started !
[ERROR] : SWUPDATE failed [0] ERROR : HASH mismatch : a <--> b
[ERROR] : SWUPDATE failed [1] Image invalid or corrupted. Not installing ...
""" + ACTION.format(2) + """[INFO ] : SWUPDATE started :  Software Update started !
[TRACE] : SWUPDATE running :  [extract_file_to_tmp] : description file name not the first \
of the list: rootfs.img instead of sw-description.sig
[ERROR] : SWUPDATE failed [1] Image invalid or corrupted. Not installing ...
""")


def test_a_failure_the_server_heard_no_reason_for_is_read_in_the_units_log():
    lost = refusal.judged("swupdate", {"outcome": "failure"}, ["No suitable .swu image found"])
    ch = hawkbit.Channel(_Unit(UNIT_LOG), standin=None)
    r = ch._read_log(lost, "2")
    assert r["accepted"] is False and "undecided" not in r
    assert "instead of sw-description.sig" in r["refused_by"]      # deployment 2's own
    assert r["read_from"] == "the unit's log (tail -n 300 var/log/swupdate.log)"
    # deployment 2's lines only: deployment 1's HASH mismatch is not its
    ch = hawkbit.Channel(_Unit(UNIT_LOG.rsplit("[TRACE] : SWUPDATE running :  [extract", 1)[0]),
                         standin=None)
    r = ch._read_log(lost, "2")
    assert r["accepted"] is None and "no check named in deployment 2" in r["log"]
    # a log that does not yet hold deployment 3: its last install (2) is not 3's
    r = hawkbit.Channel(_Unit(UNIT_LOG), standin=None)._read_log(lost, "3")
    assert r["accepted"] is None and r["undecided"]


def test_an_uploads_answer_refuses_only_as_a_4xx():
    assert refusal.by_status({}, 204)["accepted"] is True
    for status in (400, 403, 409):                  # the ER-70W's refusals
        assert refusal.by_status({}, status)["accepted"] is False
    for status in (500, 502, 503):
        r = refusal.by_status({"status": status}, status)
        assert r["accepted"] is None and f"answered {status}" in r["undecided"]
