"""What one task may not leave behind, and how long it may take: :func:`restored_state` puts back the process-wide
state a model can change (NumPy's error state, the working folder, torch's default dtype and thread count, the
thread environment variables) after each task, and :class:`time_limit` stops a task that runs past its limit.

A model that calls ``np.seterr(all="raise")`` or ``os.chdir`` in ``build()`` or ``enhance`` otherwise changes every
later task of the process (other models' and the noisy baseline's metrics raising ``FloatingPointError``, the
run's relative output paths pointing elsewhere).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..errors import SetoolkitError
from ..processes import THREAD_ENV


class TaskTimeoutError(SetoolkitError, TimeoutError):
    """A task ran past its time limit (``evaluate(..., task_timeout=)``, ``--task-timeout``) and was stopped."""


class Expired(BaseException):
    """Raised inside the task when its time is up (a BaseException: a model's ``except Exception`` does not eat
    it); :class:`time_limit` turns it into :class:`TaskTimeoutError`."""


@contextmanager
def restored_state() -> Iterator[None]:
    """Within the block, code may change NumPy's error state (``np.seterr``, ``np.seterrcall``), the working folder,
    the :data:`THREAD_ENV` variables, torch's default dtype and thread count; each is put back after, whether the
    block returns or raises. torch is never imported here (only put back when the block or an earlier one did)."""
    err, call, cwd = np.geterr(), np.geterrcall(), os.getcwd()
    env = {k: os.environ.get(k) for k in THREAD_ENV}
    torch = sys.modules.get("torch")
    before = (torch.get_default_dtype(), torch.get_num_threads()) if torch is not None else None
    try:
        yield
    finally:
        np.seterr(**err)
        np.seterrcall(call)
        if os.getcwd() != cwd:
            os.chdir(cwd)
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        torch = sys.modules.get("torch")
        if torch is not None:
            dtype, threads = before or (torch.float32, int(env["OMP_NUM_THREADS"] or 0) or None)
            if torch.get_default_dtype() != dtype:
                torch.set_default_dtype(dtype)
            if threads and torch.get_num_threads() != threads:
                torch.set_num_threads(threads)


class time_limit:  # noqa: N801 -- used as a context manager, like contextlib's
    """Stop the block with :class:`TaskTimeoutError` (``"{what}: did not finish within N s"``) when it runs longer
    than ``seconds`` (``None``: no limit).

    In the main thread a ``SIGALRM`` timer raises inside the block, which also ends a ``sleep`` or a wait on a lock;
    in another thread (a Dask worker's) the exception is set asynchronously and lands at the next Python bytecode.
    Code stuck inside one native call sees it only when that call returns; ``on_stuck`` (called from a timer
    thread ``grace`` seconds after the limit, while the block still runs) is the last resort: a worker process
    passes ``os._exit``.
    """

    def __init__(self, seconds: float | None, what: str, *, on_stuck=None, grace: float = 5.0) -> None:
        self.seconds, self.what, self.on_stuck, self.grace = seconds, what, on_stuck, grace
        self._lock = threading.Lock()
        self._active = False
        self._timers: list[threading.Timer] = []

    def _expire(self, signum=None, frame=None) -> None:
        if self._active:
            raise Expired

    def _inject(self) -> None:
        with self._lock:
            if self._active:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), ctypes.py_object(Expired))

    def _stuck(self) -> None:
        if self._active and self.on_stuck is not None:
            self.on_stuck()

    def __enter__(self) -> time_limit:
        if not self.seconds:
            return self
        self._active, self._thread = True, threading.get_ident()
        self._main = threading.current_thread() is threading.main_thread()
        if self._main:
            self._old = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        else:
            self._timers.append(threading.Timer(self.seconds, self._inject))
        if self.on_stuck is not None:
            self._timers.append(threading.Timer(self.seconds + self.grace, self._stuck))
        for t in self._timers:
            t.daemon = True
            t.start()
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if not self.seconds:
            return
        with self._lock:
            self._active = False
        for t in self._timers:
            t.cancel()
        if self._main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
        elif kind is None:  # set just before the block ended and not delivered yet: withdrawn
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), None)
        if kind is not None and issubclass(kind, Expired):
            raise TaskTimeoutError(
                f"{self.what}: did not finish within {self.seconds:g} s (task timeout); stopped"
            ) from None
