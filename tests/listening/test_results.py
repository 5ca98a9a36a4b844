"""Result files: atomic writes, resume, refusal of another test's result."""

import json
import os
from pathlib import Path

import pytest

from setoolkit.listening import (
    ResultMismatch,
    ResultWarning,
    listener_plan,
    load_result,
    load_results,
    save_result,
)
from setoolkit.listening.results import new_result, record_trial, result_path


def _files(folder):
    """The folder's files but the per-listener lock files."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def _rate(test, result, entry, value=70):
    return record_trial(result, entry["trial"], entry["order"], {sid: value for sid in entry["order"]})


def test_written_atomically_after_every_rating(mushra, tmp_path, monkeypatch):
    _, test = mushra
    res = new_result(test, "anna/ü")
    plan = listener_plan(test, "anna/ü")
    path = save_result(tmp_path, res, test)
    assert path == result_path(tmp_path, test.id, "anna/ü") and path.name.startswith(test.id + "__anna_")
    replaced = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((Path(a).name, Path(b).name)), real(a, b)))
    for entry in plan[:2]:
        res = _rate(test, res, entry)
        save_result(tmp_path, res, test)
        assert set(json.loads(path.read_text())["trials"]) == {e["trial"] for e in plan[: plan.index(entry) + 1]}
    assert len(replaced) == 2 and all(a != b and a.startswith("." + path.name) for a, b in replaced)
    assert _files(tmp_path) == [path.name]  # no temp file left

    # a crash while writing leaves the previous complete file
    def crash(a, b):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_result(tmp_path, _rate(test, res, plan[2]), test)
    monkeypatch.undo()
    assert len(json.loads(path.read_text())["trials"]) == 2
    assert _files(tmp_path) == [path.name]


def test_resume_from_the_file(mushra, tmp_path):
    _, test = mushra
    plan = listener_plan(test, "ben")
    res = new_result(test, "ben")
    for entry in plan[:2]:
        res = _rate(test, res, entry)
    save_result(tmp_path, res, test)
    back = load_results(tmp_path, test)
    assert [r["listener"] for r in back] == ["ben"]
    remaining = [e["trial"] for e in plan if e["trial"] not in back[0]["trials"]]
    assert remaining == [e["trial"] for e in plan[2:]]


def test_refuses_a_result_of_another_test(mushra, p835, tmp_path):
    _, test = mushra
    _, other = p835
    path = save_result(tmp_path, new_result(other, "anna"), other)
    with pytest.raises(ResultMismatch) as err:
        load_result(path, test)
    assert other.id in str(err.value) and test.id in str(err.value) and "never merged" in str(err.value)
    with pytest.raises(ResultMismatch):
        save_result(tmp_path, new_result(other, "anna"), test)
    assert load_results(tmp_path, test) == []  # another test's file is not merged in
    # a file named for this test holding another test's result is skipped, with a warning naming it
    path.rename(result_path(tmp_path, test.id, "anna"))
    with pytest.warns(ResultWarning, match="never merged") as got:
        assert load_results(tmp_path, test) == []
    assert str(result_path(tmp_path, test.id, "anna")) in str(got[0].message)


def test_bad_ratings_refused(mushra, tmp_path):
    _, test = mushra
    entry = listener_plan(test, "c")[0]
    res = _rate(test, new_result(test, "c"), entry, value=140)
    with pytest.raises(ValueError, match="not a number in 0..100"):
        save_result(tmp_path, res, test)
    res = record_trial(new_result(test, "c"), entry["trial"], entry["order"][:-1], {})
    with pytest.raises(ValueError, match="order"):
        save_result(tmp_path, res, test)
