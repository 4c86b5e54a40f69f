"""Remote operation on the network: a command reaches the right unit only, after a link flap
the device reconnects in an orderly way (S-mark item 5), and after a power cycle it carries
out no old command the broker replays (item 3). Steps are the harness's own design."""
import time

from harness.profile import applicability as a
from harness.errors import Inconclusive, NotRun
from harness.model import testcase
from harness.probe import reconnect, remote, standin

SIBLINGS_AT_MOST = 2          # units of the model commanded per test case: bounded
RECONNECT_WINDOW = 20.0       # s after the link returns during which attempts are counted
RECOVER_WITHIN = 60.0         # s for the device to be operable again once its cloud answers
RESEND_EVERY = 5.0            # s between ON commands while waiting for it to reconnect


@testcase("TC-SMARK-05", "Commands reach the right unit only",
          steps=["find the other units of the same model on the same command channel (broker) "
                 "in this run; wait until they are between test cases and hold them",
                 "command this unit OFF and see OFF on its console (its observation channel "
                 "works and the load is off)",
                 f"for each sibling (at most {SIBLINGS_AT_MOST}): command the sibling ON on "
                 "its own topic with its own account; positive control: the sibling's console "
                 "shows ON; this unit must show no ON line within command_within",
                 "always: the siblings and this unit commanded OFF, the siblings released"],
          applies=[a.remote_operated, a.serial], destructive=True)
def test_right_unit(device, evidence, run_context, lifecycle):
    rc = device.profile.remote_control
    siblings = [d for d in remote.channel_peers(device, run_context.devices, same_model=True)
                if d.profile.serial][:SIBLINGS_AT_MOST]
    if not siblings:
        raise NotRun("item 5 needs a second unit of this model on the same command channel "
                     f"({device.profile.mqtt.host}:{device.profile.mqtt.port}) with a serial "
                     "console in this run; none is")
    remote.begin(device, run_context, lifecycle, units=True)
    for s in siblings:
        lifecycle.on_exit(f"{s.name} commanded OFF", lambda s=s: remote.command(s, "off"))
    tl, obs, problems = remote.Timeline(), remote.Observer(device), []
    try:
        if not remote.switch(device, obs, "off", tl):
            raise Inconclusive("this unit's OFF was not seen on its console: without a working "
                               "observation channel nothing can be ruled out")
        for s in siblings:
            other = remote.Observer(s)
            try:
                tl.mark(f"command ON sent to {s.name}")
                if not remote.switch(s, other, "on", tl):
                    raise Inconclusive(f"positive control failed: {s.name} was not seen ON "
                                       "after a command addressed to it")
                tl.mark(f"{s.name} ON observed")
                moved = obs.wait("on", rc.command_within)
                tl.mark(f"this unit ON: it obeyed {s.name}'s command" if moved
                        else f"this unit: no ON line for {rc.command_within:.0f}s")
                if moved:
                    problems.append(f"a command addressed to {s.name} switched this unit on")
                    remote.command(device, "off")
                    obs.wait("off", rc.command_within)
                elif not obs.alive():
                    raise Inconclusive("this unit's console went silent: whether it moved "
                                       "cannot be seen")
                remote.command(s, "off")
                other.wait("off", s.profile.remote_control.command_within)
            finally:
                other.close()
    finally:
        remote.finish(obs, tl, evidence)
    evidence.record("siblings commanded", [s.name for s in siblings])
    evidence.expect("commands addressed to another unit leave this one alone", not problems,
                    "unmoved", problems, reason="; ".join(problems))


@testcase("TC-SMARK-05R", "Orderly reconnection after a link flap (no reconnect storm)",
          steps=["the harness stands in for the cloud endpoint (lab action redirect): it "
                 "accepts each connection and closes it at once, counting the attempts",
                 "cut the link for safe_within (the device has noticed the loss by then), "
                 "restore it",
                 f"count the device's connection attempts for {RECONNECT_WINDOW:.0f}s: at most "
                 "the declared reconnect_per_minute (+20 %)",
                 f"clear the redirect: the device is operable again (ON seen, the command "
                 f"resent every {RESEND_EVERY:.0f}s) within {RECOVER_WITHIN:.0f}s",
                 "always: redirect cleared, link up, load commanded OFF"],
          applies=[a.remote_operated, a.serial], destructive=True, disrupts="link")
def test_orderly_reconnection(device, evidence, run_context, lifecycle):
    p, lab, rc = remote.link_test_setup(device, run_context)
    standin.lab_for(run_context, "the device's cloud", NotRun)
    remote.begin(device, run_context, lifecycle)
    cloud = f"{p.mqtt.host}:{p.mqtt.port}"
    limit = rc.reconnect_per_minute + remote.tolerance(rc.reconnect_per_minute)
    tl, obs = remote.Timeline(), remote.Observer(device)
    try:
        with reconnect.Counter(lab.harness_address, device.wire.transcript) as counter:
            lifecycle.act("redirect", target=cloud, to=counter.endpoint)
            lifecycle.on_exit("redirect cleared", lambda: lifecycle.act("redirect_clear"))
            tl.mark("cloud redirected to the counting stand-in", counter.endpoint)
            remote.cut_link(lifecycle, tl)
            time.sleep(rc.safe_within)
            lifecycle.act("link_up")
            tl.mark("link restored")
            t_up = time.monotonic()
            time.sleep(RECONNECT_WINDOW)
            counted = counter.between(t_up, t_up + RECONNECT_WINDOW)
            tl.mark(f"{counted} connection attempts counted in {RECONNECT_WINDOW:.0f}s")
            lifecycle.act("redirect_clear")
            tl.mark("redirect cleared: the cloud answers again")
        rate = counted * 60.0 / RECONNECT_WINDOW
        recovered, end = False, time.monotonic() + RECOVER_WITHIN
        while not recovered and time.monotonic() < end:
            remote.command(device, "on")
            recovered = obs.wait("on", min(RESEND_EVERY, max(0.1, end - time.monotonic())))
        tl.mark("ON observed: operable again" if recovered
                else f"no ON line for {RECOVER_WITHIN:.0f}s")
        if not recovered and not obs.alive():
            raise Inconclusive("the observation channel is silent: whether the device "
                               "reconnected cannot be seen")
    finally:
        remote.finish(obs, tl, evidence)
    evidence.record("declared", {"reconnect_per_minute": rc.reconnect_per_minute,
                                 "tolerance": round(limit - rc.reconnect_per_minute, 2)})
    if counted == 0:
        raise Inconclusive(f"no connection attempt reached the stand-in in "
                           f"{RECONNECT_WINDOW:.0f}s after the link came back: the "
                           "reconnection was not observed (did the redirect take effect, or "
                           "did the device keep its session through the flap?)")
    evidence.expect(f"at most {rc.reconnect_per_minute:g} attempts a minute while the cloud "
                    "refuses", rate <= limit, f"<= {limit:g}/min", f"{rate:.0f}/min",
                    reason=f"reconnect storm: {counted} connection attempts in "
                           f"{RECONNECT_WINDOW:.0f}s ({rate:.0f} a minute; declared at most "
                           f"{rc.reconnect_per_minute:g})")
    evidence.expect("operable again once the cloud answers", recovered,
                    f"within {RECOVER_WITHIN:.0f}s", "not reconnected",
                    reason=f"the device did not carry out a command within "
                           f"{RECOVER_WITHIN:.0f}s after its cloud answered again")


@testcase("TC-SMARK-03P", "No old command is carried out after a power cycle",
          steps=["command ON as a retained frame (an app that retains its commands leaves it "
                 "on the broker), see ON; command OFF (not retained), see OFF: the broker now "
                 "holds an old ON",
                 "power-cycle the device (lab action power_cycle) with the console open; once "
                 "it is ready the broker replays the old ON: no ON line may follow within "
                 "command_within + 10 s",
                 "positive control: a new ON command is carried out (the device is back on its "
                 "channel, so the silence meant something)",
                 "always: the retained frame removed, load commanded OFF"],
          applies=[a.remote_operated, a.serial_through_boot], destructive=True,
          disrupts="power")
def test_no_old_command_after_power_cycle(device, evidence, run_context, lifecycle):
    rc = device.profile.remote_control
    if not lifecycle.can("power_cycle"):
        raise NotRun("the lab config has no power_cycle action to reboot the device")
    remote.begin(device, run_context, lifecycle)
    lifecycle.on_exit("retained command removed", lambda: remote.send(device, b"", retain=True))
    tl, obs = remote.Timeline(), remote.Observer(device)
    try:
        tl.mark("command ON sent, retained", remote.send(device, rc.command.on, retain=True))
        if not obs.wait("on", rc.command_within):
            raise Inconclusive("positive control failed: the load was not seen ON after a "
                               "valid command")
        remote.command(device, "off")
        if not obs.wait("off", rc.command_within):
            raise Inconclusive("positive control failed: the load was not seen OFF")
        tl.mark("ON and OFF seen: the broker holds the old ON")
        lifecycle.act("power_cycle", timeout=120)       # ready: its services answer again
        tl.mark("power cycled, services answer")
        hold = rc.command_within + 10
        replayed = obs.wait("on", hold)
        tl.mark("ON: the old command was carried out" if replayed
                else f"no ON line for {hold:.0f}s after the boot")
        if not replayed:
            remote.command(device, "on")
            if not obs.wait("on", rc.command_within + 10):
                raise Inconclusive("after the power cycle the device carried out no new "
                                   "command either" + ("" if obs.alive() else
                                                       " (its console is silent)")
                                   + ": the silence before proves nothing")
            tl.mark("new ON carried out (positive control)")
    finally:
        remote.finish(obs, tl, evidence)
    evidence.expect("no old (retained) command carried out after the power cycle",
                    not replayed, "ignored", "carried out",
                    reason="after a power cycle the device carried out an old ON command the "
                           "broker replayed (retained): the load switched on without a new "
                           "command")
