"""Remote operation (S-mark remote-operation criteria, ETSI EN 303 645 5.9): the appliance
keeps a safe state when remote control is lost. Steps are the harness's own design."""
from harness import applicability as a
from harness.errors import DeviceError, Inconclusive, Missing, NotRun
from harness.lab.actions import run_action
from harness.model import testcase
from harness.probe import remote


def _remote(p):
    if not p.remote_operation:
        return "the product is not operated remotely (remote_operation: false)"
    if not p.remote_control:
        return Missing("the device type does not declare how it is operated remotely and "
                       "observed (remote_control: command, observe, safe_within)")
    if not p.mqtt:
        return Missing("no command channel: the profile has no mqtt section")
    return None


@testcase("TC-SMARK-02", "Safe state on communication failure",
          ["SMARK-2", "ETSI-5.9-1", "ETSI-5.9-2"],
          steps=["command the load ON over the command channel; see ON on the observation "
                 "channel (serial console)",
                 "cut the device's link (lab action link_down)",
                 "the safe state appears within the declared safe_within (+20 %, at least 1 s)",
                 "restore the link; the load stays in the safe state without a new command",
                 "always: link restored, load commanded OFF"],
          applies=[_remote, a.serial], destructive=True)
def test_safe_state_on_link_loss(device, evidence, run_context):
    p, lab = device.profile, run_context.lab
    rc = p.remote_control
    if not (lab.actions.link_down and lab.actions.link_up):
        raise NotRun("the lab config has no link_down/link_up actions to cut the link")
    limit = rc.safe_within + remote.tolerance(rc.safe_within)
    tl, obs, cut = remote.Timeline(), remote.Observer(device), False
    try:
        tl.mark("command ON sent", remote.command(device, "on"))
        if not obs.wait("on", rc.command_within):
            raise Inconclusive(f"the load was not seen ON within {rc.command_within:.0f}s of "
                               "the command: " + ("the command was not executed" if obs.alive()
                                                  else "the observation channel is silent"))
        tl.mark("ON observed")
        run_action(lab, p, "link_down")
        cut = True
        t_cut = tl.mark("link cut")
        safe = obs.wait("off", limit)
        if not safe and not obs.alive():
            raise Inconclusive("the observation channel went silent after the link was cut: "
                               "the state cannot be seen")
        took = tl.mark("safe state observed" if safe else f"still not safe after {limit:.1f}s")
        run_action(lab, p, "link_up")
        cut = False
        t_up = tl.mark("link restored")
        hold = max(10.0, rc.safe_within)
        back_on = obs.wait("on", hold)
        tl.mark("ON again without a command" if back_on else f"no ON line for {hold:.0f}s")
    finally:
        problems = []
        if cut:
            try:
                run_action(lab, p, "link_up")
                tl.mark("link restored (cleanup)")
            except DeviceError as exc:
                problems.append(f"link_up: {exc}")
        try:
            remote.command(device, "off")
            tl.mark("command OFF sent (cleanup)")
        except DeviceError as exc:
            problems.append(f"OFF command: {exc}")
        obs.close()
        evidence.record("timeline (s since the first command)", tl.events)
        if problems:
            evidence.record("cleanup problems", problems)
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
