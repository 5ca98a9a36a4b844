"""The listening player and the daily report in a real browser: Debian's Chromium, driven by selenium.

One test opens the generated report.html from disk and checks that its audio and images load and that the
player plays and switches signals on one timeline; the other starts JupyterLab on localhost with a notebook
that shows the anywidget player, runs it, picks a file and models, plays and switches. Screenshots go to
``$SETOOLKIT_SCREENSHOTS`` (default: the test's tmp folder).
"""

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
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--mute-audio")
ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists())
                                 and not os.environ.get("CI"),
                                 reason="Debian chromium + chromium-driver not installed (scripts/setup.sh "
                                        "installs them)")]


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


def test_report_page_in_chromium(small_run, tmp_path):
    from selenium.webdriver.common.by import By

    from setoolkit.report import build_report

    _, table = small_run
    out = build_report(table, tmp_path / "reports" / "2026-01-01", date="2026-01-01",
                       figures_dir=tmp_path / "figures")
    with chromium() as driver:
        driver.get((out / "report.html").as_uri())
        wait_for(driver, "return document.querySelectorAll('.sep-player').length", 30, "the players")
        imgs = wait_for(driver, "const i=[...document.images]; i.forEach(x=>x.loading='eager');"
                                "return i.every(x=>x.complete) && i.map(x=>[x.src.slice(-40), x.naturalWidth])",
                        30, "the images")
        assert len(imgs) >= 8 and all(w > 0 for _, w in imgs), imgs
        audio = wait_for(driver, "const a=[...document.querySelectorAll('audio')];"
                                 "return a.every(x=>x.readyState>=1) && a.map(x=>[x.currentSrc, x.error])",
                         30, "every audio element's metadata")
        assert len(audio) >= 4 * 3 and all(src.startswith("file://") and err is None for src, err in audio)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(screenshots(tmp_path) / "report_top.png"))
        player = [p for p in driver.find_elements(By.CSS_SELECTOR, ".sep-player")
                  if p.find_elements(By.CSS_SELECTOR, "tr[data-label='clean']")][0]
        play_and_switch(driver, player, to="gtcrn")
        play_and_switch(driver, player, to="clean")
        # drag a region on the spectrogram: playback loops inside it
        from selenium.webdriver.common.action_chains import ActionChains

        spec = player.find_element(By.CSS_SELECTOR, ".sep-specbox")
        w = spec.size["width"]
        ActionChains(driver).move_to_element_with_offset(spec, int(-0.3 * w), 0).click_and_hold() \
            .move_by_offset(int(0.2 * w), 0).release().perform()
        assert player.find_element(By.CSS_SELECTOR, ".sep-region").is_displayed()
        duration = driver.execute_script("return arguments[0].querySelector('audio').duration", player)
        a, b = 0.2 * duration, 0.4 * duration
        time.sleep(1.5 * (b - a) + 0.5)
        times = [driver.execute_script(AUDIO_STATE, player)[1]["t"] for _ in range(5) if time.sleep(0.1) is None]
        assert all(a - 0.15 <= t <= b + 0.15 for t in times), (a, b, times)
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -70)", player)
        driver.save_screenshot(str(screenshots(tmp_path) / "report_listen.png"))
        board = driver.find_element(By.CSS_SELECTOR, "table.board")
        assert board.location["y"] < 1200  # the page opens on the leaderboards


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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "IPYTHONDIR": str(root / ".ipython"), "MPLBACKEND": "Agg",
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".lab-settings")}
    log = open(root / "jupyterlab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                             f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
                             "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=True", "--allow-root",
                             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    raise AssertionError("JupyterLab did not start:\n" + (root / "jupyterlab.log").read_text()[-3000:])
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


NOTEBOOK_CELLS = [
    "import pandas as pd\nfrom setoolkit.report.widgets import ComparisonPlayer\n"
    "table = pd.read_parquet('table.parquet')\nplayer = ComparisonPlayer(table, dataset='vbd16k')\nplayer",
]


def test_player_in_jupyterlab(small_run, tmp_path):
    import nbformat
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _, table = small_run
    table.to_parquet(tmp_path / "table.parquet")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "player.ipynb")
    with jupyterlab(tmp_path) as (url, token), chromium(1300, 1100) as driver:
        driver.get(f"{url}/lab/tree/player.ipynb?token={token}&reset")
        wait_for(driver, "return window.jupyterapp && document.querySelector('.jp-Notebook')", 90, "JupyterLab")
        wait_for(driver, "const w=window.jupyterapp.shell.currentWidget; const k=w && w.sessionContext &&"
                         " w.sessionContext.session && w.sessionContext.session.kernel;"
                         "return k && k.status === 'idle'", 90, "the kernel")
        rendered = "const p=document.querySelector('.sep-player'); return p && p.querySelectorAll('audio').length >= 4"
        for attempt in range(3):  # run-all is ignored while the session is still connecting: ask again
            driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            try:
                wait_for(driver, rendered, 40, "the player to render")
                break
            except AssertionError:
                if attempt == 2:
                    driver.save_screenshot(str(screenshots(tmp_path) / "jupyterlab_failed.png"))
                    raise
        player = driver.find_element(By.CSS_SELECTOR, ".sep-player")
        labels = [a["label"] for a in driver.execute_script(AUDIO_STATE, player)]
        assert labels == ["noisy", "clean", "gtcrn", "rnnoise"]
        # pick another file: the kernel rebuilds the signals
        title = player.find_element(By.CSS_SELECTOR, ".sep-title").text
        sel = Select(player.find_element(By.CSS_SELECTOR, "select.sep-file"))
        sel.select_by_index(len(sel.options) - 1)
        wait_for(driver, "return document.querySelector('.sep-player .sep-title').textContent !== "
                 + repr(title), 60, "the new file")
        # choose models: untick rnnoise
        box = player.find_element(By.CSS_SELECTOR, ".sep-models input[value='rnnoise']")
        box.click()
        wait_for(driver, "return document.querySelectorAll('.sep-player audio').length === 3", 60, "3 signals")
        wait_for(driver, "return [...document.querySelectorAll('.sep-player audio')].every("
                         "a => a.readyState >= 1 && a.currentSrc.startsWith('data:audio/wav'))", 30, "audio sources")
        player = driver.find_element(By.CSS_SELECTOR, ".sep-player")
        state = driver.execute_script(AUDIO_STATE, player)
        assert [a["label"] for a in state] == ["noisy", "clean", "gtcrn"]
        play_and_switch(driver, player, to="gtcrn")
        play_and_switch(driver, player, to="noisy")
        driver.save_screenshot(str(screenshots(tmp_path) / "jupyterlab_player.png"))
