"""Listening tests beside the objective metrics: MUSHRA (ITU-R BS.1534-3), P.835 and CCR (ITU-T P.800).

Build a test folder from an evaluation table (:func:`build_test`), take it in JupyterLab
(:class:`ListeningWidget`) or in any browser from disk (``listening_test.html``), collect one result file per
listener (:mod:`.results`), analyse it beside DNSMOS, DistillMOS, PESQ and ViSQOL (:mod:`.analysis`) and put
it in the daily report (:func:`listening_section`).

Examples
--------
>>> test = build_test(table, "listening/mushra", kind="mushra", n_items=4)
>>> ListeningWidget("listening/mushra")                          # in a notebook
>>> section = listening_section("listening/mushra/results", "listening/mushra", table)
"""

from .analysis import (
    ccr_scores,
    metric_agreement,
    paired_tests,
    ratings_frame,
    screen_listeners,
    system_scores,
)
from .build import build_test, load_test
from .design import TestDefinition, choose_items, listener_plan
from .loudness import TARGET_DBOV, active_speech_level, normalize_level
from .report_section import ListeningSection, listening_section
from .results import ResultMismatch, load_result, load_results, save_result
from .simulate import simulate_results

__all__ = [
    "TARGET_DBOV",
    "ListeningSection",
    "ResultMismatch",
    "TestDefinition",
    "active_speech_level",
    "build_test",
    "ccr_scores",
    "choose_items",
    "listener_plan",
    "listening_section",
    "load_result",
    "load_results",
    "load_test",
    "metric_agreement",
    "normalize_level",
    "paired_tests",
    "ratings_frame",
    "save_result",
    "screen_listeners",
    "simulate_results",
    "system_scores",
]
