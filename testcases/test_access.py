"""Access control: unauthenticated access, debug interfaces, information before login."""
from harness.profile import applicability as a
from harness.errors import DeviceError, Inconclusive, NotRun
from harness.model import testcase
from harness.probe import bootloader, exposure, unauthenticated


@testcase("TC-AUTH-01", "Configuration, control and data need authentication",
          steps=["request each admin path without credentials (status and headers decide; "
                 "an endless stream is read only at its start)",
                 "RTSP DESCRIBE without credentials", "anonymous FTP login (also on 21)",
                 "TFTP reads of documented and common file names (also on udp/69)",
                 "two anonymous MQTT clients: one subscribes, one publishes a nonce",
                 "telnet: a shell without login, proved by a command's output",
                 "SSH: the 'none' method for the lab's account and root",
                 "positive control for each refusal: the same request answers with the "
                 "lab's credential, else that surface is not tested (NOT_RUN)"],
          applies=[a.network])
def test_no_unauthenticated_access(device, evidence):
    seen = unauthenticated.gather(device)
    for s in seen:
        evidence.record(s["surface"], s)
    if not seen:
        raise Inconclusive("no surface could be checked (no SSH, web admin path, RTSP, FTP, "
                           "TFTP, MQTT or telnet answered)")
    evidence.per_surface(unauthenticated.per_login(seen))
    open_ = [s["surface"] for s in seen if s["open"]]
    evidence.expect("nothing reachable without authentication", not open_, "all refused",
                    open_, reason="reachable without authentication: " + ", ".join(open_))
    untested = list(dict.fromkeys(s["control"]["why"] for s in seen
                                  if not s["open"] and not s["control"]["passed"]))
    evidence.expect("every refusal has its positive control", True, "controls passed",
                    {"controls failed": untested})
    if untested:
        raise NotRun("not run on part of the unit: " + "; ".join(untested))


@testcase("TC-DEBUG-01", "The serial console requires authentication",
          steps=["open the console, press Enter", "a login prompt must come; a shell "
                 "(proved by a command's output) without login is a FAIL",
                 "positive control: the lab's console account logs in"],
          applies=[a.serial])
def test_console_requires_login(device, evidence):
    console = device.console()
    try:
        outcome = console.login("hx-nobody", "hx-wrong")
    finally:
        console.close()
    if outcome == "unknown":
        raise Inconclusive("a shell prompt appeared but no command output proved a shell")
    evidence.expect("the console asks for a login before any shell", outcome != "no-login",
                    "a login prompt, no shell without it",
                    "a shell without login" if outcome == "no-login" else
                    f"a login prompt (the unknown account: {outcome})",
                    reason="the serial console gives a root shell without login")
    evidence.expect("an unknown account is refused", outcome in ("rejected", "closed"),
                    "rejected", outcome,
                    reason=f"console login with an unknown account: {outcome}")
    # the positive control: the same login succeeds with the lab's account on this console
    s = device.profile.serial
    if not (s.username and s.password and s.password.get_secret_value()):
        raise NotRun("not run: the console refused an unknown account, but the lab gave no "
                     "console account to show that a login there can succeed "
                     "(serial.username, serial.password)")
    console = device.console()
    try:
        control = console.login(s.username, s.password.get_secret_value())
    finally:
        console.close()
    evidence.record("positive control: the lab's console account", control)
    if control != "accepted":
        raise NotRun(f"not run: the lab's own console login gave '{control}', so the refusal "
                     "of an unknown account proves nothing")


@testcase("TC-DEBUG-02", "No bootloader break-in on the serial console",
          steps=["keep the serial console open while the lab power-cycles the device",
                 "press the profile's break keys during the boot (bounded)",
                 "a bootloader prompt whose proof command answers is a FAIL (the device is "
                 "then told to boot on); a login (or shell) prompt after the bootloader's "
                 "banner and a boot log is a PASS (prompts before the banner are the old "
                 "system's)"],
          applies=[a.serial_through_boot], disrupts="power")
def test_no_bootloader_break_in(device, evidence, lifecycle):
    p = device.profile
    if not lifecycle.can("power_cycle"):
        raise Inconclusive("the lab config has no power_cycle action to reboot the device")
    console = device.console()
    # the console shows the boot; afterwards the services must answer again (at teardown,
    # whatever the verdict: a failure there marks the device for the next test cases)
    lifecycle.on_exit("ready after the power cycle",
                      lambda: lifecycle.wait_ready(why="the power cycle"))
    try:
        seen = bootloader.watch_boot(
            console, lambda: lifecycle.act("power_cycle", timeout=120, ready=False),
            p.serial.bootloader, [p.prompts.login, p.prompts.shell])
    finally:
        console.close()
    evidence.record("boot watched", seen)
    if seen["bootloader_prompt"] and seen["proof"]:
        evidence.expect("no bootloader prompt", False, "boots without a break-in",
                        seen["proof"], reason="the bootloader stops autoboot on a key press "
                        f"and answers '{p.serial.bootloader.proof_command}': {seen['proof']}")
    if seen["power_cycle"] != "done" and not seen["output_lines"]:
        raise DeviceError(f"power cycle: {seen['power_cycle']}")
    if seen["bootloader_prompt"]:
        raise Inconclusive("a bootloader prompt appeared but its proof command gave no "
                           "output")
    if not seen["bootloader_started"]:
        raise Inconclusive("the bootloader's first output (serial.bootloader.banner "
                           f"'{p.serial.bootloader.banner}') did not appear within "
                           f"{p.serial.bootloader.boot_wait:.0f}s of the power cycle "
                           f"({seen['output_lines']} lines of output): the break keys are not "
                           "shown to have reached a bootloader")
    if not seen["booted"]:
        raise Inconclusive(f"no login or shell prompt within {p.serial.bootloader.boot_wait:.0f}s of "
                           f"the power cycle ({seen['output_lines']} lines of boot output)")
    evidence.expect("boot reached its prompt without a bootloader prompt", True,
                    "login or shell prompt after the bootloader's banner",
                    f"{seen['booted']} after the bootloader's banner, {seen['keys_sent']} "
                    "break keys sent")


@testcase("TC-INFO-01", "No security-relevant information before authentication",
          steps=["read public web pages and service banners without credentials",
                 "look for the firmware version, Wi-Fi passphrases and private keys"],
          applies=[a.network])
def test_no_information_before_login(device, evidence):
    seen = exposure.gather(device)
    evidence.record("public pages and banners read", [s["where"] for s in seen])
    found = exposure.findings(seen, device.profile.firmware_version)
    evidence.expect("nothing security-relevant disclosed", not found, "none", found,
                    reason="; ".join(f"{f['where']} reveals {f['reveals']}" for f in found))
