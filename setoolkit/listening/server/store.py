"""The served test's results: each rating written into the listener's results file as it is given.

A listener's page sends one rating at a time: one trial's ratings, or one headphone-check answer.
:meth:`RatingStore.record` checks its shape (:func:`parse_rating`) and hands it to the results API
(:func:`..results.record_rating`, :func:`..results.record_headphone_check`), which checks it against the test
definition and writes the listener's whole result atomically (temporary file, fsync, rename) under the
listener's lock (threads and processes), so a crash leaves the previous complete file and a restarted server
carries on from the files. They are the files the analysis reads: ``results/<test id>__<listener>.json``.

Examples
--------
>>> store = RatingStore("listening/mushra", test)
>>> store.record("L01", {"headphone_check": {"answer": "left"}})
>>> store.record("L01", {"trial": "t01", "order": [...], "ratings": {...}})
"""

from __future__ import annotations

import os
from pathlib import Path

from ..design import TestDefinition
from ..results import collect_results, listener_result, record_headphone_check, record_rating

#: The answers the headphone check offers.
HEADPHONE_ANSWERS = ("left", "right", "both")
TRIAL_KEYS = frozenset({"trial", "order", "ratings"})


class RatingError(ValueError):
    """A rating the server refuses (unknown trial, wrong stimuli, value out of range); the message says why."""


def _no_bools(value, where: str) -> None:
    if isinstance(value, bool):
        raise RatingError(f"{where}: {value!r} is not a rating (a number is)")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_bools(v, f"{where}.{k}")


def parse_rating(payload) -> tuple[str, dict]:
    """``("headphone_check", {"answer"})`` or ``("trial", {"trial", "order", "ratings"})`` from a request body:
    ``{"headphone_check": {"answer": "left" | "right" | "both"}}`` or ``{"trial": id, "order": [stimulus ids
    as shown], "ratings": {...}}``. Raises :class:`RatingError` for any other shape (the values themselves are
    checked against the test by the results API)."""
    if not isinstance(payload, dict) or not payload:
        raise RatingError("a rating is a non-empty JSON object")
    if set(payload) == {"headphone_check"}:
        check = payload["headphone_check"]
        answer = check.get("answer") if isinstance(check, dict) else None
        if answer not in HEADPHONE_ANSWERS:
            raise RatingError(f"headphone_check.answer {answer!r}: one of {', '.join(HEADPHONE_ANSWERS)}")
        return "headphone_check", {"answer": answer}
    if set(payload) != TRIAL_KEYS:
        raise RatingError(
            f"a rating has the keys {sorted(TRIAL_KEYS)} (or only headphone_check), got {sorted(payload)}"
        )
    trial, order, ratings = payload["trial"], payload["order"], payload["ratings"]
    if not isinstance(trial, str):
        raise RatingError(f"trial {trial!r}: a trial id is a string")
    if not (isinstance(order, list) and all(isinstance(s, str) for s in order)) or not isinstance(ratings, dict):
        raise RatingError(f"trial {trial!r}: order must be a list of stimulus ids and ratings an object")
    _no_bools(ratings, f"trial {trial!r} ratings")
    return "trial", {"trial": trial, "order": order, "ratings": ratings}


class RatingStore:
    """The result files of ``test`` (in ``test_dir``) in ``results_dir`` (default ``test_dir/results``)."""

    def __init__(
        self, test_dir: str | os.PathLike, test: TestDefinition, results_dir: str | os.PathLike | None = None
    ) -> None:
        self.test_dir, self.test = Path(test_dir), test
        self.results_dir = Path(results_dir) if results_dir is not None else self.test_dir / "results"

    def load(self, listener: str) -> dict | None:
        """``listener``'s result as on disk, or None before their first rating."""
        return listener_result(self.test_dir, listener, test=self.test, results_dir=self.results_dir)

    def record(self, listener: str, payload) -> dict:
        """Add one rating of ``listener`` (see :func:`parse_rating`) to their file, atomically; returns their
        whole result as written. Raises :class:`RatingError` for a rating the test does not take."""
        what, value = parse_rating(payload)
        test, folder = self.test, self.results_dir
        try:
            if what == "headphone_check":
                return record_headphone_check(self.test_dir, listener, value["answer"], test=test, results_dir=folder)
            trial, ratings, order = value["trial"], value["ratings"], value["order"]
            return record_rating(self.test_dir, listener, trial, ratings, order=order, test=test, results_dir=folder)
        except ValueError as exc:
            raise RatingError(str(exc)) from exc

    def readable_results(self) -> tuple[list[dict], list[str]]:
        """Every listener's result (merged per listener, by listener id) and the warnings met reading them
        (an unreadable file is skipped and named): the admin page shows both and never stops on one."""
        got = collect_results(self.results_dir, self.test)
        return got.results, got.warnings
