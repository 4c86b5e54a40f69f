"""An emulated network PDU for the labgrid bench: labgrid's `simplerest` power model.

GET /outlet/INDEX/1 switches the unit with that link number on (it boots in the
background, as behind a real PDU), /outlet/INDEX/0 off (every process of the unit stops),
GET /outlet/INDEX answers 1 or 0. Run inside the bench namespace:
`python -m harness.emulate.pdu ADDRESS PORT`.
"""
from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.emulate import lab
from harness.emulate.variants import VARIANTS


class Outlets(BaseHTTPRequestHandler):
    def do_GET(self):                                       # noqa: N802 - http.server's name
        parts = self.path.strip("/").split("/")
        by_index = {str(v.index): v.name for v in VARIANTS}
        if len(parts) not in (2, 3) or parts[0] != "outlet" or parts[1] not in by_index:
            return self._answer(404, "no such outlet")
        name = by_index[parts[1]]
        if len(parts) == 2:
            return self._answer(200, "1" if lab.powered(name) else "0")
        if parts[2] == "0":
            lab.power_off(name)
        elif parts[2] == "1":
            if not lab.powered(name):
                lab.boot_later(name)
        else:
            return self._answer(400, "value must be 0 or 1")
        self._answer(200, parts[2])

    def _answer(self, code: int, text: str) -> None:
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Outlets).serve_forever()


if __name__ == "__main__":
    main()
