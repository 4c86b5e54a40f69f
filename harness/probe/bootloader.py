"""Bootloader break-in on the serial console: watch a whole boot through an adapter that
stays open while the lab power-cycles the device, pressing the break keys as a person at
the bench would; if a bootloader prompt appears, prove it with a command's output and let
the device boot on.

Bounded: keys at most every 0.25 s and only until a prompt appears or `boot_wait` passes.
"""
from __future__ import annotations

import re
import threading
import time

from harness.errors import TransportTimeout

KEY_INTERVAL = 0.25


def watch_boot(console, power_cycle, settings, booted_prompts: list[str]) -> dict:
    """power_cycle() is called in a thread; returns what the boot showed. booted_prompts
    (login, shell) mark the end of a boot without a break-in, but only after the
    bootloader's banner: a prompt before it is the old system's (a root shell answering the
    break keys while the power cycle has not yet cut it), not a boot that ran past the keys."""
    outcome = {"power_cycle": "running", "output_lines": 0, "keys_sent": 0,
               "bootloader_started": False, "prompts_before_boot": 0,
               "bootloader_prompt": False, "proof": "", "booted": ""}
    console.drain(quiet=0.2, limit=1.0)         # what the running system had sent
    worker = cycle_in_background(power_cycle, outcome)
    seen, end, keys, last_key = "", time.monotonic() + settings.boot_wait, 0, 0.0
    patterns = [settings.prompt, settings.banner, *booted_prompts]
    while time.monotonic() < end:
        try:
            which, text = console.expect(patterns, timeout=KEY_INTERVAL)
        except TransportTimeout:
            # a key sent just as a prompt came is echoed after it ("=>  ", "#  "): the
            # prompt then never matches, as every later key lands on the same line
            pending = console.unmatched()
            which = _prompt_behind_echo(pending, patterns, settings.break_keys)
            text = "" if which is None else pending
            if which is not None:
                console.drain(quiet=0.05, limit=0.2)        # the echo: taken with it
        seen += text
        if which == 0:
            outcome["bootloader_prompt"] = True
            outcome["proof"] = _prove(console, settings)
            console.send(settings.continue_command + "\n")
            break
        if which == 1:
            outcome["bootloader_started"] = True
        elif which and not outcome["bootloader_started"]:
            outcome["prompts_before_boot"] += 1
        elif which and seen.count("\n") >= 2:        # a prompt after a boot log
            outcome["booted"] = "login prompt" if which == 2 else "shell prompt"
            break
        if time.monotonic() - last_key >= KEY_INTERVAL:     # not on every banner match: a
            console.send(settings.break_keys[keys % len(settings.break_keys)])  # key echoed
            keys, last_key = keys + 1, time.monotonic()     # after the prompt would hide it
    if not (outcome["bootloader_prompt"] or outcome["booted"]):
        seen += console.unmatched()         # what came that no pattern took: the evidence
    outcome["keys_sent"] = keys
    outcome["output_lines"] = seen.count("\n")
    outcome["boot_log_tail"] = seen[-400:]
    worker.join(timeout=max(0.0, end - time.monotonic()) + 120)
    return outcome


def _prompt_behind_echo(pending: str, prompts: list[str], keys: list[str]) -> int | None:
    """Which of `prompts` ends the device's output once the echo of break keys after it is
    taken off (a space as itself, a control key as itself or as ^X); None if none does."""
    echoes = set()
    for k in keys:
        echoes.add(re.escape(k))
        if len(k) == 1 and ord(k) < 32:
            echoes.add(re.escape("^" + chr(ord(k) + 64)))
    stripped = re.sub(f"(?:{'|'.join(sorted(echoes))})+$", "", pending)
    if stripped == pending:
        return None
    last = stripped.rsplit("\n", 1)[-1]
    for i, p in enumerate(prompts):
        if re.search(p, last):
            return i
    return None


def cycle_in_background(power_cycle, outcome: dict) -> threading.Thread:
    """power_cycle() in a thread (the console is watched meanwhile); how it went lands in
    outcome["power_cycle"]: "done", or "failed: why"."""
    def cycle():
        try:
            power_cycle()
            outcome["power_cycle"] = "done"
        except Exception as exc:  # noqa: BLE001 - reported with the evidence
            outcome["power_cycle"] = f"failed: {exc}"

    worker = threading.Thread(target=cycle, daemon=True)
    worker.start()
    return worker


def _prove(console, settings) -> str:
    """A command's output, not just a prompt, proves the bootloader is open."""
    console.drain(quiet=0.3, limit=2.0)
    console.send(settings.proof_command + "\n")
    try:
        _, text = console.expect([settings.proof], timeout=5.0)
        return text.strip().splitlines()[-1][:120]
    except TransportTimeout:
        return ""
