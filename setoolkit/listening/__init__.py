"""Listening tests beside the objective metrics: MUSHRA (ITU-R BS.1534-3), P.835, CCR (ITU-T P.800) and ACR
(ITU-T P.808), one module each under :mod:`.kinds`.

Build a test folder from an evaluation table (:func:`build_test`), take it in JupyterLab
(:class:`ListeningWidget`) or in any browser from disk (``listening_test.html``), collect one result file per
listener (:mod:`.results`: :func:`record_rating` saves one trial atomically, :func:`collect_results` merges
every listener's files), analyse it beside DNSMOS, DistillMOS, PESQ and ViSQOL (:mod:`.analysis`) and put
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
from .design import TestDefinition, choose_items, listener_plan, public_test
from .kinds import TestType, test_type
from .loudness import TARGET_DBOV, active_speech_level, normalize_level
from .report_section import ListeningSection, listening_section
from .results import (
    Collected,
    ResultInvalid,
    ResultMismatch,
    ResultWarning,
    collect_results,
    import_result,
    listener_result,
    load_result,
    load_results,
    merge_results,
    record_headphone_check,
    record_rating,
    save_result,
)
from .secret import check_completion_code, completion_code
from .simulate import simulate_results

__all__ = [
    "TARGET_DBOV",
    "Collected",
    "ListeningSection",
    "ResultInvalid",
    "ResultMismatch",
    "ResultWarning",
    "TestDefinition",
    "TestType",
    "check_completion_code",
    "collect_results",
    "completion_code",
    "import_result",
    "listener_result",
    "merge_results",
    "public_test",
    "record_headphone_check",
    "record_rating",
    "test_type",
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
