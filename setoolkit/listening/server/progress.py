"""Live progress of a served test, for its admin page: who started, who finished, screening, time per trial.

:func:`progress` is a pure function of the test, the invited listener ids and the results on disk. Per
listener: trials rated of the test's total, done, the headphone check (``pass``/``fail``/``-``), the
post-screening of the ratings so far by the test type's rules (:func:`..analysis.screen`: MUSHRA BS.1534-3,
P.835 headphone check and straight-lining, ACR P.808's rejection rules; ``kept`` / ``excluded`` with ``why``,
``-`` before a scored trial), the median and last seconds per trial (between consecutive
saves; the first from the result's ``started``), and the last save. Results of listeners who were not
invited here (files imported from the offline page) are listed too, ``invited: false``.

Examples
--------
>>> progress(test, ["L01", "L02"], store.readable_results()[0])["summary"]
{"invited": 2, "started": 1, "finished": 0, "excluded": 0, ...}
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence

from ..analysis import ratings_frame, screen
from ..design import TestDefinition


def _time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def trial_seconds(result: dict) -> list[float]:
    """Seconds each rated trial took, in the order they were saved: between consecutive trial saves, the
    first from ``started`` (which includes the headphone check)."""
    times = sorted(t for tr in result.get("trials", {}).values() if (t := _time(tr.get("time", ""))) is not None)
    start = _time(result.get("started", ""))
    marks = ([start] if start is not None and (not times or start <= times[0]) else []) + times
    return [(b - a).total_seconds() for a, b in zip(marks, marks[1:])]


def _screening(test: TestDefinition, results: Sequence[dict]) -> dict[str, tuple[str, str]]:
    """``{listener: ("kept" | "excluded", why)}`` by the test type's rules on the ratings so far."""
    if not results:
        return {}
    ratings = ratings_frame(results, test)
    if ratings.empty:
        return {}
    table = screen(results, test, ratings)
    rated = set(ratings["listener"])
    return {
        r.listener: ("excluded" if r.excluded else "kept", str(r.why))
        for r in table.itertuples()
        if r.listener in rated
    }


def listener_row(
    test: TestDefinition, listener: str, result: dict | None, *, invited: bool, screening: tuple[str, str] = ("-", "")
) -> dict:
    """One row of the progress table (see the module docstring)."""
    n_total = len(test.trials)
    if result is None:
        return {
            **{"listener": listener, "invited": invited, "started": False, "done": False, "trials": 0},
            **{"total": n_total, "headphone": "-", "headphone_attempts": 0, "screening": "-", "why": ""},
            **{"median_s": None, "last_s": None, "updated": None},
        }
    check = result.get("headphone_check") or {}
    secs = trial_seconds(result)
    return {
        "listener": listener,
        "invited": invited,
        "started": True,
        "done": bool(result.get("done")),
        "trials": len(result.get("trials", {})),
        "total": n_total,
        "headphone": "-" if "correct" not in check else ("pass" if check.get("passed", check["correct"]) else "fail"),
        "headphone_attempts": len(check.get("attempts", [])) or int("correct" in check),
        "screening": screening[0],
        "why": screening[1],
        "median_s": round(statistics.median(secs), 1) if secs else None,
        "last_s": round(secs[-1], 1) if secs else None,
        "updated": result.get("updated"),
    }


def progress(test: TestDefinition, invited: Sequence[str], results: Sequence[dict]) -> dict:
    """``{"test": {id, kind, title, trials}, "summary": {...}, "listeners": [rows]}`` (rows: invited
    listeners in their order, then the others by id)."""
    by_listener = {r["listener"]: r for r in results}
    screening = _screening(test, results)
    ids = list(invited) + sorted(set(by_listener) - set(invited))
    rows = [
        listener_row(test, i, by_listener.get(i), invited=i in set(invited), screening=screening.get(i, ("-", "")))
        for i in ids
    ]
    secs = [s for r in results for s in trial_seconds(r)]
    summary = {
        "invited": len(invited),
        "started": sum(r["started"] for r in rows),
        "finished": sum(r["done"] for r in rows),
        "headphone_failed": sum(r["headphone"] == "fail" for r in rows),
        "excluded": sum(r["screening"] == "excluded" for r in rows),
        "ratings": sum(r["trials"] for r in rows),
        "median_s_per_trial": round(statistics.median(secs), 1) if secs else None,
    }
    return {
        "test": {"id": test.id, "kind": test.kind, "title": test.title, "trials": len(test.trials)},
        "summary": summary,
        "listeners": rows,
    }
