"""Open a report in a real browser: Debian's headless Chromium driven by selenium through
Debian's chromedriver (no browser download). Returns what a reader sees."""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000")


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextmanager
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="hx-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def render(driver, html: Path, screenshot: Path | None = None) -> dict:
    """Load a file; its rendered text, console errors and (optionally) a screenshot."""
    driver.get(html.resolve().as_uri())
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    if screenshot is not None:
        driver.save_screenshot(str(screenshot))      # the first screen a reader sees
    return {"text": driver.find_element("tag name", "body").text, "errors": errors}


def open_all(driver) -> str:
    """Open every <details> (as a reader clicking each summary) and return the page text."""
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    return driver.find_element("tag name", "body").text
