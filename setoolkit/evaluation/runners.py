"""How evaluation tasks run: in this process, in spawned local processes, or on a Dask cluster -- three runners
with one interface (``results(todo)`` yields ``(task, (row, warnings) or the exception)`` as tasks finish,
``stop()`` ends the workers, ``close()``), and the worker side (:func:`call_task`, signals, the parent watch). The
checks a parent makes before spawning live in :mod:`setoolkit.processes`. See :mod:`.engine` for what
:func:`~.engine.evaluate` promises under faults."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from ..model_specs import EntryPointWarning
from ..processes import GUARD_HELP, limit_threads
from ..registry import CARDS
from .isolation import Expired, TaskTimeoutError, restored_state, time_limit
from .task import Task

#: Seconds a worker has to unwind its task after SIGTERM before it is killed.
STOP_GRACE = 5.0
#: How often (s) a worker checks that its parent is alive.
WATCH_INTERVAL = 0.5


# ------------------------------------------------------------------------------------------- worker side

_IN_TASK = False
#: In a worker process of :class:`LocalPool`: the folder where a task stuck in native code past its time limit
#: leaves its key before it ends the worker (the pool then runs the other tasks on fresh workers).
_STUCK_DIR: str | None = None


class _Stop(BaseException):
    """Raised in a worker's task by SIGTERM: unwinds it (temporary files removed), then the worker exits."""


def _worker_init(threads: int, parent: int, stuck_dir: str | None = None) -> None:
    """Worker process set-up: one thread per library, SIGINT left to the parent, SIGTERM unwinds the task, and a
    daemon thread that ends the worker when its parent is gone."""
    global _STUCK_DIR
    _STUCK_DIR = stuck_dir
    limit_threads(threads)
    with warnings.catch_warnings():  # the parent has named the plugins it skipped: once, not once per worker
        warnings.simplefilter("ignore", EntryPointWarning)
        len(CARDS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_term)
    threading.Thread(target=_watch_parent, args=(parent,), name="setoolkit-watch-parent", daemon=True).start()


def _worker_term(signum, frame) -> None:
    if _IN_TASK:
        raise _Stop(signum)
    os._exit(128 + signum)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    os.kill(os.getpid(), signal.SIGTERM)  # unwind the task in the main thread (temporary files removed)...
    time.sleep(STOP_GRACE)
    os._exit(1)  # ... unless it is stuck in native code


def _end_stuck(key: str) -> None:
    """A task is stuck past its time limit where no exception reaches it: leave its key for the parent, then end
    this worker (its pool breaks; :class:`LocalPool` records the task and reruns the others)."""
    assert _STUCK_DIR is not None  # only set as on_stuck in a worker
    Path(_STUCK_DIR, key).touch()
    os._exit(124)


def call_task(
    task_fn: Callable, task: Task, kwargs: dict, timeout: float | None = None
) -> tuple[dict, list[tuple[str, str]]]:
    """Run ``task_fn(task, **kwargs)`` (in a worker or in-process) and return its row with the warnings it raised,
    as ``(category name, message)``, for the caller to re-issue once, prefixed with the task.

    The process-wide state the task changes (NumPy's error state, the working folder, torch's dtype and threads)
    is put back after it (:func:`~.isolation.restored_state`); past ``timeout`` seconds it is stopped with
    :class:`~.isolation.TaskTimeoutError` naming the model and file (a worker whose task is stuck in native code
    exits :data:`STOP_GRACE` seconds later)."""
    global _IN_TASK
    _IN_TASK = True
    what = f"model {task.model!r} on {task.dataset}/{task.file}"
    stuck = partial(_end_stuck, task.key) if _STUCK_DIR else None
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            restored_state(),
            time_limit(timeout, what, on_stuck=stuck, grace=STOP_GRACE),
        ):
            row = task_fn(task, **kwargs)
    except _Stop as stop:
        os._exit(128 + stop.args[0])
    except Expired:  # the alarm fired as the block was ending, past time_limit's own handling
        raise TaskTimeoutError(f"{what}: did not finish within {timeout:g} s (task timeout); stopped") from None
    finally:
        _IN_TASK = False
    return row, [(w.category.__name__, str(w.message)) for w in caught]


# ------------------------------------------------------------------------------------------- runners
# Each runner yields (task, (row, warnings) or the exception) as tasks finish; stop() ends its workers.


class InProcess:
    """In this process, one task after the other (``workers=1``): no guard needed, models load once here."""

    def __init__(self, task_fn: Callable, kwargs: dict, timeout: float | None = None) -> None:
        self.task_fn, self.kwargs, self.timeout = task_fn, kwargs, timeout

    def results(self, todo: Sequence[Task]) -> Iterator[tuple[Task, object]]:
        for t in todo:
            out: object
            try:
                out = call_task(self.task_fn, t, self.kwargs, self.timeout)
            except Exception as exc:  # noqa: BLE001 -- one bad file must not stop a batch: recorded
                out = exc
            yield t, out

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalPool:
    """Spawned processes: each loads each model once; spawn keeps TF/torch/onnxruntime state out of the
    children, and each computes on one thread (as many processes as cores: more threads would only contend)."""

    def __init__(self, task_fn: Callable, kwargs: dict, workers: int, timeout: float | None = None) -> None:
        self.task_fn, self.kwargs, self.timeout, self.workers = task_fn, kwargs, timeout, workers
        self.stuck_dir = tempfile.mkdtemp(prefix="setoolkit-stuck-")
        self.stuck: set[str] = set()
        self.pool = self._start()
        self.futures: dict = {}

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(1, os.getpid(), self.stuck_dir),
        )

    def results(self, todo: Sequence[Task]) -> Iterator[tuple[Task, object]]:
        """As tasks finish; when a worker ended itself over a task stuck past its time limit (which breaks the
        pool), that task is a :class:`~.isolation.TaskTimeoutError` and the unfinished others run on a new pool."""
        queue = sorted(todo, key=lambda t: (t.model, t.dataset, t.noisy))
        while queue:
            self.futures = {self.pool.submit(call_task, self.task_fn, t, self.kwargs, self.timeout): t for t in queue}
            queue, culprits = [], None
            for fut in futures_completed(self.futures):
                t = self.futures[fut]
                try:
                    out = fut.result()
                except BrokenProcessPool as exc:
                    if culprits is None:  # the keys left by workers that ended themselves since the last break
                        culprits = set(os.listdir(self.stuck_dir)) - self.stuck
                        self.stuck |= culprits
                    if culprits and t.key not in culprits:
                        queue.append(t)  # not its fault: run again
                        continue
                    out = (
                        TaskTimeoutError(
                            f"model {t.model!r} on {t.dataset}/{t.file}: did not finish within {self.timeout:g} s "
                            f"(task timeout) and did not stop (stuck in native code): its worker process was ended"
                        )
                        if culprits
                        else BrokenProcessPool(
                            f"a worker process died ({exc}; killed, out of memory, or a script calling "
                            f"evaluate() at module level: {GUARD_HELP})"
                        )
                    )
                except Exception as exc:  # noqa: BLE001 -- the task's own error: recorded, the rest goes on
                    out = exc
                yield t, out
            if queue:
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._start()

    def stop(self) -> None:
        """SIGTERM every worker (each unwinds its task and exits), SIGKILL those alive after :data:`STOP_GRACE`.

        No future is cancelled here: on the workers' exit the pool's own thread fails every pending one, and one
        cancelled before would make that thread die with a traceback (``InvalidStateError: CANCELLED``, Python
        3.11); the pool is shut down after, when nothing runs any more."""
        procs = [p for p in list((self.pool._processes or {}).values()) if p.is_alive()]
        for p in procs:
            p.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(1.0)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        shutil.rmtree(self.stuck_dir, ignore_errors=True)


class DaskPool:
    """A Dask distributed cluster (``scheduler``: an address, or a ``distributed.Client`` left open after)."""

    def __init__(self, task_fn: Callable, kwargs: dict, scheduler, timeout: float | None = None) -> None:
        from distributed import Client

        self.task_fn, self.kwargs, self.timeout = task_fn, kwargs, timeout
        self.own = not isinstance(scheduler, Client)
        self.client = Client(scheduler) if self.own else scheduler
        self.futures: list = []

    def results(self, todo: Sequence[Task]) -> Iterator[tuple[Task, object]]:
        from distributed import as_completed

        self.futures = [
            self.client.submit(
                call_task,
                self.task_fn,
                t,
                self.kwargs,
                self.timeout,
                pure=False,
                key=f"setoolkit-{t.key}-{time.time_ns()}",
            )
            for t in todo
        ]
        tasks = {f.key: t for f, t in zip(self.futures, todo)}
        for fut in as_completed(self.futures):
            try:
                out = fut.result()
            except Exception as exc:  # noqa: BLE001 -- KilledWorker, model errors: recorded, the rest goes on
                out = exc
            yield tasks[fut.key], out

    def stop(self) -> None:
        self.client.cancel(self.futures)

    def close(self) -> None:
        if self.own:
            self.client.close()


@contextmanager
def raise_on_signals():
    """Within the block, the first SIGINT or SIGTERM raises :class:`SignalReceived` in the main thread (later ones are
    ignored while the run stops); handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum, frame):
        if not fired:
            fired.append(signum)
            raise SignalReceived(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class SignalReceived(BaseException):
    pass
