"""The listening player and the daily report in a real browser: Debian's Chromium, driven by selenium.

One test opens the generated report.html from disk and checks that its audio and images load and that the
player plays and switches signals on one timeline; the other starts JupyterLab on localhost with a notebook
that shows the anywidget player, runs it, picks a file and models, plays and switches. Screenshots go to
``$SETOOLKIT_SCREENSHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import time

from browser_helpers import (
    AUDIO_STATE,
    chromium,
    jupyterlab,
    play_and_switch,
    pytestmark,  # noqa: F401  (the browser marker and the Chromium skip)
    screenshots,
    wait_for,
)


def test_report_page_in_chromium(small_run, tmp_path):
    from selenium.webdriver.common.by import By

    from setoolkit.report import build_report

    _, table = small_run
    out = build_report(table, tmp_path / "reports" / "2026-01-01", date="2026-01-01", figures_dir=tmp_path / "figures")
    with chromium() as driver:
        driver.get((out / "report.html").as_uri())
        wait_for(driver, "return document.querySelectorAll('.sep-player').length", 30, "the players")
        imgs = wait_for(
            driver,
            "const i=[...document.images]; i.forEach(x=>x.loading='eager');"
            "return i.every(x=>x.complete) && i.map(x=>[x.src.slice(-40), x.naturalWidth])",
            30,
            "the images",
        )
        assert len(imgs) >= 8 and all(w > 0 for _, w in imgs), imgs
        audio = wait_for(
            driver,
            "const a=[...document.querySelectorAll('audio')];"
            "return a.every(x=>x.readyState>=1) && a.map(x=>[x.currentSrc, x.error])",
            30,
            "every audio element's metadata",
        )
        assert len(audio) >= 4 * 3 and all(src.startswith("file://") and err is None for src, err in audio)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(screenshots(tmp_path) / "report_top.png"))
        player = [
            p
            for p in driver.find_elements(By.CSS_SELECTOR, ".sep-player")
            if p.find_elements(By.CSS_SELECTOR, "tr[data-label='clean']")
        ][0]
        play_and_switch(driver, player, to="gtcrn")
        play_and_switch(driver, player, to="clean")
        # drag a region on the spectrogram: playback loops inside it
        from selenium.webdriver.common.action_chains import ActionChains

        spec = player.find_element(By.CSS_SELECTOR, ".sep-specbox")
        w = spec.size["width"]
        ActionChains(driver).move_to_element_with_offset(spec, int(-0.3 * w), 0).click_and_hold().move_by_offset(
            int(0.2 * w), 0
        ).release().perform()
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
        wait_for(
            driver,
            "const w=window.jupyterapp.shell.currentWidget; const k=w && w.sessionContext &&"
            " w.sessionContext.session && w.sessionContext.session.kernel;"
            "return k && k.status === 'idle'",
            90,
            "the kernel",
        )
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
        wait_for(
            driver,
            "return document.querySelector('.sep-player .sep-title').textContent !== " + repr(title),
            60,
            "the new file",
        )
        # choose models: untick rnnoise
        box = player.find_element(By.CSS_SELECTOR, ".sep-models input[value='rnnoise']")
        box.click()
        wait_for(driver, "return document.querySelectorAll('.sep-player audio').length === 3", 60, "3 signals")
        wait_for(
            driver,
            "return [...document.querySelectorAll('.sep-player audio')].every("
            "a => a.readyState >= 1 && a.currentSrc.startsWith('data:audio/wav'))",
            30,
            "audio sources",
        )
        player = driver.find_element(By.CSS_SELECTOR, ".sep-player")
        state = driver.execute_script(AUDIO_STATE, player)
        assert [a["label"] for a in state] == ["noisy", "clean", "gtcrn"]
        play_and_switch(driver, player, to="gtcrn")
        play_and_switch(driver, player, to="noisy")
        driver.save_screenshot(str(screenshots(tmp_path) / "jupyterlab_player.png"))
