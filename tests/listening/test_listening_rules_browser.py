"""Issue 31 in a real browser (headless Chromium): the page is blind (its source and DOM name no system, seed,
secret, item or reference position) and the rules hold (headphone check must pass, attempts recorded; MUSHRA
Save only when every signal was played and rated and one is at 100; ACR ratings only after the sample ended).
"""

from __future__ import annotations

import json
import re

import pytest
from browser_helpers import chromium, screenshots, wait_for
from browser_helpers import pytestmark as browser_marks
from test_listening_browser import _hear_to_end, _next, _play_all, _stored, _trial_state

from setoolkit.listening import build_test, listener_plan, ratings_frame
from setoolkit.listening.results import check_result
from setoolkit.listening.secret import test_secret

pytestmark = browser_marks


@pytest.fixture(scope="module")
def blind_mushra(tmp_path_factory, table):
    d = tmp_path_factory.mktemp("blind_mushra")
    return d, build_test(table, d, kind="mushra", n_items=2, seed=4321, max_seconds=2.5)


def _leaks(text: str, folder, test) -> list[str]:
    words = {*test.systems, "noisy", "anchor_3.5k", "anchor_7k", "synth_pairs", "synth_blind", test_secret(folder)}
    words |= {t.file for t in test.trials} | {s.sha256 for t in test.trials for s in t.stimuli}
    found = [w for w in words if w and w in text]
    if re.search(r'"(seed|system|systems|sha256|dataset)"\s*:', text) or "4321" in text:
        found.append("seed/system key")
    return found


def _set(driver, values: dict):
    driver.execute_script(
        """for (const [id, v] of Object.entries(arguments[0])) {
        const s = document.querySelector(`.sel-slider[data-stim="${id}"]`);
        s.value = v; s.dispatchEvent(new Event('input', {bubbles: true})); }""",
        values,
    )


def test_page_source_and_dom_are_blind(blind_mushra):
    folder, test = blind_mushra
    page = (folder / "listening_test.html").read_text()
    assert _leaks(page, folder, test) == []
    data = json.loads(re.search(r'id="sel-data">(.*?)</script>', page, re.S).group(1))
    for t, pub in zip(test.trials, data["test"]["trials"]):
        ids = [s["id"] for s in pub["stimuli"]]
        assert ids == sorted(ids) and set(ids) == {s.id for s in t.stimuli}  # the order carries nothing
    hidden_first = {t.stimuli[0].id for t in test.trials}  # the definition's first stimulus: the hidden reference
    with chromium(1200, 900) as driver:
        driver.get((folder / "listening_test.html").as_uri())
        wait_for(driver, "return document.querySelector('.sel-test[data-screen=start]')", 20, "the page")
        driver.find_element("css selector", ".sel-listener").send_keys("zoe")
        driver.execute_script("document.querySelector('.sel-hp-answers input[value=left]').click()")
        driver.find_element("css selector", ".sel-start").click()
        wait_for(driver, "return document.querySelector('.sel-test').dataset.screen === 'trial'", 10, "a trial")
        dom = driver.execute_script("return document.documentElement.outerHTML")
        keys = _trial_state(driver)["keys"]
    assert _leaks(dom, folder, test) == []
    assert keys[0] == "reference"  # the open reference is labelled; the hidden one is one of the letters
    positions = {p["order"].index(next(iter(hidden_first & set(p["order"])))) for w in "abcdefgh"
                 for p in listener_plan(test, w)}  # fmt: skip
    assert len(positions) > 2  # the hidden reference moves between trials and listeners


def test_rules_hold_before_save(blind_mushra, tmp_path):
    folder, test = blind_mushra
    plan = listener_plan(test, "yann")
    with chromium(1200, 1000) as driver:
        driver.get((folder / "listening_test.html").as_uri())
        wait_for(driver, "return document.querySelector('.sel-test[data-screen=start]')", 20, "the page")
        driver.find_element("css selector", ".sel-listener").send_keys("yann")
        driver.execute_script("document.querySelector('.sel-hp-answers input[value=right]').click()")
        driver.find_element("css selector", ".sel-start").click()  # wrong ear: the test does not start
        root = driver.find_element("css selector", ".sel-test")
        assert root.get_attribute("data-screen") == "start" and root.get_attribute("data-hp-attempts") == "1"
        assert "not where the tone is" in driver.find_element("css selector", ".sel-hp-note").text
        assert driver.find_element("css selector", ".sel-start").get_attribute("disabled")
        driver.save_screenshot(str(screenshots(tmp_path) / "listening_headphone_retry.png"))
        driver.execute_script("document.querySelector('.sel-hp-answers input[value=left]').click()")
        driver.find_element("css selector", ".sel-start").click()
        wait_for(driver, "return document.querySelector('.sel-test').dataset.screen === 'trial'", 10, "a trial")

        entry = plan[0]
        save = driver.find_element("css selector", ".sel-next")
        sliders = driver.find_elements("css selector", ".sel-slider")
        assert all(s.get_attribute("disabled") for s in sliders) and save.get_attribute("disabled")
        _set(driver, {sid: 60 for sid in entry["order"]})  # not played: a disabled slider takes no rating
        assert save.get_attribute("disabled") and "not played" in root.get_attribute("data-missing")
        _play_all(driver)
        _set(driver, {sid: 60 for sid in entry["order"]})  # every slider at 60: none at 100
        assert save.get_attribute("disabled") and "at least one" in root.get_attribute("data-missing")
        driver.save_screenshot(str(screenshots(tmp_path) / "listening_mushra_rule_100.png"))
        _set(driver, {entry["order"][2]: 100})
        assert not save.get_attribute("disabled") and root.get_attribute("data-missing") == ""
        _next(driver)
        saved = _stored(driver, test, "yann")
    hp = saved["headphone_check"]
    assert [a["answer"] for a in hp["attempts"]] == ["right", "left"] and hp["passed"] and hp["correct"]
    assert saved["trials"][entry["trial"]]["ratings"][entry["order"][2]] == 100


def test_acr_end_to_end_with_ratings_after_the_end(table, tmp_path):
    folder = tmp_path / "acr"
    test = build_test(table, folder, kind="acr", n_items=1, seed=2, max_seconds=1.5, training=False)
    plan = listener_plan(test, "wu")
    with chromium(1100, 800) as driver:
        driver.get((folder / "listening_test.html").as_uri())
        wait_for(driver, "return document.querySelector('.sel-test[data-screen=start]')", 20, "the page")
        driver.find_element("css selector", ".sel-listener").send_keys("wu")
        driver.execute_script("document.querySelector('.sel-hp-answers input[value=left]').click()")
        driver.find_element("css selector", ".sel-start").click()
        for k, entry in enumerate(plan):
            wait_for(driver, f"return document.querySelector('.sel-test').dataset.trial === '{entry['trial']}'", 10)
            assert driver.execute_script("return document.querySelector('fieldset.sel-acr input').disabled")
            _hear_to_end(driver)
            driver.execute_script(f"document.querySelector('fieldset.sel-acr input[value=\"{5 - k % 3}\"]').click()")
            if k == 0:
                driver.save_screenshot(str(screenshots(tmp_path) / "listening_acr_page.png"))
            _next(driver)
        wait_for(driver, "return document.querySelector('.sel-test').dataset.screen === 'done'", 10, "the end")
        result = _stored(driver, test, "wu")
    check_result(result, test)
    assert result["done"] and set(ratings_frame([result], test)["scale"]) == {"ACR"}


def test_the_100_rule_can_be_switched_off(table, tmp_path):
    folder = tmp_path / "relaxed"
    test = build_test(table, folder, kind="mushra", n_items=1, seed=3, max_seconds=1.5, training=False,
                      rules={"require_max": False})  # fmt: skip
    entry = listener_plan(test, "xu")[0]
    with chromium(1200, 900) as driver:
        driver.get((folder / "listening_test.html").as_uri())
        wait_for(driver, "return document.querySelector('.sel-test[data-screen=start]')", 20, "the page")
        driver.find_element("css selector", ".sel-listener").send_keys("xu")
        driver.execute_script("document.querySelector('.sel-hp-answers input[value=left]').click()")
        driver.find_element("css selector", ".sel-start").click()
        wait_for(driver, "return document.querySelector('.sel-test').dataset.screen === 'trial'", 10, "a trial")
        _play_all(driver)
        _set(driver, {sid: 60 for sid in entry["order"][:-1]})
        assert driver.find_element("css selector", ".sel-next").get_attribute("disabled")  # one not rated yet
        _set(driver, {entry["order"][-1]: 60})
        assert not driver.find_element("css selector", ".sel-next").get_attribute("disabled")
