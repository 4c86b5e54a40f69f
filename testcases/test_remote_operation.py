"""Remote operation (S-mark remote-operation criteria, ETSI EN 303 645 5.9): the appliance
keeps a safe state when remote control is lost, and does not operate unintentionally.
Steps are the harness's own design."""
import time

from harness.profile import applicability as a
from harness.errors import Inconclusive, Missing, NotRun
from harness.model import testcase
from harness.probe import remote


@testcase("TC-SMARK-02", "Safe state on communication failure",
          steps=["command the load ON over the command channel, repeated while the unit is "
                 "still reconnecting; see ON on the observation channel (serial console)",
                 "cut the device's link (lab action link_down)",
                 "the safe state appears within the declared safe_within (+20 %, at least 1 s)",
                 "restore the link; the load stays in the safe state without a new command",
                 "always: link restored, load commanded OFF"],
          applies=[a.remote_operated, a.serial], destructive=True, disrupts="link")
def test_safe_state_on_link_loss(device, evidence, run_context, lifecycle):
    p, lab, rc = remote.link_test_setup(device, run_context)
    limit = rc.safe_within + remote.tolerance(rc.safe_within)
    remote.begin(device, run_context, lifecycle)      # first: it may wait for the channel
    tl, obs = remote.Timeline(), remote.Observer(device)
    try:
        if not remote.switch(device, obs, "on", tl):
            raise Inconclusive("the load was not seen ON within "
                               f"{rc.command_within + remote.RECONNECT:.0f}s of repeated "
                               "commands: " + ("the command was not executed" if obs.alive()
                                               else "the observation channel is silent"))
        tl.mark("ON observed")
        t_cut = remote.cut_link(lifecycle, tl)
        safe = obs.wait("off", limit)
        if not safe and not obs.alive():
            raise Inconclusive("the observation channel went silent after the link was cut: "
                               "the state cannot be seen")
        took = tl.mark("safe state observed" if safe else f"still not safe after {limit:.1f}s")
        # the observation channel is the readiness proof here: watch it from the first moment
        lifecycle.act("link_up", ready=False)
        t_up = tl.mark("link restored")
        hold = max(10.0, rc.safe_within)
        back_on = obs.wait("on", hold)
        tl.mark("ON again without a command" if back_on else f"no ON line for {hold:.0f}s")
        if not back_on and not obs.alive():
            raise Inconclusive("the observation channel went silent after the link came "
                               "back: a return to ON cannot be ruled out")
    finally:
        remote.finish(obs, tl, evidence)
    evidence.record("declared", {"safe_state": rc.safe_state, "safe_within_s": rc.safe_within,
                                 "tolerance_s": round(limit - rc.safe_within, 2)})
    evidence.expect(f"safe state within {rc.safe_within:g}s of the link loss",
                    safe, f"<= {limit:.1f}s", f"{took - t_cut:.1f}s" if safe else "not reached",
                    reason=f"the load stayed ON {limit:.1f}s after the link was cut (declared: "
                           f"{rc.safe_state} within {rc.safe_within:g}s)")
    evidence.expect("no return to ON after the link is restored", not back_on, "stays safe",
                    f"ON again {tl.events[-1]['t'] - t_up:.1f}s after restore" if back_on
                    else "stayed safe",
                    reason="after the link came back the load went ON again without a new "
                           "command")


@testcase("TC-SMARK-03", "Unintended operation is suppressed (malformed and queued commands)",
          steps=["positive control: command ON and OFF, both seen on the observation channel",
                 "malformed frames on the command topic, one at a time: none may switch the "
                 "load ON",
                 "cut the link; once the device must have noticed (safe_within), command ON; "
                 "restore the link: the command queued during the outage must not switch the "
                 "load ON after reconnection",
                 "always: link restored, load commanded OFF"],
          applies=[a.remote_operated, a.serial], destructive=True, disrupts="link")
def test_no_unintended_operation(device, evidence, run_context, lifecycle):
    p, lab, rc = remote.link_test_setup(device, run_context)
    remote.begin(device, run_context, lifecycle)
    tl, obs, problems = remote.Timeline(), remote.Observer(device), []
    try:
        if not remote.switch(device, obs, "on", tl):
            raise Inconclusive("positive control failed: the load was not seen ON after a "
                               "valid command (" + ("command not executed" if obs.alive()
                                                    else "observation channel silent") + ")")
        if not remote.switch(device, obs, "off", tl):
            raise Inconclusive("positive control failed: the load was not seen OFF after a "
                               "valid OFF command")
        tl.mark("positive control: ON and OFF seen")
        for frame in remote.MALFORMED:
            remote.send(device, frame)
            if obs.wait("on", 1.5):
                problems.append(f"the malformed frame {remote.shown(frame)} switched the "
                                "load ON")
                tl.mark("ON after a malformed frame", remote.shown(frame))
                remote.command(device, "off")
                obs.wait("off", rc.command_within)
        tl.mark(f"{len(remote.MALFORMED)} malformed frames sent")
        remote.cut_link(lifecycle, tl)
        time.sleep(rc.safe_within)          # both ends have noticed the loss by now
        remote.command(device, "on")
        tl.mark("command ON sent during the outage (QoS 1)")
        lifecycle.act("link_up", ready=False)
        tl.mark("link restored")
        hold = rc.safe_within + 10
        if obs.wait("on", hold):
            problems.append("the command sent during the outage switched the load ON after "
                            "the link came back")
            tl.mark("ON after reconnection (queued command executed)")
        else:
            tl.mark(f"no ON line for {hold:.0f}s after the link came back")
        if not obs.alive():
            raise Inconclusive("the observation channel went silent: the state cannot be seen")
    finally:
        remote.finish(obs, tl, evidence)
    evidence.expect("no ON from a malformed or queued command", not problems, "none",
                    problems, reason="; ".join(problems))


RELIABILITY_COMMANDS = 6          # ON, OFF, ON, ... : bounded


@testcase("TC-SMARK-04", "Remote operation is reliable: each command is carried out and "
          "reported back",
          steps=["positive control: command OFF and see it (repeated while the unit is still "
                 "reconnecting to its command channel)",
                 f"{RELIABILITY_COMMANDS} commands, ON and OFF in turn, one at a time",
                 "each: its effect on the observation channel (serial console) within "
                 "command_within, and the state the device reports back on the command "
                 "channel (remote_control.command.state_topic) equal to it",
                 "a command not carried out, a missing report or a report that differs from "
                 "what the device did is a FAIL; a silent observation channel INCONCLUSIVE",
                 "always: load commanded OFF"],
          applies=[a.remote_operated, a.serial], destructive=True, disrupts="")
def test_operation_is_reliable(device, evidence, run_context, lifecycle):
    rc = device.profile.remote_control
    remote.begin(device, run_context, lifecycle)      # first: it may wait for the channel
    tl, obs, problems = remote.Timeline(), remote.Observer(device), []
    reports = remote.Reports(device) if rc.command.state_topic else None
    try:
        if not remote.switch(device, obs, "off", tl):
            raise Inconclusive("positive control failed: an OFF command was not seen carried "
                               "out (" + ("the unit is not on its command channel" if
                                          obs.alive() else "observation channel silent") + ")")
        for i in range(RELIABILITY_COMMANDS):
            state = "on" if i % 2 == 0 else "off"
            expected = rc.command.on if state == "on" else rc.command.off
            if reports:
                reports.clear()
            tl.mark(f"command {state.upper()} sent ({i + 1}/{RELIABILITY_COMMANDS})",
                    remote.command(device, state))
            seen = obs.wait(state, rc.command_within)
            if not seen and not obs.alive():
                raise Inconclusive("the observation channel is silent: whether the commands "
                                   "were carried out cannot be seen")
            said = reports.next(rc.command_within) if reports else None
            tl.mark(f"{state.upper()} observed" if seen else f"no {state.upper()} line within "
                    f"{rc.command_within:.0f}s", f"reported: {said}" if reports else "")
            if not seen:
                problems.append(f"command {i + 1} ({state}) was not carried out")
            if reports and said is None:
                problems.append(f"command {i + 1} ({state}): no state report")
            elif reports and seen and said != expected:
                problems.append(f"command {i + 1} ({state}): carried out, but the device "
                                f"reported '{said}'")
    finally:
        remote.finish(obs, tl, evidence)
        if reports:
            reports.close()
    evidence.expect("every command carried out and reported as carried out", not problems,
                    "all", problems, reason="; ".join(problems))
    if not reports:
        raise NotRun("each command was carried out, but the device type declares no "
                     "state_topic, so whether the device reports back was not tested")


def _declares(field: str, what: str):
    """Applicability: the device type's remote_control declares `field`, else NOT_RUN."""
    def check(p):
        if not p.remote_control or not getattr(p.remote_control, field):
            return Missing(f"the device type does not declare {what} "
                           f"(remote_control.{field})")
        return None
    return check


_shipped = _declares("enable", "how remote operation is enabled after a factory reset")


@testcase("TC-SMARK-09", "Remote operation is disabled in the shipped state",
          steps=["factory reset over the device's shell (the shipped state); the services "
                 "answer again within boot_time",
                 "command ON remotely, repeated for command_within + 30 s (the unit may still "
                 "be reconnecting): nothing may switch on (observation channel)",
                 "enable remote operation as the manual says (remote_control.enable); command "
                 "ON again: now it must switch on (positive control)",
                 "always: remote operation enabled again, load commanded OFF"],
          applies=[a.remote_operated, a.serial, a.factory_reset, _shipped], destructive=True,
          disrupts="factory_reset")
def test_remote_disabled_at_shipment(device, evidence, run_context, lifecycle):
    p = device.profile
    rc = p.remote_control
    remote.begin(device, run_context, lifecycle)
    tl = remote.Timeline()
    # the lab received the unit with remote operation on: it stays usable afterwards
    lifecycle.on_exit("remote operation enabled again", lambda: remote.reenable(device))
    tl.mark("factory reset", remote.shell_run(device, p.factory_reset.command, "factory reset")[-80:])
    lifecycle.wait_ready(why="the factory reset")
    obs = remote.Observer(device)
    try:
        # repeated while the unit may still be reconnecting after the reset: the same
        # procedure as the positive control below, so a refusal is not a lost command
        shipped_on = remote.switch(device, obs, "on", tl, " (shipped state), repeated while "
                                   "no ON is seen")
        if not shipped_on and not obs.alive():
            raise Inconclusive("the observation channel is silent: whether the command was "
                               "refused cannot be seen")
        tl.mark("ON observed: remote operation works as shipped" if shipped_on else
                f"no ON line for {rc.command_within + remote.RECONNECT:.0f}s")
        if not shipped_on:
            tl.mark("remote operation enabled", remote.shell_run(device, rc.enable,
                                                           "enabling remote operation")[-80:])
            if not remote.switch(device, obs, "on", tl):
                raise Inconclusive("positive control failed: even after enabling remote "
                                   f"operation ({rc.enable}) the ON command was not carried "
                                   "out, so the refusal before proves nothing")
            tl.mark("ON observed after enabling")
    finally:
        remote.finish(obs, tl, evidence)
    evidence.expect("remote command refused in the shipped state", not shipped_on,
                    "refused until enabled", "carried out",
                    reason="right after a factory reset (the shipped state) a remote ON "
                           "command switched the load on: remote operation is enabled at "
                           "shipment")


_local = _declares("local_priority", "an arbitration rule between local and remote operation")


@testcase("TC-SMARK-07", "Operation from two places: conflicting commands and local priority",
          steps=["two remote clients send ON and OFF at the same moment: the load settles in "
                 "one state (whether it is reported right is item 4, TC-SMARK-04)",
                 "the lab operates the appliance locally (lab action local_control) OFF, then "
                 "at once a remote ON: within the declared local_priority the remote command "
                 "must not win (local operation wins)",
                 "always: load commanded OFF once the priority window is over"],
          applies=[a.remote_operated, a.serial, _local], destructive=True)
def test_two_places(device, evidence, run_context, lifecycle):
    rc = device.profile.remote_control
    if not run_context.lab.actions.local_control:
        raise NotRun("the lab config has no local_control action to operate the appliance "
                     "locally")
    remote.hold_channel(device, run_context, lifecycle)
    tl, obs, problems = remote.Timeline(), remote.Observer(device), []
    # last: OFF, after the local priority window (else it would be refused, rightly)
    lifecycle.on_exit("load commanded OFF", lambda: (time.sleep(rc.local_priority),
                                                     remote.command(device, "off")))
    try:
        settled = remote.conflicting(device, obs, rc.command_within)
        tl.mark("ON and OFF sent at once by two clients", f"settled: {settled}")
        if settled is None and not obs.alive():
            raise Inconclusive("the observation channel is silent")
        if settled is None:
            problems.append("conflicting ON and OFF: the load was seen in neither state")
        if not remote.switch(device, obs, "on", tl):
            raise Inconclusive("positive control failed: a remote ON was not carried out")
        lifecycle.act("local_control", state="off")
        if not obs.wait("off", rc.command_within):
            raise Inconclusive("the local OFF (lab action local_control) was not seen on the "
                               "observation channel")
        tl.mark("local OFF observed")
        remote.command(device, "on")
        tl.mark("remote ON sent right after")
        window = min(rc.command_within, rc.local_priority * 0.8)
        if obs.wait("on", window):
            tl.mark("ON: the remote command overrode the local operation")
            problems.append(f"a remote ON sent right after a local OFF switched the load on "
                            f"(declared: local operation wins for {rc.local_priority:g}s)")
        else:
            tl.mark(f"stayed OFF for {window:.1f}s")
            if not obs.alive():           # silence is no proof that the load stayed off
                raise Inconclusive("the observation channel went silent after the remote ON: "
                                   "whether local operation won cannot be seen")
    finally:
        remote.finish(obs, tl, evidence)
    evidence.expect("the outcome follows the declared arbitration", not problems,
                    "one settled state; local wins", problems,
                    reason="; ".join(problems))
