"""Evaluation: every file x model of one or more sets -> one tidy, resumable table, and its summaries.

Modules, one job each: :mod:`.task` (one unit of work and the function that enhances and scores it),
:mod:`.keys` (content keys), :mod:`.sets` (the files of a set, the tasks of a run), :mod:`.store` (the row
store), :mod:`.engine` (:func:`evaluate`: local processes or Dask, one result loop), :mod:`.summaries` (means,
bootstrap CIs, SNR bands), :mod:`.timing` (the one-thread timing pass and the main job's profile).

Examples
--------
>>> from setoolkit.evaluation import evaluate, summarize
>>> table = evaluate(["dpcrn-quant"], ["vbd16k"], "runs/today")      # pandas DataFrame
>>> summarize(table)                                                 # means with bootstrap 95% CIs
"""

from ..errors import Interrupted
from .engine import evaluate, limit_threads
from .keys import (
    code_hash,
    file_hash,
    library_versions,
    metrics_fingerprint,
    model_fingerprint,
    task_content,
)
from .profile import Profile
from .sets import (
    SetError,
    SetFile,
    SetSource,
    make_tasks,
    resolve_models,
    resolve_sets,
    set_files,
    set_pairs,
)
from .store import EvaluationTable, Failure, RowStore, RunStats
from .summaries import (
    SUMMARY_METRICS,
    VBD_NOMINAL_SNRS,
    bootstrap_ci,
    snr_bands,
    summarize,
)
from .task import NOISY, ORACLES, Task, run_task

__all__ = [
    "NOISY",
    "ORACLES",
    "EvaluationTable",
    "Failure",
    "Interrupted",
    "Profile",
    "SUMMARY_METRICS",
    "VBD_NOMINAL_SNRS",
    "RowStore",
    "RunStats",
    "SetError",
    "SetFile",
    "SetSource",
    "Task",
    "bootstrap_ci",
    "code_hash",
    "evaluate",
    "file_hash",
    "library_versions",
    "limit_threads",
    "make_tasks",
    "metrics_fingerprint",
    "model_fingerprint",
    "resolve_models",
    "resolve_sets",
    "run_task",
    "set_files",
    "set_pairs",
    "snr_bands",
    "summarize",
    "task_content",
]
