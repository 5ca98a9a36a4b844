"""Strict validation of a listening-test result: every problem found, one message each.

A result is ``{"format", "test_id", "listener", "kind", "headphone_check", "started", "updated", "done",
"trials": {trial id: {"order": [stimulus ids as shown], "ratings": {...}, "time"}}}``. The ratings of a trial
are checked by its test type (:mod:`.kinds`): a MUSHRA rating is a number 0..100 (``true`` is not a number
here, although Python counts it as 1), P.835 ``{"SIG", "BAK", "OVRL"}`` integers 1..5, CCR ``{"score"}`` an
integer -3..3, ACR ``{"score"}`` an integer 1..5.

:func:`result_problems` lists the problems (empty: valid); :func:`check_result` raises one
:class:`ResultInvalid` carrying them all, or :class:`ResultMismatch` when the result is for another test.

Examples
--------
>>> result_problems({"trials": []}, test, source="anna.json")
['anna.json: format is None, expected ...', ..., 'anna.json: trials is a list, expected an object ...']
"""

from __future__ import annotations

from .design import TestDefinition
from .kinds import test_type

RESULT_FORMAT = "setoolkit-listening-result/1"


class ResultMismatch(ValueError):
    """A result file belongs to another test definition (another id) than the one it is loaded for."""


class ResultInvalid(ValueError):
    """A result breaks the schema; ``problems`` holds one message per problem (also in ``str()``)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source, self.problems = source, list(problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))


def _type_name(v) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(v), type(v).__name__)


def trial_problems(test: TestDefinition, trial_id, entry, where: str) -> list[str]:
    """Problems of one trial entry ``{"order", "ratings", "time"}`` of ``test``."""
    trials = {t.id: t for t in test.trials}
    if not isinstance(trial_id, str) or trial_id not in trials:
        return [f"{where}: trial {trial_id!r} is not in test {test.id[:12]}"]
    if not isinstance(entry, dict):
        return [f"{where}: trial {trial_id!r} is {_type_name(entry)}, expected an object with order and ratings"]
    ids = [s.id for s in trials[trial_id].stimuli]
    out = []
    order = entry.get("order")
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(ids) or len(order) != len(ids):
        out.append(f"{where}: trial {trial_id!r} order {order!r} is not a list of its {len(ids)} stimuli")
    ratings = entry.get("ratings")
    if not isinstance(ratings, dict):
        out.append(f"{where}: trial {trial_id!r} ratings is {_type_name(ratings)}, expected an object")
    else:
        out += test_type(test.kind).rating_problems(ratings, ids, f"{where}: trial {trial_id!r}")
    if "time" in entry and not isinstance(entry["time"], str):
        out.append(f"{where}: trial {trial_id!r} time {entry['time']!r} is not an ISO date string")
    return out


def result_problems(result, test: TestDefinition, *, source: str = "result") -> list[str]:
    """Every schema problem of ``result`` against ``test``, one message each naming ``source``; ``[]`` when valid.

    A result for another test id is a problem too (see :func:`check_result` for the distinct exception)."""
    if not isinstance(result, dict):
        return [f"{source}: the file holds {_type_name(result)}, expected a result object"]
    out = []
    if result.get("format") != RESULT_FORMAT:
        out.append(f"{source}: format is {result.get('format')!r}, expected {RESULT_FORMAT!r}")
    if result.get("test_id") != test.id:
        out.append(f"{source}: test_id is {result.get('test_id')!r}, not {test.id!r}")
    listener = result.get("listener")
    if not isinstance(listener, str) or not listener.strip():
        out.append(f"{source}: listener is {listener!r}, expected a non-empty string")
    if "done" in result and not isinstance(result["done"], bool):
        out.append(f"{source}: done is {result['done']!r}, expected true or false")
    hp = result.get("headphone_check", {})
    if not isinstance(hp, dict):
        out.append(f"{source}: headphone_check is {_type_name(hp)}, expected an object")
    elif "correct" in hp and not isinstance(hp["correct"], bool):
        out.append(f"{source}: headphone_check.correct is {hp['correct']!r}, expected true or false")
    trials = result.get("trials", {})
    if not isinstance(trials, dict):
        out.append(f"{source}: trials is {_type_name(trials)}, expected an object {{trial id: {{order, ratings}}}}")
        return out
    for tid, entry in trials.items():
        out += trial_problems(test, tid, entry, source)
    return out


def check_result(result, test: TestDefinition, *, source: str = "result") -> dict:
    """``result`` when it is a valid result of ``test``; :class:`ResultMismatch` when it belongs to another test
    (results of different definitions are never merged), else :class:`ResultInvalid` listing every problem."""
    if isinstance(result, dict) and result.get("format") == RESULT_FORMAT and result.get("test_id") != test.id:
        raise ResultMismatch(
            f"{source}: the result is for test {result.get('test_id')!r}, not for test "
            f"{test.id!r}; results of different test definitions are never merged"
        )
    problems = result_problems(result, test, source=source)
    if problems:
        raise ResultInvalid(source, problems)
    return result
