"""How setoolkit starts worker processes, one home for the rules every pool follows (evaluation workers, the timing
pass, ``score_files``):

* threads: as many processes as cores, each on one thread (:func:`limit_threads`), since more threads per process
  only contend (the NISQA network took 8.5x the CPU on two threads per worker on a 2-core machine);
* the ``__main__`` guard: workers are spawned, so each imports the calling script again; a call at a script's module
  level, outside ``if __name__ == "__main__":``, is found before any worker starts (:func:`unguarded_main_line`)
  and refused with :data:`GUARD_HELP`, never a ``BrokenProcessPool`` traceback.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import sys
from pathlib import Path
from types import FrameType

from threadpoolctl import threadpool_limits

from .errors import SetoolkitError

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


GUARD_HELP = (
    'put the call under `if __name__ == "__main__":` (worker processes are spawned: each imports the '
    "script again, and an unguarded call there would start workers of its own), or pass workers=1"
)


def unguarded_main_line() -> str | None:
    """``"script.py, line N"``: where the ``__main__`` script makes this call when that line is not under ``if
    __name__ == "__main__":`` and spawned processes would import the script again; ``None`` otherwise."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name is not None:
        if name == "__main__" or name.endswith(".__main__"):
            return None  # spawn does not re-run a package's __main__
        path = getattr(spec, "origin", None)
    else:
        path = getattr(main, "__file__", None)
    if not path or not Path(path).is_file():
        return None  # interactive, -c, a notebook: nothing is re-imported
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "<module>" and frame.f_globals is vars(main)):
        frame = frame.f_back
    if frame is None:
        return None
    try:
        tree = ast.parse(Path(path).read_text())
    except (SyntaxError, OSError, ValueError):
        return None
    line = frame.f_lineno
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        guard = {"__main__", "__name__"} <= set(_names(node.test))
        if guard and node.body[0].lineno <= line <= (node.body[-1].end_lineno or line):
            return None
    return f"{path}, line {line}"


def _names(test: ast.expr) -> list[str]:
    """The names and string constants in an ``if`` test (``__name__ == "__main__"`` -> both)."""
    return [
        n.id if isinstance(n, ast.Name) else str(n.value)
        for n in ast.walk(test)
        if isinstance(n, ast.Name) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
    ]


def check_not_bootstrapping(what: str = "evaluate()") -> None:
    """Refuse to start workers from a worker that is still importing its parent's script (no ``__main__`` guard)."""
    if getattr(multiprocessing.process.current_process(), "_inheriting", False):
        raise SetoolkitError(f"{what} was called while a worker process was starting: {GUARD_HELP}")
