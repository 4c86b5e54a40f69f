"""report.html: a person's view of run.json."""
from __future__ import annotations

import json
from pathlib import Path

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined)
_ENV.filters["pretty"] = lambda v: json.dumps(v, indent=1, ensure_ascii=False)


def render(run: dict) -> str:
    return _ENV.get_template("report.html.j2").render(run=run)
