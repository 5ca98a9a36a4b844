"""``setoolkit listen serve`` in real browsers: three headless-Chromium listeners at once against the real server
process, each through their own invitation link; every rating on disk, a reload resumes, the completion code
comes once everything is saved, and the admin page shows them. Screenshots go to ``$SETOOLKIT_SCREENSHOTS``
(default: the test's tmp folder)."""

from __future__ import annotations

import json
import signal
import threading

import httpx
from browser_helpers import chromium, screenshots, wait_for
from browser_helpers import pytestmark as browser_marks
from serve_helpers import free_port, served_copy, server_process

from setoolkit.listening.results import result_path
from setoolkit.listening.secret import completion_code
from setoolkit.listening.server import invite

pytestmark = browser_marks
LISTENERS = ("L01", "L02", "L03")

SCREEN = "const r = document.querySelector('.sel-test'); return r && r.dataset.screen;"
RATE_ALL = """
const [first] = arguments;
const sliders = [...document.querySelectorAll('.sel-test .sel-slider')];
const out = {};
sliders.forEach((s, i) => {
  s.value = String(i === 0 ? first : 10 + 13 * i);
  s.dispatchEvent(new Event('input', {bubbles: true}));
  out[s.dataset.stim] = Number(s.value);
});
return out;
"""


def _start(driver, listener: str, side: str, *, returning: bool = False) -> None:
    from selenium.webdriver.common.by import By

    wait_for(driver, "return window.selServer && window.selServer.ready", 60, "the page and the listener's state")
    box = driver.find_element(By.CSS_SELECTOR, ".sel-listener")
    assert box.get_attribute("value") == listener and box.get_attribute("readonly") is not None
    if returning:
        assert "Welcome back" in driver.find_element(By.CSS_SELECTOR, ".sel-note").text
    driver.find_element(By.CSS_SELECTOR, ".sel-tone").click()
    driver.execute_script(f"document.querySelector('.sel-hp-answers input[value={side}]').click()")
    driver.find_element(By.CSS_SELECTOR, ".sel-start").click()
    wait_for(driver, "return document.querySelector('.sel-test').dataset.screen !== 'start'", 20, "the first trial")


def _rate_trial(driver) -> tuple[str, dict]:
    """Play every signal of the MUSHRA trial on screen, rate them (the first 100), save; (trial id, ratings)."""
    from selenium.webdriver.common.by import By

    trial = driver.execute_script("return document.querySelector('.sel-test').dataset.trial")
    for b in driver.find_elements(By.CSS_SELECTOR, ".sel-test .sel-pick"):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", b)
        b.click()
    wait_for(driver, "return [...document.querySelectorAll('.sel-slider')].every(s => !s.disabled)", 20, "sliders")
    nxt = driver.find_element(By.CSS_SELECTOR, ".sel-next")
    assert nxt.get_attribute("disabled") is not None  # nothing rated yet: Save is off
    ratings = driver.execute_script(RATE_ALL, 100)
    wait_for(driver, "return !document.querySelector('.sel-next').disabled", 10, "Save enabled")
    driver.execute_script("document.querySelector('.sel-next').click()")
    wait_for(driver, f"return document.querySelector('.sel-test').dataset.trial !== {json.dumps(trial)} || "
             "document.querySelector('.sel-test').dataset.screen === 'done'", 20, "the next trial")  # fmt: skip
    return trial, ratings


def _listener(base, test, d, listener, token, shots, rated, errors) -> None:
    try:
        with chromium(width=1100, height=900) as driver:
            driver.get(f"{base}/l/{token}/")
            _start(driver, listener, test.headphone_side)
            mine = {}
            for k in range(len(test.trials)):
                if listener == "L01" and k == 2:  # a reload mid-test: the page resumes from the server
                    wait_for(driver, "return window.selServer.queue.pending() === 0", 30, "saved before the reload")
                    driver.refresh()
                    _start(driver, listener, test.headphone_side, returning=True)
                if k == 1:
                    driver.save_screenshot(str(shots / f"served_{listener}_trial.png"))
                trial, ratings = _rate_trial(driver)
                mine[trial] = ratings
            wait_for(driver, "return document.querySelector('.sel-test .sel-code')", 30, "the completion code")
            code = driver.execute_script("return document.querySelector('.sel-code').textContent")
            assert code == completion_code(d, listener, test_id=test.id)
            status = driver.execute_script("return document.getElementById('sel-save-status').dataset.state")
            assert status == "saved"
            driver.save_screenshot(str(shots / f"served_{listener}_done.png"))
            rated[listener] = mine
    except BaseException as exc:
        errors.append(f"{listener}: {exc!r}")


def test_three_chromium_listeners_at_once_every_rating_on_disk(mushra, tmp_path):
    src, test = mushra
    d = served_copy(src, tmp_path / "mushra")
    inv, _ = invite(d, test.id, 0, names=LISTENERS)
    port = free_port()
    shots = screenshots(tmp_path)
    rated: dict = {}
    errors: list[str] = []
    with server_process(d, port):
        base = f"http://127.0.0.1:{port}"
        threads = [
            threading.Thread(target=_listener, args=(base, test, d, i, inv.listeners[i], shots, rated, errors))
            for i in LISTENERS
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        assert not errors, errors
        admin = {"Authorization": f"Bearer {inv.admin}"}
        summary = httpx.get(f"{base}/admin/api/progress", headers=admin).json()["summary"]
        with chromium(width=1100, height=700) as driver:
            driver.get(f"{base}/admin#{inv.admin}")
            wait_for(driver, "return document.getElementById('sel-admin').dataset.loaded", 30, "the admin table")
            rows = driver.execute_script(
                "return [...document.querySelectorAll('tr[data-listener]')].map(r => r.dataset.listener)"
            )
            driver.save_screenshot(str(shots / "served_admin.png"))
    assert rows == list(LISTENERS)
    assert summary["started"] == summary["finished"] == 3
    for listener in LISTENERS:
        on_disk = json.loads(result_path(d / "results", test.id, listener).read_text())
        assert {t: v["ratings"] for t, v in on_disk["trials"].items()} == rated[listener], listener
        attempts = on_disk["headphone_check"]["attempts"]
        assert len(attempts) == (2 if listener == "L01" else 1) and all(a["correct"] for a in attempts)


def test_a_rating_given_while_the_server_is_down_is_kept_and_sent_when_it_is_back(mushra, tmp_path):
    """The page's queue: a save that meets a dead server shows 'retrying', stays in the browser and reaches the
    disk once the server is back (the listener does not notice beyond the status line)."""
    src, test = mushra
    d = served_copy(src, tmp_path / "mushra")
    inv, _ = invite(d, test.id, 0, names=["L01"])
    port = free_port()
    shots = screenshots(tmp_path)
    path = result_path(d / "results", test.id, "L01")
    with chromium(width=1100, height=900) as driver:
        with server_process(d, port) as first:
            driver.get(f"http://127.0.0.1:{port}/l/{inv.listeners['L01']}/")
            _start(driver, "L01", test.headphone_side)
            before = dict([_rate_trial(driver)])
            wait_for(driver, "return window.selServer.queue.pending() === 0", 30, "the first trial saved")
            first.send_signal(signal.SIGKILL)
            first.wait()
        trial, ratings = _rate_trial(driver)  # rated while the server is down
        wait_for(driver, "return document.getElementById('sel-save-status').dataset.state === 'retrying'", 30)
        driver.save_screenshot(str(shots / "served_retrying.png"))
        assert trial not in json.loads(path.read_text())["trials"]
        pending = driver.execute_script("return Object.keys(localStorage).filter(k => k.includes('pending'))")
        assert len(pending) == 1  # kept in the browser meanwhile
        with server_process(d, port):
            wait_for(driver, "return window.selServer.queue.pending() === 0", 60, "the pending save sent")
            assert driver.execute_script("return document.getElementById('sel-save-status').dataset.state") == "saved"
    on_disk = {t: v["ratings"] for t, v in json.loads(path.read_text())["trials"].items()}
    assert on_disk == {**before, trial: ratings}
