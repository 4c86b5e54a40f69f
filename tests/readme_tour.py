"""The README's five-minute tour as data: its commands, each with the exit code its comment
promises (`# exit N`, else 0). Used by the unit test (commands that need no root) and the
lab test (the whole tour against emulated devices)."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
NO_ROOT = ("harness validate", "harness list", "harness coverage", "harness schema")


def tour() -> list[tuple[str, int]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Five-minute tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    out = []
    for raw in block.replace("\\\n", " ").splitlines():
        command, _, comment = raw.partition("#")
        command = command.strip()
        if not command:
            continue
        m = re.search(r"\bexit (\d+)", comment)
        out.append((command, int(m.group(1)) if m else 0))
    return out
