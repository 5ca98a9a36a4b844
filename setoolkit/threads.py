"""How many threads the numeric libraries of a worker process use: one home for the rule every pool follows
(evaluation workers, the timing pass, ``score_files``): as many processes as cores, each on one thread, since more
threads per process only contend (the NISQA network took 8.5x the CPU on two threads per worker on a 2-core machine).
"""

from __future__ import annotations

import os
import sys

from threadpoolctl import threadpool_limits

#: Environment variables that pin the numeric libraries to one pool size (read when they start).
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def limit_threads(threads: int) -> None:
    """Pin this process's numeric libraries to ``threads`` threads (call before torch/TF start): the environment
    variables for libraries not loaded yet, and (threadpoolctl) the BLAS/OpenMP pools already loaded: a spawned
    worker imports numpy while it unpickles its task function, before this runs, and its OpenBLAS would otherwise
    keep one thread per core (one SI-SDR took 8.5 ms instead of 0.1 ms on a busy 2-core machine)."""
    for k in THREAD_ENV:
        os.environ[k] = str(threads)
    threadpool_limits(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
