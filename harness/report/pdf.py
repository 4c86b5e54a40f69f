"""report.pdf: the report as a lab signs and sends it, laid out by WeasyPrint from the same
HTML (CSS paged media: A4, the report id and "page x of y" on every page, DRAFT until the
report is approved, an end-of-report mark). WeasyPrint is a maintained Python renderer of
HTML and CSS for print; it needs no browser and fetches nothing (every URL is refused)."""
from __future__ import annotations

from pathlib import Path


def _no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"the report fetches nothing ({url[:80]})")


def render(html_text: str, out: Path, base: Path) -> Path:
    import logging
    import weasyprint
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    doc = weasyprint.HTML(string=html_text, base_url=str(base), url_fetcher=_no_fetch)
    data = doc.write_pdf()
    from harness import safefile
    safefile.replace(out, data, 0o644)
    return out
