"""The profile page in a real headless Chromium, served by `linernotes serve`.

Needs Debian's `chromium` and `chromium-driver` (`make setup-browser`) and
selenium. Skipped with a reason when they are absent, except under CI (env CI
set), where CI installs them and a skip would hide a broken page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linernotes.storage import Store
from tests.test_views import seed

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, DRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        reason = f"browser test needs {', '.join(missing)}: run `make setup-browser`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(sqlite_store: Store) -> Iterator[str]:
    """`linernotes serve` on a free port over the fixture corpus; yields its base URL."""
    _require_browser()
    seed(sqlite_store)
    port = _free_port()
    command = [sys.executable, "-m", "linernotes", "--db", sqlite_store.url, "serve",
               "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"linernotes serve did not start: {output[-500:]}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_profile_page_in_headless_chromium(server: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    profile = tempfile.mkdtemp(prefix="ln-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1100,1400"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    try:
        driver.set_page_load_timeout(20)
        driver.get(f"{server}/?q=alison")
        driver.find_element(By.LINK_TEXT, "Alison").click()
        assert driver.find_element(By.TAG_NAME, "h1").text == "Alison"
        terms = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".bar-row .term")]
        assert terms == ["hazy", "dreamy"]
        bars = driver.find_elements(By.CSS_SELECTOR, ".bar-row .bar")
        assert bars[0].size["width"] > bars[1].size["width"] > 0  # drawn, to scale
        assert driver.find_elements(By.CSS_SELECTOR, "svg.trend polyline")
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "profile_alison.png"))
        neighbour = driver.find_element(By.CSS_SELECTOR, "ol.neighbors a.neighbor")
        assert neighbour.text == "Heaven or Las Vegas"
        neighbour.click()
        assert driver.find_element(By.TAG_NAME, "h1").text == "Heaven or Las Vegas"
        assert driver.current_url.endswith("/track/tr%3Aheaven")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    assert (ARTIFACTS / "profile_alison.png").stat().st_size > 1000
