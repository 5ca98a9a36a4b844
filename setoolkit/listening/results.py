"""Listening-test results: one JSON file per (test, listener), written atomically after every rating.

A result is ``{"format", "test_id", "listener", "kind", "headphone_check": {"answer", "correct"},
"started", "updated", "done", "trials": {trial id: {"order": [stimulus ids as shown], "ratings": {...},
"time"}}}``; MUSHRA ratings are ``{stimulus id: 0..100}``, P.835 ``{stimulus id: {"SIG", "BAK", "OVRL":
1..5}}``, CCR ``{"score": -3..3}`` for the second stimulus of ``order`` against the first. The page's
download and the widget's file have the same format.

Files are named ``<test id>__<listener>.json`` (the listener id made filename-safe, with a short hash when
that changed it) and written by :func:`.files.atomic_write_json`; a crash leaves the previous complete file.
A result for another test definition is refused (:class:`ResultMismatch` names both ids), never merged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

from .design import TestDefinition
from .files import atomic_write_json

RESULT_FORMAT = "setoolkit-listening-result/1"


class ResultMismatch(ValueError):
    """A result file belongs to another test definition (another id) than the one it is loaded for."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def listener_slug(listener: str) -> str:
    """Filename-safe form of a listener id (``[A-Za-z0-9_.-]``, plus an 8-hex hash when changed)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", listener)[:40].strip(".") or "_"
    if slug != listener:
        slug += "-" + hashlib.sha256(listener.encode("utf-8")).hexdigest()[:8]
    return slug


def result_path(results_dir: str | os.PathLike, test_id: str, listener: str) -> Path:
    """``results_dir/<test id>__<listener slug>.json``."""
    return Path(results_dir) / f"{test_id}__{listener_slug(listener)}.json"


def new_result(test: TestDefinition, listener: str) -> dict:
    """An empty result of ``listener`` for ``test``."""
    if not listener:
        raise ValueError("new_result: listener id is empty")
    return {
        "format": RESULT_FORMAT,
        "test_id": test.id,
        "listener": listener,
        "kind": test.kind,
        "headphone_check": {},
        "started": _now(),
        "updated": _now(),
        "done": False,
        "trials": {},
    }


def check_result(result: dict, test: TestDefinition, *, source: str = "result") -> dict:
    """``result`` if it belongs to ``test`` and its ratings are in range; else :class:`ResultMismatch`
    (another test id) or ``ValueError`` naming ``source`` and what is wrong."""
    if result.get("format") != RESULT_FORMAT:
        raise ValueError(f"{source}: not a listening result (format={result.get('format')!r})")
    if result.get("test_id") != test.id:
        raise ResultMismatch(
            f"{source}: the result is for test {result.get('test_id')!r}, not for test "
            f"{test.id!r}; results of different test definitions are never merged"
        )
    if not result.get("listener"):
        raise ValueError(f"{source}: no listener id")
    trials = {t.id: t for t in test.trials}
    for tid, tr in result.get("trials", {}).items():
        if tid not in trials:
            raise ValueError(f"{source}: trial {tid!r} is not in test {test.id[:12]}")
        ids = {s.id for s in trials[tid].stimuli}
        if set(tr.get("order", [])) != ids:
            raise ValueError(f"{source}: trial {tid!r} order {tr.get('order')} is not its stimuli {sorted(ids)}")
        _check_ratings(test.kind, tr.get("ratings", {}), ids, f"{source}: trial {tid!r}")
    return result


def _check_ratings(kind: str, ratings: dict, ids: set, where: str) -> None:
    if kind == "ccr":
        if ratings.get("score") not in (-3, -2, -1, 0, 1, 2, 3):
            raise ValueError(f"{where}: CCR score {ratings.get('score')!r} not in -3..3")
        return
    if set(ratings) != ids:
        raise ValueError(f"{where}: ratings for {sorted(ratings)}, expected {sorted(ids)}")
    for sid, v in ratings.items():
        if kind == "mushra" and not (isinstance(v, (int, float)) and 0 <= v <= 100):
            raise ValueError(f"{where}: MUSHRA rating {v!r} of {sid} not in 0..100")
        if kind == "p835" and not (
            isinstance(v, dict) and set(v) == {"SIG", "BAK", "OVRL"} and all(x in (1, 2, 3, 4, 5) for x in v.values())
        ):
            raise ValueError(f"{where}: P.835 rating {v!r} of {sid} needs SIG, BAK, OVRL in 1..5")


def save_result(results_dir: str | os.PathLike, result: dict, test: TestDefinition) -> Path:
    """Check ``result`` against ``test`` and write it atomically; returns the file."""
    check_result(result, test)
    return atomic_write_json(result_path(results_dir, test.id, result["listener"]), result)


def load_result(path: str | os.PathLike, test: TestDefinition) -> dict:
    """The result in ``path``, checked against ``test`` (:class:`ResultMismatch` for another test)."""
    return check_result(json.loads(Path(path).read_text(encoding="utf-8")), test, source=str(path))


def load_results(results_dir: str | os.PathLike, test: TestDefinition) -> list[dict]:
    """Every listener's result for ``test`` in ``results_dir`` (files named by its id), sorted by listener.

    Files of other tests in the folder are not read; a file named for this test holding another test's
    result raises :class:`ResultMismatch`.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        return []
    out = [load_result(p, test) for p in sorted(folder.glob(f"{test.id}__*.json"))]
    return sorted(out, key=lambda r: r["listener"])


def import_result(path: str | os.PathLike, results_dir: str | os.PathLike, test: TestDefinition) -> Path:
    """Check a result downloaded from the offline page against ``test`` and store it in ``results_dir``
    under its canonical name; returns that path (:class:`ResultMismatch` for another test's result)."""
    return save_result(results_dir, load_result(path, test), test)


def record_trial(result: dict, trial_id: str, order: list[str], ratings: dict) -> dict:
    """A copy of ``result`` with ``trial_id`` rated (``order`` as shown, ``ratings``); ``updated`` set."""
    trials = {**result.get("trials", {}), trial_id: {"order": list(order), "ratings": ratings, "time": _now()}}
    return {**result, "trials": trials, "updated": _now()}
