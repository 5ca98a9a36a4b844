"""The listening test in a real browser (Debian's Chromium, selenium): the offline page and the widget.

A scripted listener takes a MUSHRA and a P.835 test on ``listening_test.html`` opened from disk (stimuli
load and play, switching keeps the position, the loop region loops, ratings are stored after each trial, a
reload resumes, the finished result downloads and passes the Python checks), and a MUSHRA test through the
anywidget in JupyterLab (each rating reaches the results JSON file; re-running after a reload resumes).
Screenshots go to ``$SETOOLKIT_SCREENSHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import json
import time

import pytest
from browser_helpers import AUDIO_STATE, chromium, jupyterlab, screenshots, wait_for
from browser_helpers import pytestmark as browser_marks

from setoolkit.listening import (
    build_test,
    listener_plan,
    load_results,
    ratings_frame,
    system_scores,
)
from setoolkit.listening.results import check_result

pytestmark = browser_marks
MUSHRA_SCORES = {"reference": 100, "anchor_3.5k": 20, "anchor_7k": 55, "noisy": 35, "sysA": 80, "sysB": 65}


def _start(driver, listener: str, *, returning: bool = False, shot=None):
    from selenium.webdriver.common.by import By

    wait_for(driver, "return document.querySelector('.sel-test[data-screen=start] .sel-listener')", 30, "the start")
    box = driver.find_element(By.CSS_SELECTOR, ".sel-listener")
    box.clear()
    box.send_keys(listener)
    driver.find_element(By.CSS_SELECTOR, ".sel-tone").click()
    driver.execute_script("document.querySelector('.sel-hp-answers input[value=left]').click()")
    if returning:
        assert "Welcome back" in driver.find_element(By.CSS_SELECTOR, ".sel-note").text
    if shot:
        driver.save_screenshot(str(shot))
    driver.find_element(By.CSS_SELECTOR, ".sel-start").click()
    wait_for(driver, "return document.querySelector('.sel-test').dataset.screen !== 'start'", 10, "the first trial")


def _trial_state(driver) -> dict:
    return driver.execute_script("""const r = document.querySelector('.sel-test');
      return {screen: r.dataset.screen, trial: r.dataset.trial,
              keys: [...r.querySelectorAll('.sel-pick')].map(b => b.dataset.key)};""")


def _switch_keeps_position(driver, keys):
    """Play the first key, switch to the second while playing: same timeline, still playing."""
    root = driver.find_element("css selector", ".sel-test")
    wait_for(
        driver,
        "return [...document.querySelectorAll('.sel-test audio')].every(a => a.readyState >= 2)",
        30,
        "the stimuli to load",
    )
    driver.execute_script(f"document.querySelector('.sel-pick[data-key=\"{keys[0]}\"]').click()")
    end = time.monotonic() + 15
    while True:
        state = driver.execute_script(AUDIO_STATE, root)
        audible = [a for a in state if not a["muted"]]
        if len(audible) == 1 and not audible[0]["paused"] and audible[0]["t"] > 0.3:
            break
        assert time.monotonic() < end, f"the stimuli do not play: {state}"
        time.sleep(0.1)
    assert all(a["src"].startswith(("file://", "data:audio/wav")) and a["err"] is None for a in state)
    t0 = audible[0]["t"]
    driver.execute_script(f"document.querySelector('.sel-pick[data-key=\"{keys[1]}\"]').click()")
    time.sleep(0.3)
    after = driver.execute_script(AUDIO_STATE, root)
    now = [a for a in after if not a["muted"]]
    assert len(now) == 1 and root.get_attribute("data-active") == keys[1]
    assert not now[0]["paused"] and now[0]["t"] >= t0, (t0, now)
    assert max(a["t"] for a in after) - min(a["t"] for a in after) < 0.15  # all on one timeline


def _loop_region(driver):
    from selenium.webdriver.common.action_chains import ActionChains

    bar = driver.find_element("css selector", ".sel-timeline")
    w = bar.size["width"]
    ActionChains(driver).move_to_element_with_offset(bar, int(-0.3 * w), 0).click_and_hold().move_by_offset(
        int(0.3 * w), 0
    ).release().perform()
    assert driver.find_element("css selector", ".sel-region").is_displayed()
    dur = driver.execute_script("return document.querySelector('.sel-test audio').duration")
    a, b = 0.2 * dur, 0.5 * dur
    time.sleep(b - a + 0.5)
    root = driver.find_element("css selector", ".sel-test")
    times = []
    for _ in range(6):
        times.append(next(x["t"] for x in driver.execute_script(AUDIO_STATE, root) if not x["muted"]))
        time.sleep(0.1)
    assert all(a - 0.15 <= t <= b + 0.15 for t in times), (a, b, times)


def _play_all(driver):
    """Click every signal of the trial (each one plays): the MUSHRA rule "every signal played"."""
    driver.execute_script("for (const b of document.querySelectorAll('.sel-pick')) b.click();")
    wait_for(driver, "return ![...document.querySelectorAll('.sel-slider')].some(s => s.disabled)", 10, "sliders")


def _rate_mushra(driver, test, entry, play=True):
    trial = next(t for t in test.trials if t.id == entry["trial"])
    values = {s.id: MUSHRA_SCORES[s.system] for s in trial.stimuli}
    if play:
        _play_all(driver)
    driver.execute_script(
        """for (const [id, v] of Object.entries(arguments[0])) {
        const s = document.querySelector(`.sel-slider[data-stim="${id}"]`);
        s.value = v; s.dispatchEvent(new Event('input', {bubbles: true})); }""",
        values,
    )


def _hear_to_end(driver):
    """Play each sample of the trial to its end (P.835, CCR, ACR: the rating opens only then)."""
    n = len(driver.find_elements("css selector", ".sel-pick"))
    for k in range(n):
        driver.execute_script(f"document.querySelectorAll('.sel-pick')[{k}].click()")
        if k < n - 1:
            time.sleep(driver.execute_script("return document.querySelector('.sel-test audio').duration") + 0.6)
    wait_for(driver, "return !document.querySelector('.sel-options input').disabled", 20, "the rating to open")


def _rate_p835(driver, value: int):
    driver.execute_script(
        """for (const f of document.querySelectorAll('fieldset.sel-p835'))
        f.querySelector(`input[value="${arguments[0]}"]`).click();""",
        value,
    )


def _next(driver):
    driver.execute_script("document.querySelector('.sel-next').click()")


def _stored(driver, test, listener):
    text = driver.execute_script(
        "return localStorage.getItem(arguments[0])", f"setoolkit-listening|{test.id}|{listener}"
    )
    return json.loads(text) if text else None


@pytest.fixture(scope="module")
def small_mushra(tmp_path_factory, table):
    d = tmp_path_factory.mktemp("browser_mushra")
    return d, build_test(table, d, kind="mushra", n_items=2, seed=7, max_seconds=2.5)


def test_mushra_on_the_offline_page(small_mushra, tmp_path):
    folder, test = small_mushra
    plan = listener_plan(test, "anna")
    shots = screenshots(tmp_path)
    with chromium(1200, 1000) as driver:
        driver.get((folder / "listening_test.html").as_uri())
        _start(driver, "anna")
        st = _trial_state(driver)
        assert st["trial"] == plan[0]["trial"] == "training"
        assert st["keys"] == ["reference", *plan[0]["order"]]  # the page's order is listener_plan's
        _switch_keeps_position(driver, st["keys"][1:3])
        _loop_region(driver)
        _rate_mushra(driver, test, plan[0])
        driver.save_screenshot(str(shots / "listening_mushra_page.png"))
        _next(driver)
        saved = _stored(driver, test, "anna")
        assert list(saved["trials"]) == ["training"] and saved["headphone_check"]["passed"]
        assert _trial_state(driver)["trial"] == plan[1]["trial"]
        driver.refresh()  # a closed tab / reload resumes from localStorage
        _start(driver, "anna", returning=True, shot=shots / "listening_page_start.png")
        st = _trial_state(driver)
        assert st["trial"] == plan[1]["trial"] and st["keys"] == ["reference", *plan[1]["order"]]
        for entry in plan[1:]:
            wait_for(driver, f"return document.querySelector('.sel-test').dataset.trial === '{entry['trial']}'", 10)
            _rate_mushra(driver, test, entry)
            _next(driver)
        wait_for(driver, "return document.querySelector('.sel-test').dataset.screen === 'done'", 10, "the end")
        link = driver.find_element("css selector", "a.sel-download")
        assert link.get_attribute("download") == f"{test.id}__anna.json"
        downloaded = json.loads(
            driver.execute_async_script(
                "fetch(arguments[0]).then(r => r.text()).then(arguments[1])", link.get_attribute("href")
            )
        )
        driver.save_screenshot(str(shots / "listening_mushra_done.png"))
    assert downloaded == _stored_copy(downloaded) and downloaded["done"]
    check_result(downloaded, test)
    scores = system_scores(ratings_frame([downloaded], test)).set_index("system")["mean"]
    assert scores.to_dict() == {k: float(v) for k, v in MUSHRA_SCORES.items()}


def _stored_copy(r):
    return json.loads(json.dumps(r))


def test_p835_on_the_offline_page(p835, tmp_path):
    folder, test = p835
    plan = listener_plan(test, "ben")
    with chromium(1200, 1000) as driver:
        driver.get((folder / "listening_test.html").as_uri())
        _start(driver, "ben")
        for k, entry in enumerate(plan):
            wait_for(driver, f"return document.querySelector('.sel-test').dataset.trial === '{entry['trial']}'", 10)
            if k == 0:
                root = driver.find_element("css selector", ".sel-test")
                driver.execute_script("document.querySelector('.sel-pick').click()")
                wait_for(
                    driver,
                    "const a = document.querySelector('.sel-test audio');return a && !a.paused && a.currentTime > 0.2",
                    15,
                    "the sample to play",
                )
                assert driver.execute_script(AUDIO_STATE, root)[0]["src"].startswith("file://")
            if k != 0:
                _hear_to_end(driver)
            else:
                wait_for(driver, "return !document.querySelector('.sel-options input').disabled", 15, "heard")
            _rate_p835(driver, 4 if k % 2 else 3)
            if k == 1:
                driver.save_screenshot(str(screenshots(tmp_path) / "listening_p835_page.png"))
            _next(driver)
            assert len(_stored(driver, test, "ben")["trials"]) == k + 1  # saved after each trial
            if k == 1:
                driver.refresh()
                _start(driver, "ben", returning=True)
        wait_for(driver, "return document.querySelector('.sel-test').dataset.screen === 'done'", 10, "the end")
        result = _stored(driver, test, "ben")
    check_result(result, test)
    assert result["done"] and len(result["trials"]) == len(test.trials)
    r = ratings_frame([result], test)
    assert set(r.scale) == {"SIG", "BAK", "OVRL"}


def test_ccr_on_the_offline_page(ccr, tmp_path):
    folder, test = ccr
    plan = listener_plan(test, "dora")
    with chromium(1200, 800) as driver:
        driver.get((folder / "listening_test.html").as_uri())
        _start(driver, "dora")
        for k, entry in enumerate(plan):
            wait_for(driver, f"return document.querySelector('.sel-test').dataset.trial === '{entry['trial']}'", 10)
            assert _trial_state(driver)["keys"] == entry["order"]
            assert driver.execute_script("return document.querySelector('fieldset.sel-ccr input').disabled")
            _hear_to_end(driver)
            driver.execute_script("document.querySelector('fieldset.sel-ccr input[value=\"2\"]').click()")
            if k == 1:
                driver.save_screenshot(str(screenshots(tmp_path) / "listening_ccr_page.png"))
            _next(driver)
        result = _stored(driver, test, "dora")
    check_result(result, test)
    r = ratings_frame([result], test)  # "second better by 2" becomes +2 or -2 by the order shown
    a_of = {t.id: t.stimuli[0].id for t in test.trials}
    first_is_a = [result["trials"][t]["order"][0] == a_of[t] for t in r.trial]
    assert list(r.rating) == [2.0 if a else -2.0 for a in first_is_a] and len(set(first_is_a)) == 2


NOTEBOOK = "from setoolkit.listening.widget import ListeningWidget\nw = ListeningWidget({test!r}, {results!r})\nw"


def test_mushra_in_jupyterlab(small_mushra, tmp_path):
    import nbformat

    folder, test = small_mushra
    results = tmp_path / "results"
    plan = listener_plan(test, "chloé")
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(NOTEBOOK.format(test=str(folder), results=str(results)))]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "listen.ipynb")

    def open_and_run(driver):
        driver.get(f"{url}/lab/tree/listen.ipynb?token={token}&reset")
        wait_for(driver, "return window.jupyterapp && document.querySelector('.jp-Notebook')", 90, "JupyterLab")
        wait_for(
            driver,
            "const w=window.jupyterapp.shell.currentWidget; const k=w && w.sessionContext &&"
            " w.sessionContext.session && w.sessionContext.session.kernel;"
            "return k && k.status === 'idle'",
            90,
            "the kernel",
        )
        for attempt in range(3):  # run-all is ignored while the session is still connecting: ask again
            driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            try:
                wait_for(driver, "return document.querySelector('.sel-test .sel-listener')", 40, "the widget")
                return
            except AssertionError:
                if attempt == 2:
                    driver.save_screenshot(str(screenshots(tmp_path) / "listening_jupyterlab_failed.png"))
                    raise

    def on_disk():
        got = load_results(results, test)
        return got[0] if got else None

    with jupyterlab(tmp_path) as (url, token), chromium(1300, 1100) as driver:
        open_and_run(driver)
        _start(driver, "chloé")
        st = _trial_state(driver)
        assert st["trial"] == "training" and st["keys"] == ["reference", *plan[0]["order"]]
        _switch_keeps_position(driver, st["keys"][2:4])
        _rate_mushra(driver, test, plan[0])
        _next(driver)
        end = time.monotonic() + 20
        while not (on_disk() and "training" in on_disk()["trials"]):
            assert time.monotonic() < end, "the rating did not reach the results file"
            time.sleep(0.2)
        _rate_mushra(driver, test, plan[1])
        driver.execute_script("document.querySelector('.sel-slider').scrollIntoView({block: 'center'})")
        driver.save_screenshot(str(screenshots(tmp_path) / "listening_jupyterlab.png"))
        _next(driver)
        end = time.monotonic() + 20
        while len((on_disk() or {}).get("trials", {})) < 2:
            assert time.monotonic() < end, "the second rating did not reach the results file"
            time.sleep(0.2)
        driver.refresh()  # the page reloaded (or the kernel restarted): re-running the cell resumes from the file
        open_and_run(driver)
        _start(driver, "chloé", returning=True)
        assert _trial_state(driver)["trial"] == plan[2]["trial"]
        _rate_mushra(driver, test, plan[2])
        _next(driver)
        wait_for(driver, "return document.querySelector('.sel-test').dataset.screen === 'done'", 20, "the end")
        end = time.monotonic() + 20
        while not (on_disk() or {}).get("done"):
            assert time.monotonic() < end, "the last rating did not reach the results file"
            time.sleep(0.2)
    assert set(on_disk()["trials"]) == {t.id for t in test.trials}


def test_evil_name_page_renders(tmp_path):
    from conftest import synthetic_table
    from test_page import EVIL

    table = synthetic_table(tmp_path / "data", n_paired=2, n_blind=0, names=[EVIL, "b.wav"])
    test = build_test(table, tmp_path / "t", kind="mushra", n_items=1, seed=0, title="<i>x</i> & co")
    with chromium(1000, 700) as driver:
        driver.get((tmp_path / "t" / "listening_test.html").as_uri())
        wait_for(driver, "return document.querySelector('.sel-test[data-screen=start]')", 20, "the page")
        got = driver.execute_script("""const d = JSON.parse(document.getElementById('sel-data').textContent);
            return [document.scripts.length, document.title, d.test.id,
                    document.querySelector('.sel-title').textContent];""")
    assert got == [2, "<i>x</i> & co", test.id, "<i>x</i> & co"]
