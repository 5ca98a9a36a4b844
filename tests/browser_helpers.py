"""Helpers for the tests that drive Debian's Chromium with selenium (the report page, the JupyterLab player, the
listening tests): a driver with a fresh profile, JupyterLab on localhost, waiting on page state, screenshots."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
)
ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()) and not os.environ.get("CI"),
        reason="Debian chromium + chromium-driver not installed (scripts/setup.sh installs them)",
    ),
]


@contextlib.contextmanager
def chromium(width: int = 1300, height: int = 1000):
    """A selenium driver on the system Chromium with a fresh profile; closed and the profile removed after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="setoolkit-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(f)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(90)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, timeout: float = 30.0, what: str = ""):
    """Poll ``script`` (JavaScript returning a value) until it is truthy; returns the value."""
    end = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or script}")
        time.sleep(0.25)


def screenshots(tmp_path) -> Path:
    d = Path(os.environ.get("SETOOLKIT_SCREENSHOTS", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


AUDIO_STATE = """
const root = arguments[0] || document;
return [...root.querySelectorAll('audio')].map(a => ({label: a.dataset.label, src: a.currentSrc,
  ready: a.readyState, paused: a.paused, muted: a.muted, t: a.currentTime, err: a.error && a.error.code}));
"""


def play_and_switch(driver, player, *, to: str):
    """Click play in ``player``, check the audible signal plays, switch to ``to`` while playing and check the
    position carried over. Returns the (before, after) audio states."""
    from selenium.webdriver.common.by import By

    button = player.find_element(By.CSS_SELECTOR, ".sep-play")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    if driver.execute_script(AUDIO_STATE, player)[0]["paused"]:
        button.click()
    end = time.monotonic() + 20
    while True:
        before = driver.execute_script(AUDIO_STATE, player)
        audible = [a for a in before if not a["muted"]]
        if audible and not audible[0]["paused"] and audible[0]["t"] > 0.3:
            break
        assert time.monotonic() < end, f"the player did not play: {before}"
        time.sleep(0.2)
    assert len(audible) == 1 and audible[0]["label"] == player.get_attribute("data-active")
    t_before = audible[0]["t"]
    row = player.find_element(By.CSS_SELECTOR, f"tr[data-label='{to}']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    time.sleep(0.4)
    after = driver.execute_script(AUDIO_STATE, player)
    now = [a for a in after if not a["muted"]]
    assert [a["label"] for a in now] == [to] and player.get_attribute("data-active") == to
    assert not now[0]["paused"] and now[0]["t"] >= t_before, (t_before, now)  # same timeline, still playing
    return before, after


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path):
    """JupyterLab on localhost serving ``root`` (the kernel inherits PYTHONPATH); stopped after."""
    port, token = _free_port(), "setoolkit-test"
    settings = root / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "IPYTHONDIR": str(root / ".ipython"),
        "MPLBACKEND": "Agg",
        "JUPYTERLAB_SETTINGS_DIR": str(root / ".lab-settings"),
    }
    log = open(root / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--ServerApp.disable_check_xsrf=True",
            "--allow-root",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        end = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    raise AssertionError(
                        "JupyterLab did not start:\n" + (root / "jupyterlab.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
