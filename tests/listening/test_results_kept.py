"""Results never lost (issue 31): partial after complete, duplicate listener files, truncated files, strict
schema with one error per problem, concurrent atomic writes through record_rating, headphone attempts."""

import json
import shutil
import threading

import pytest

from setoolkit.listening import (
    ResultInvalid,
    ResultWarning,
    collect_results,
    import_result,
    listener_plan,
    listener_result,
    load_results,
    ratings_frame,
    record_headphone_check,
    record_rating,
    save_result,
    simulate_results,
    system_scores,
)
from setoolkit.listening.results import new_result, record_trial, result_path


def _complete(test, who="anna", seed=0):
    r = simulate_results(test, 1, seed=seed)[0]
    return {**r, "listener": who}


def test_partial_download_after_a_complete_one_keeps_every_trial(mushra, tmp_path):
    _, test = mushra
    full = _complete(test)
    assert len(full["trials"]) == 4
    save_result(tmp_path / "results", full, test)
    first = next(iter(full["trials"]))
    partial = {**full, "trials": {first: full["trials"][first]}, "done": False}
    (tmp_path / "partial.json").write_text(json.dumps(partial))
    path = import_result(tmp_path / "partial.json", tmp_path / "results", test)
    assert set(json.loads(path.read_text())["trials"]) == set(full["trials"])  # 4 trials, not 1
    [back] = load_results(tmp_path / "results", test)
    assert back["trials"] == full["trials"] and back["done"]


def test_newest_rating_per_trial_wins_and_the_conflict_is_reported(mushra, tmp_path):
    _, test = mushra
    full = _complete(test)
    tid = next(t for t in full["trials"] if t != "training")
    entry = full["trials"][tid]
    newer = {**entry, "ratings": {k: 100 for k in entry["ratings"]}, "time": "2999-01-01T00:00:00+00:00"}
    save_result(tmp_path, full, test)
    shutil.copy(result_path(tmp_path, test.id, "anna"), tmp_path / f"{test.id}__anna (1).json")
    (tmp_path / f"{test.id}__anna (2).json").write_text(json.dumps({**full, "trials": {tid: newer}}))
    got = collect_results(tmp_path, test)
    assert [r["listener"] for r in got.results] == ["anna"]
    assert got.results[0]["trials"][tid]["ratings"] == newer["ratings"]
    assert len(got.conflicts) == 1 and got.conflicts[0]["trial"] == tid
    assert got.conflicts[0]["dropped"]["ratings"] == entry["ratings"]
    assert any("3 results files" in w and "one listener" in w for w in got.warnings)
    assert any("differently" in w and tid in w for w in got.warnings)


def test_a_duplicate_download_is_one_listener(mushra, tmp_path):
    _, test = mushra
    results = simulate_results(test, 3, effects={"sysA": 80, "sysB": 60}, seed=3)
    for r in results:
        save_result(tmp_path, r, test)
    once = system_scores(ratings_frame(load_results(tmp_path, test), test))
    shutil.copy(result_path(tmp_path, test.id, "L01"), tmp_path / f"{test.id}__L01 (1).json")
    with pytest.warns(ResultWarning, match="'L01' has 2 results files"):
        again = load_results(tmp_path, test)
    assert [r["listener"] for r in again] == ["L01", "L02", "L03"]
    assert system_scores(ratings_frame(again, test)).equals(once)  # counted once, not twice


def test_a_truncated_file_is_skipped_with_a_warning_naming_it(mushra, tmp_path):
    _, test = mushra
    for r in simulate_results(test, 2, seed=1):
        save_result(tmp_path, r, test)
    bad = result_path(tmp_path, test.id, "L02")
    bad.write_text(bad.read_text()[:200])
    got = collect_results(tmp_path, test)
    assert [r["listener"] for r in got.results] == ["L01"] and got.skipped == [bad]
    assert str(bad) in got.warnings[0] and "truncated or not JSON" in got.warnings[0]


def test_schema_is_strict_with_one_error_per_problem(mushra, tmp_path):
    _, test = mushra
    entry = listener_plan(test, "c")[1]
    ratings = {sid: 50 for sid in entry["order"]}
    a, b = entry["order"][:2]
    ratings[a], ratings[b] = True, "80"  # true is not a rating of 1
    res = record_trial(new_result(test, "c"), entry["trial"], entry["order"], ratings)
    with pytest.raises(ResultInvalid) as err:
        save_result(tmp_path, res, test)
    assert len(err.value.problems) == 2 and "True" in err.value.problems[0] and "'80'" in err.value.problems[1]
    as_list = {**new_result(test, "c"), "trials": [], "done": "yes", "listener": ""}
    with pytest.raises(ResultInvalid) as err:  # not an AttributeError
        save_result(tmp_path, as_list, test)
    text = str(err.value)
    assert "trials is a list" in text and "done is 'yes'" in text and "listener is ''" in text
    assert len(err.value.problems) == 3
    assert not list(tmp_path.glob("*.json"))


def test_p835_and_ccr_ratings_are_integers(p835, ccr, tmp_path):
    for fixture in (p835, ccr):
        _, test = fixture
        entry = listener_plan(test, "d")[1]
        if test.kind == "p835":
            bad = {entry["order"][0]: {"SIG": True, "BAK": 2.5, "OVRL": 6}}
        else:
            bad = {"score": True}
        with pytest.raises(ResultInvalid) as err:
            record_rating(tmp_path, "d", entry["trial"], bad, test=test, results_dir=tmp_path)
        assert len(err.value.problems) == (3 if test.kind == "p835" else 1)


def test_record_rating_from_many_threads_keeps_every_rating(mushra):
    folder, test = mushra
    plan = {who: listener_plan(test, who) for who in ("t1", "t2", "t3")}

    def rate(who, entry):
        record_rating(folder, who, entry["trial"], {sid: 70 for sid in entry["order"]}, order=entry["order"])

    threads = [threading.Thread(target=rate, args=(w, e)) for w, pl in plan.items() for e in pl]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for who in plan:
        back = listener_result(folder, who)
        assert set(back["trials"]) == {t.id for t in test.trials} and back["done"]
    shutil.rmtree(folder / "results")


def test_record_rating_default_order_and_refusals(mushra, tmp_path):
    folder, test = mushra
    entry = listener_plan(test, "eve")[2]
    res = record_rating(folder, "eve", entry["trial"], {s: 60 for s in entry["order"]}, results_dir=tmp_path)
    assert res["trials"][entry["trial"]]["order"] == entry["order"] and not res["done"]
    with pytest.raises(ResultInvalid, match="not in test"):
        record_rating(folder, "eve", "nope", {}, results_dir=tmp_path)
    assert listener_result(folder, "eve", results_dir=tmp_path)["trials"].keys() == {entry["trial"]}


def test_headphone_attempts_are_recorded(mushra, tmp_path):
    folder, _ = mushra
    r = record_headphone_check(folder, "fay", "right", results_dir=tmp_path)
    assert r["headphone_check"]["correct"] is False and not r["headphone_check"]["passed"]
    r = record_headphone_check(folder, "fay", "left", results_dir=tmp_path)
    hp = r["headphone_check"]
    assert hp["passed"] and hp["correct"] and [a["answer"] for a in hp["attempts"]] == ["right", "left"]
    with pytest.raises(ValueError, match="'middle'"):
        record_headphone_check(folder, "fay", "middle", results_dir=tmp_path)
