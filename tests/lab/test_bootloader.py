"""Bootloader break-in beyond the detection matrix: the serial adapter survives a power
cycle, and a prompt without proof, a lab without a power action or an adapter that cannot
stay open never give PASS or FAIL. The open bootloader is fw-router-open's: real U-Boot in
QEMU (a unit no other test process needs)."""
import pytest

from harness.lab.actions import run_action
from harness.lab.config import load_lab
from harness.runner.context import build_context
from tests.conftest import REPO, harness, load_run

OPEN = "fw-router-open"


@pytest.mark.units("camera-1")
def test_console_stays_open_through_a_power_cycle(emulated_lab, tmp_path):
    ctx = build_context([emulated_lab["camera-1"]], out=tmp_path / "out")
    device = ctx.devices[0]
    console = device.console()
    try:
        run_action(load_lab(None)[0], device.profile, "power_cycle", timeout=90)
        _, text = console.expect(["login: ?$"], timeout=20)     # the same open console
        assert "Starting kernel" in text and "U-Boot" in text
    finally:
        console.close()


def _derived(emulated_lab, tmp_path, name, old="", new="", lab=None):
    text = open(emulated_lab[name]).read().replace(
        "extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
    assert old in text, (old, text)
    text = text.replace(old, new) if old else text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    args = ["run", "--profile", path, "-k", "TC-DEBUG-02", "--out", tmp_path / "out"]
    if lab:
        (tmp_path / "lab.yaml").write_text(lab)
        args += ["--lab", tmp_path / "lab.yaml"]
    proc = harness(*args)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return load_run(tmp_path / "out")["devices"][0]["results"][0]


@pytest.mark.units(OPEN)
def test_prompt_without_proof_is_inconclusive(emulated_lab, tmp_path):
    r = _derived(emulated_lab, tmp_path, OPEN, "bootloader: {boot_wait: 120}",
                 "bootloader: {boot_wait: 120, proof: '^NEVER-MATCHES'}")
    assert r["verdict"] == "INCONCLUSIVE", r
    assert "proof command gave no output" in r["reason"]


@pytest.mark.units(OPEN)
@pytest.mark.parametrize("case", ["no power action", "adapter does not survive"])
def test_cannot_watch_the_boot(emulated_lab, tmp_path, case):
    if case == "no power action":
        r = _derived(emulated_lab, tmp_path, OPEN,
                     lab="lab: {name: x}\nscope: {allow: [198.18.0.0/24, '2001:2::/64'], interfaces: [hxbr0]}\n")
        assert r["verdict"] == "INCONCLUSIVE" and "no power_cycle action" in r["reason"], r
    else:
        r = _derived(emulated_lab, tmp_path, OPEN, "survives_power_cycle: true",
                     "survives_power_cycle: false")
        # the test applies; the lab's adapter cannot show it: not run, never N/A
        assert r["verdict"] == "NOT_RUN" and "survives_power_cycle" in r["reason"], r
