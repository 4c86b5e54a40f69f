"""Each device's transcript (logs/<device>.log) as a page a reviewer can follow from a
finding: every line numbered and addressable (#L123), each test case's first line an anchor
(#TC-CRED-01), device-controlled text escaped."""
from __future__ import annotations

import html
import re
from pathlib import Path

BEGINS = re.compile(r"^\S+ test # (TC-[A-Z0-9.-]+) begins")
MAX_LINES = 200_000


def render(log: Path) -> str:
    rows, seen = [], set()
    with open(log, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if n > MAX_LINES:
                rows.append(f'<span class="cut">… cut after {MAX_LINES} lines: the full '
                            f'transcript is {html.escape(log.name)}</span>')
                break
            m = BEGINS.match(line)
            anchor = ""
            if m and m.group(1) not in seen:
                seen.add(m.group(1))
                anchor = f'<a id="{m.group(1)}"></a>'
            rows.append(f'{anchor}<span id="L{n}"><a class="n" href="#L{n}">{n}</a> '
                        f'{html.escape(line.rstrip(chr(10)))}</span>')
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Transcript {html.escape(log.stem)}</title><style>"
            "body{font-family:monospace;font-size:12px;margin:1em;max-width:1200px}"
            "pre{white-space:pre-wrap;overflow-wrap:anywhere}span:target{background:#ffec99}"
            ".n{color:#999;display:inline-block;width:4.5em;text-decoration:none}"
            "</style></head><body>"
            f"<h1>Transcript of {html.escape(log.stem)}</h1>"
            f"<p>Every exchange with the device, both directions, secrets masked: "
            f"<a href=\"{html.escape(log.name)}\">{html.escape(log.name)}</a> (plain text).</p>"
            "<pre>" + "\n".join(rows) + "</pre></body></html>\n")


def anchors(log: Path) -> set[str]:
    """The test cases that have an anchor in the transcript page."""
    out = set()
    try:
        with open(log, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = BEGINS.match(line)
                if m:
                    out.add(m.group(1))
    except OSError:
        pass
    return out
