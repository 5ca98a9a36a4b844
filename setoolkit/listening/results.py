"""Listening-test results: one JSON file per (test, listener), never losing a rating.

Files are ``<results dir>/<test id>__<listener slug>.json`` (the listener id made filename-safe, with a short
hash when that changed it; the results dir is ``<test dir>/results`` by default), in the format of
:mod:`.schema`, written atomically (:func:`.files.atomic_write_json`) under a per-listener lock, so concurrent
writers (a server's workers, a widget) never lose each other's ratings.

For a server (``setoolkit listen serve``) or any other collector, the stable API is:

* :func:`record_rating` ``(test_dir, listener, trial_id, ratings, order=...)``: check one trial's ratings and
  write them into the listener's file atomically; returns the listener's whole result.
* :func:`record_headphone_check` ``(test_dir, listener, answer)``: one headphone-check attempt (every attempt
  kept; ``correct`` is the last one's, ``passed`` whether any was right).
* :func:`listener_result` ``(test_dir, listener)``: the listener's result so far (to resume), or ``None``.
* :func:`collect_results` ``(results_dir, test)``: every listener's result, merged, with the warnings and
  conflicts met; :func:`load_results` is its list of results (warnings issued as :class:`ResultWarning`).

Merging (:func:`merge_results`): results of one listener (a partial download after a complete one, a browser's
``... (1).json`` re-download) are one listener: trials are united, the newest rating of a trial wins and a
trial rated differently in two files is reported as a conflict. A file that cannot be read (truncated,
not JSON, not a valid result, another test's) is skipped with a warning naming it; nothing raises.

Examples
--------
>>> record_rating("listening/mushra", "anna", "t01", {"s3f…": 100, ...})     # one trial, saved atomically
>>> got = collect_results("listening/mushra/results", test); got.results, got.warnings
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .build import load_test
from .design import TestDefinition, listener_plan
from .files import atomic_write_json
from .schema import RESULT_FORMAT, ResultInvalid, ResultMismatch, check_result, trial_problems

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the in-process lock only
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "RESULT_FORMAT",
    "Collected",
    "ResultInvalid",
    "ResultMismatch",
    "ResultWarning",
    "check_result",
    "collect_results",
    "import_result",
    "listener_result",
    "load_result",
    "load_results",
    "merge_results",
    "record_headphone_check",
    "record_rating",
    "save_result",
]

RESULTS = "results"


class ResultWarning(UserWarning):
    """A results file skipped, a listener's files merged, or a trial rated differently in two files."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


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
    if not isinstance(listener, str) or not listener.strip():
        raise ValueError(f"new_result: listener id {listener!r} is empty")
    now = _now()
    return {
        "format": RESULT_FORMAT,
        "test_id": test.id,
        "listener": listener,
        "kind": test.kind,
        "headphone_check": {},
        "started": now,
        "updated": now,
        "done": False,
        "trials": {},
    }


def record_trial(result: dict, trial_id: str, order: Sequence[str], ratings: dict, *, when: str | None = None) -> dict:
    """A copy of ``result`` with ``trial_id`` rated (``order`` as shown, ``ratings``, at ``when``)."""
    when = when or _now()
    trials = {**result.get("trials", {}), trial_id: {"order": list(order), "ratings": ratings, "time": when}}
    return {**result, "trials": trials, "updated": when}


# ------------------------------------------------------------------------------------------ merging


def _newer(a: dict, b: dict) -> bool:
    """Trial entry ``b`` is at least as new as ``a`` (ISO times; a missing time is the oldest)."""
    return str(b.get("time") or "") >= str(a.get("time") or "")


def merge_results(results: Sequence[dict], *, sources: Sequence[str] | None = None) -> tuple[dict, list[dict]]:
    """One result from several of the same listener and test: trials united, the newest rating per trial.

    Returns ``(merged, conflicts)``; a conflict ``{"listener", "trial", "kept", "dropped"}`` (each ``{"source",
    "time", "ratings"}``) is a trial rated differently in two results. ``started``: the earliest; ``updated``:
    the latest; ``headphone_check``: attempts united (by time), ``passed`` if any passed. ``sources``: names of
    the results (default ``#0``, ``#1``...), used in the conflicts.
    """
    if not results:
        raise ValueError("merge_results: nothing to merge")
    sources = list(sources) if sources is not None else [f"#{i}" for i in range(len(results))]
    merged = dict(results[0])
    trials: dict[str, dict] = {}
    origin: dict[str, str] = {}
    conflicts: list[dict] = []
    for res, src in zip(results, sources):
        for tid, entry in res.get("trials", {}).items():
            old = trials.get(tid)
            if old is not None and old["ratings"] != entry["ratings"]:
                keep_new = _newer(old, entry)
                kept, dropped = (entry, old) if keep_new else (old, entry)
                ks, ds = (src, origin[tid]) if keep_new else (origin[tid], src)
                seen = [c for c in conflicts if c["trial"] == tid and c["dropped"]["ratings"] == dropped["ratings"]]
                if seen:  # the same older rating in another copy: one conflict, its sources listed
                    seen[0]["dropped"]["source"] += f", {ds}"
                    seen[0]["kept"] = {"source": ks, "time": kept.get("time"), "ratings": kept["ratings"]}
                else:
                    conflicts.append(
                        {
                            "listener": res.get("listener"),
                            "trial": tid,
                            "kept": {"source": ks, "time": kept.get("time"), "ratings": kept["ratings"]},
                            "dropped": {"source": ds, "time": dropped.get("time"), "ratings": dropped["ratings"]},
                        }
                    )
            if old is None or _newer(old, entry):
                trials[tid], origin[tid] = entry, src
    times = [str(r["started"]) for r in results if r.get("started")]
    updated = [str(r["updated"]) for r in results if r.get("updated")]
    attempts = sorted(
        {json.dumps(a, sort_keys=True) for r in results for a in r.get("headphone_check", {}).get("attempts", [])}
    )
    hp = max((r.get("headphone_check") or {} for r in results), key=lambda h: (bool(h.get("passed")), len(h)))
    hp = {
        **hp,
        **({"attempts": sorted(map(json.loads, attempts), key=lambda a: a.get("time", ""))} if attempts else {}),
    }
    if attempts:
        hp["passed"] = any(a.get("correct") for a in hp["attempts"])
    merged.update(
        trials=trials,
        started=min(times) if times else merged.get("started"),
        updated=max(updated) if updated else merged.get("updated"),
        done=any(r.get("done") for r in results) or merged.get("done", False),
        headphone_check=hp,
    )
    return merged, conflicts


# ------------------------------------------------------------------------------------------ reading


def load_result(path: str | os.PathLike, test: TestDefinition) -> dict:
    """The result in ``path``, strictly checked against ``test``; ``ValueError`` naming the file when it is not
    JSON, :class:`ResultMismatch` for another test's result, :class:`ResultInvalid` listing every problem."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a readable results file (truncated or not JSON: {e})") from None
    return check_result(obj, test, source=str(path))


@dataclass
class Collected:
    """What :func:`collect_results` found: ``results`` (one merged result per listener, by listener id),
    ``warnings`` (one sentence each), ``conflicts`` (see :func:`merge_results`), ``skipped`` files."""

    results: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def collect_results(results_dir: str | os.PathLike, test: TestDefinition) -> Collected:
    """Every listener's result for ``test`` in ``results_dir`` (the files named ``<test id>__*.json``, including
    a browser's ``... (1).json`` copies), merged per listener; unreadable files skipped with a warning."""
    out = Collected()
    folder = Path(results_dir)
    if not folder.is_dir():
        return out
    by_listener: dict[str, list[tuple[dict, str]]] = {}
    for p in sorted(folder.glob(f"{test.id}__*.json")):
        try:
            res = load_result(p, test)
        except (ValueError, OSError) as e:
            out.skipped.append(p)
            out.warnings.append(f"skipped {p}: {e}".replace("\n", " "))
            continue
        by_listener.setdefault(res["listener"], []).append((res, p.name))
    for listener in sorted(by_listener):
        got = by_listener[listener]
        if len(got) > 1:
            names = ", ".join(n for _, n in got)
            out.warnings.append(f"listener {listener!r} has {len(got)} results files ({names}): merged as one listener")
        merged, conflicts = merge_results([r for r, _ in got], sources=[n for _, n in got])
        for c in conflicts:
            out.warnings.append(
                f"listener {listener!r} rated trial {c['trial']!r} differently in {c['kept']['source']} and "
                f"{c['dropped']['source']}: the newer rating ({c['kept']['time']}) is kept"
            )
        out.conflicts += conflicts
        out.results.append(merged)
    return out


def load_results(results_dir: str | os.PathLike, test: TestDefinition) -> list[dict]:
    """:func:`collect_results`' merged results (one per listener, sorted by listener id); its warnings are
    issued as :class:`ResultWarning`."""
    got = collect_results(results_dir, test)
    for w in got.warnings:
        warnings.warn(w, ResultWarning, stacklevel=2)
    return got.results


# ------------------------------------------------------------------------------------------ writing

_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_GUARD = threading.Lock()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive lock on ``path``'s listener (threads of this process and other processes alike)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _GUARD:
        lock = _THREAD_LOCKS.setdefault(path, threading.Lock())
    with lock:
        if fcntl is None:
            yield
            return
        with open(path.parent / f".{path.name}.lock", "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _current(path: Path, test: TestDefinition) -> dict | None:
    """The listener's file as it is; an unreadable one is moved aside (``.corrupt-<time>``), never overwritten."""
    if not path.exists():
        return None
    try:
        return load_result(path, test)
    except ValueError as e:
        aside = path.with_name(f"{path.name}.corrupt-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}")
        os.replace(path, aside)
        warnings.warn(f"{e}; moved aside to {aside.name}".replace("\n", " "), ResultWarning, stacklevel=3)
        return None


def save_result(results_dir: str | os.PathLike, result: dict, test: TestDefinition) -> Path:
    """Check ``result`` against ``test`` and write it atomically, merged with the listener's file when there is
    one (a partial result never replaces a more complete one); returns the file."""
    check_result(result, test)
    path = result_path(results_dir, test.id, result["listener"])
    with _locked(path):
        old = _current(path, test)
        merged = merge_results([old, result], sources=[path.name, "new"])[0] if old else result
        return atomic_write_json(path, merged)


def import_result(path: str | os.PathLike, results_dir: str | os.PathLike, test: TestDefinition) -> Path:
    """Check a result downloaded from the offline page against ``test`` and merge it into the listener's file
    in ``results_dir``; returns that file (nothing rated before is lost)."""
    return save_result(results_dir, load_result(path, test), test)


def _test_and_dir(test_dir, test: TestDefinition | None, results_dir) -> tuple[TestDefinition, Path]:
    if test is None:
        test = load_test(test_dir)
    return test, Path(results_dir) if results_dir is not None else Path(test_dir) / RESULTS


def listener_result(
    test_dir: str | os.PathLike,
    listener: str,
    *,
    test: TestDefinition | None = None,
    results_dir: str | os.PathLike | None = None,
) -> dict | None:
    """The result of ``listener`` so far (merged over their files), or ``None`` when they have none."""
    test, folder = _test_and_dir(test_dir, test, results_dir)
    path = result_path(folder, test.id, listener)
    if not path.exists():
        return None
    with _locked(path):
        return _current(path, test)


def _update(test_dir, listener, test, results_dir, change) -> dict:
    test, folder = _test_and_dir(test_dir, test, results_dir)
    path = result_path(folder, test.id, listener)
    with _locked(path):
        result = change(test, _current(path, test) or new_result(test, listener))
        check_result(result, test, source=str(path))
        atomic_write_json(path, result)
    return result


def record_rating(
    test_dir: str | os.PathLike,
    listener: str,
    trial_id: str,
    ratings: dict,
    *,
    order: Sequence[str] | None = None,
    test: TestDefinition | None = None,
    results_dir: str | os.PathLike | None = None,
) -> dict:
    """Record ``listener``'s ``ratings`` of ``trial_id`` in their results file, atomically, and return their
    whole result.

    ``ratings``: as the test type defines (MUSHRA ``{stimulus id: 0..100}``, P.835 ``{stimulus id: {"SIG",
    "BAK", "OVRL"}}``, CCR/ACR ``{"score": int}``); ``order``: the stimulus ids as shown (default: the listener's
    plan, :func:`.design.listener_plan`); ``test``: the definition (default read from ``test_dir``);
    ``results_dir``: default ``test_dir/results``. Rating a trial again replaces its rating (the newest
    wins). Bad input raises :class:`ResultInvalid` listing every problem, before anything is written. Safe to
    call from several threads or processes at once.
    """
    test, folder = _test_and_dir(test_dir, test, results_dir)
    if order is None:
        plan = {p["trial"]: p["order"] for p in listener_plan(test, listener)}
        order = plan.get(trial_id, [])
    entry = {"order": list(order), "ratings": ratings}
    problems = trial_problems(test, trial_id, entry, f"listener {listener!r}")
    if problems:
        raise ResultInvalid(f"record_rating({listener!r}, {trial_id!r})", problems)

    def change(test, result):
        result = record_trial(result, trial_id, order, ratings)
        return {**result, "done": all(t.id in result["trials"] for t in test.trials)}

    return _update(test_dir, listener, test, folder, change)


def record_headphone_check(
    test_dir: str | os.PathLike,
    listener: str,
    answer: str,
    *,
    test: TestDefinition | None = None,
    results_dir: str | os.PathLike | None = None,
) -> dict:
    """Record one headphone-check attempt of ``listener`` (``answer``: ``"left"``, ``"right"`` or ``"both"``);
    returns their result, whose ``headphone_check`` is ``{"answer", "correct", "passed", "attempts": [...]}``."""
    if answer not in ("left", "right", "both"):
        raise ValueError(f"record_headphone_check: answer {answer!r} is not left, right or both")

    def change(test, result):
        correct = answer == test.headphone_side
        attempts = [
            *result.get("headphone_check", {}).get("attempts", []),
            {"answer": answer, "correct": correct, "time": _now()},
        ]
        hp = {"answer": answer, "correct": correct, "passed": any(a["correct"] for a in attempts), "attempts": attempts}
        return {**result, "headphone_check": hp, "updated": _now()}

    return _update(test_dir, listener, test, results_dir, change)
