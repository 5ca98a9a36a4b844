"""The metric registry: one :class:`Metric` record per metric, declared beside its code; everything else about
metrics (the defaults, the catalogue, the extras, the content keys, the CLI help, the summaries) is read from here.

Adding a metric
---------------
Write its function and its record in one module (``compute(est, sr)`` for a non-intrusive metric,
``compute(ref, est, sr)`` for an intrusive one; 1-D float arrays at ``sr`` Hz in, a float, or a dict of floats
for a metric that writes several columns, out)::

    import numpy as np
    from setoolkit.metrics import Metric

    def peak_of(est, sr):                      # est (samples,) at sr Hz -> dBFS
        return float(20 * np.log10(np.max(np.abs(est)) + 1e-12))

    peak = Metric(name="peak", compute=peak_of, intrusive=False, label="peak level", unit="dBFS",
                  higher_is_better=False)

and name it, wherever a metric name goes, in one of three ways:

* a *metric spec* ``path/to/mine.py:peak`` or ``package.module:peak`` (the attribute is a :class:`Metric`, or a
  callable that takes no argument and returns one): ``evaluate(..., metrics=["pesq_wb", "mine.py:peak"])``,
  ``setoolkit evaluate --metrics pesq_wb,mine.py:peak``. Worker processes and Dask workers import the file again
  (by its absolute path); its bytes enter the rows' content key, so editing it recomputes exactly its rows;
* :func:`register` ``(peak)`` in your own code, then ``"peak"``;
* an installed package's entry point in the group ``setoolkit.metrics`` (a Metric, a sequence of them, or a
  module with ``METRICS``), then ``"peak"``.

setoolkit's own families list their records in ``METRICS`` and are named in :data:`FAMILY_METRICS`.

A name is a metric's name (``"dnsmos"``: all its columns) or one of its columns (``"OVRL"``, ``"csig"``: that
column; the metric is still computed once per signal). :func:`plan` turns requested names into the metrics to
compute, :func:`resolve` checks them up front (an unknown name or a missing extra is one
:class:`~setoolkit.errors.MetricError` line before any work).

Examples
--------
>>> get("OVRL").name, get("OVRL").columns
('dnsmos', ('SIG', 'BAK', 'OVRL', 'P808_MOS'))
>>> resolve(["pesq_wb", "csig", "distillmos"])
('pesq_wb', 'csig', 'distillmos')
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import MetricError
from ..registry import missing_extras
from .record import Metric

__all__ = ["FAMILY_METRICS", "METRIC_EXTRAS", "MOS_ALIAS", "Metric", "get", "plan", "register", "resolve"]

#: The modules that declare setoolkit's own metrics (``METRICS`` in each), in the order the defaults list them.
FAMILY_METRICS = (
    "setoolkit.metrics.pesq_p862",
    "setoolkit.metrics.composite",
    "setoolkit.metrics.stoi_estoi",
    "setoolkit.metrics.signal",
    "setoolkit.metrics.learned",
    "setoolkit.metrics.dnsmos",
    "setoolkit.metrics.nisqa",
    "setoolkit.metrics.asr",
    "setoolkit.metrics.whisper_asr",
    "setoolkit.metrics.speaker",
    "setoolkit.metrics.mcd",
)
#: Entry-point group through which installed packages add metrics.
ENTRY_POINT_GROUP = "setoolkit.metrics"
#: What ``use_dnsmos=True`` (``setoolkit evaluate`` without ``--no-dnsmos``) adds to the requested metrics: the
#: non-intrusive MOS predictors scored on every row (DistillMOS only where ``setoolkit[learned-mos]`` is installed).
MOS_ALIAS = ("dnsmos", "distillmos")

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


_METRICS: dict[str, Metric] = {}  # key (a name, or an absolute spec) -> record
_COLUMNS: dict[str, str] = {}  # column -> key
_SPECS: dict[str, tuple[tuple, str]] = {}  # spec key -> (stamp of its file, the file)
_loaded: list[bool] = []
_generation = [0]  # bumped by every change to the registry (views derived from it rebuild)


def generation() -> int:
    """A counter that changes whenever a metric is registered (for views that cache what they derive)."""
    return _generation[0]


def register(metric: Metric, *, key: str | None = None) -> Metric:
    """Add ``metric`` to the registry (under ``key``, default its name) and return it.

    Registering a record with a taken name, or one writing a column another metric writes, is a
    :class:`MetricError` naming both; registering the same record again is a no-op.
    """
    if not isinstance(metric, Metric):
        raise MetricError(f"register() takes a setoolkit.metrics.Metric, got {type(metric).__name__}")
    key = key or metric.name
    old = _METRICS.get(key)
    if old is metric or old == metric:
        return metric
    if old is not None and not _is_spec_key(key):
        raise MetricError(f"metric {key!r} is registered already (by {_where(old)}); pick another name")
    for c in metric.columns:
        owner = _COLUMNS.get(c)
        if owner is not None and owner != key:
            raise MetricError(f"metric {key!r} writes column {c!r}, which metric {owner!r} writes already")
    _METRICS[key] = metric
    if not _is_spec_key(key):  # a spec's columns are checked within each run's plan, not claimed for the process
        for c in metric.columns:
            _COLUMNS[c] = key
    _generation[0] += 1
    return metric


def register_all(records: Iterable[tuple[str, Metric]]) -> None:
    """Register ``(key, metric)`` pairs (a worker process re-registers what its parent added with :func:`register`)."""
    _ensure_loaded()
    for key, m in records:
        register(m, key=key)


def _where(metric: Metric) -> str:
    return getattr(metric.compute, "__module__", None) or "?"


def _ensure_loaded() -> None:
    """Import the family modules, then the entry points, once (they register their records)."""
    if _loaded:
        return
    _loaded.append(True)
    builtin()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
        try:
            for m in _records(ep.load(), f"entry point {ep.name} = {ep.value} (package {dist})"):
                register(m)
        except Exception as exc:
            warnings.warn(f"setoolkit.metrics entry point {ep.name} = {ep.value} (package {dist}) skipped: {exc}")


def _records(obj: Any, where: str) -> list[Metric]:
    if isinstance(obj, ModuleType):
        obj = getattr(obj, "METRICS", None)
    if isinstance(obj, Metric):
        return [obj]
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        out = list(obj)
        if out and all(isinstance(m, Metric) for m in out):
            return out
    raise MetricError(f"{where}: expected a Metric, a list of them or a module with METRICS, got {type(obj).__name__}")


def builtin() -> list[Metric]:
    """The metrics of setoolkit itself, in :data:`FAMILY_METRICS` order (registered on the first call)."""
    out = [m for module in FAMILY_METRICS for m in importlib.import_module(module).METRICS]
    for m in out:
        register(m)
    return out


def registered() -> list[Metric]:
    """Every registered metric (built-in, entry points, :func:`register`, specs loaded in this process)."""
    _ensure_loaded()
    return list(_METRICS.values())


# ------------------------------------------------------------------------------------------ specs


def _is_spec_key(name: str) -> bool:
    target, sep, attr = name.rpartition(":")
    return bool(sep and target and _DOTTED.match(attr) and (target.endswith(".py") or _DOTTED.match(target)))


def absolute(name: str) -> str:
    """``name`` with a file spec's path made absolute (what worker processes and Dask workers load)."""
    name = str(name).strip()
    target, _, attr = name.rpartition(":")
    if _is_spec_key(name) and target.endswith(".py"):
        return f"{Path(target).expanduser().resolve()}:{attr}"
    return name


def spec_file(key: str) -> Path | None:
    """The ``.py`` file of a metric spec (a file spec's, or the module's), ``None`` when there is none."""
    target = key.rpartition(":")[0]
    if target.endswith(".py"):
        return Path(target)
    try:
        found = importlib.util.find_spec(target)
    except (ImportError, ValueError):
        return None
    return Path(found.origin) if found is not None and found.origin and Path(found.origin).is_file() else None


def _stamp(path: Path | None) -> tuple:
    try:
        st = os.stat(path) if path else None
    except OSError:
        return (str(path), None)
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns) if st else ()


def _load_spec(key: str) -> Metric:
    """Import a metric spec's file or module (again when the file changed) and register its record."""
    cached = _SPECS.get(key)
    if cached is not None and _stamp(spec_file(key)) == cached[0]:
        return _METRICS[key]
    target, _, attr = key.rpartition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise MetricError(f"metric spec {key!r}: file {target!r} does not exist")
        mod_name = "setoolkit_metric_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        assert module_spec is not None and module_spec.loader is not None  # a .py file: the source loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(mod_name, None)
            raise MetricError(f"metric spec {key!r}: importing it raised {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except Exception as exc:
            raise MetricError(f"metric spec {key!r}: importing {target!r} raised {type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise MetricError(f"metric spec {key!r}: no {attr!r} in {target!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, Metric) and callable(obj) and not inspect.isclass(obj):
        try:
            obj = obj()
        except Exception as exc:
            raise MetricError(f"metric spec {key!r}: {attr}() raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, Metric):
        raise MetricError(f"metric spec {key!r}: {attr} is a {type(obj).__name__}, not a setoolkit.metrics.Metric")
    register(obj, key=key)
    _SPECS[key] = (_stamp(spec_file(key)), str(spec_file(key)))
    return obj


# ------------------------------------------------------------------------------------------ lookup


def key_of(name: str) -> str:
    """The registry key of a metric name, a column name or a spec (a file spec's path made absolute)."""
    _ensure_loaded()
    name = str(name).strip()
    if name in _METRICS and not _is_spec_key(name):
        return name
    if name in _COLUMNS and not _is_spec_key(name):
        return _COLUMNS[name]
    if _is_spec_key(name):
        key = absolute(name)
        _load_spec(key)
        return key
    known = ", ".join(m.name for m in _METRICS.values() if not _is_spec_key(m.name))
    raise MetricError(f"unknown metric {name!r}; known: {known} (or a column of one, or a spec 'path/to/file.py:name')")


def get(name: str) -> Metric:
    """The :class:`Metric` that computes ``name`` (a metric name, one of its columns, or a metric spec)."""
    return _METRICS[key_of(name)]


def plan(names: Sequence[str]) -> list[tuple[str, Metric, tuple[str, ...]]]:
    """``names`` as the computations they need: ``(key, metric, columns wanted)`` per metric, each metric once
    (in the order of its first name), its columns in the metric's own order."""
    want: dict[str, set[str]] = {}
    writer: dict[str, str] = {}
    for n in names:
        k = key_of(n)
        m = get(k)
        want.setdefault(k, set()).update(m.columns if n in (k, m.name) or _is_spec_key(n) else (n,))
        for c in m.columns:
            if writer.setdefault(c, k) != k:
                raise MetricError(f"metrics {writer[c]!r} and {k!r} both write column {c!r}; rename one")
    return [(k, get(k), tuple(c for c in get(k).columns if c in cols)) for k, cols in want.items()]


def resolve(names: Sequence[str] | str, *, use_dnsmos: bool = False) -> tuple[str, ...]:
    """The requested metric names, checked before any work: duplicates folded, file specs made absolute, the
    :data:`MOS_ALIAS` metrics added when ``use_dnsmos`` (DistillMOS where its extra is installed). An unknown
    name, a spec that does not load or a metric whose extra is not installed is one :class:`MetricError`."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    out: list[str] = []
    for n in names:
        n = str(n).strip()
        if not n:
            raise MetricError(f"metrics {','.join(map(str, names))!r}: an empty name")
        key_of(n)
        n = absolute(n)
        if n not in out:
            out.append(n)
    if use_dnsmos:
        have = {key_of(n) for n in out}
        out += [a for a in MOS_ALIAS if a not in have and installed(get(a).extra)]
    for _, m, _ in plan(out):
        if not installed(m.extra):
            raise MetricError(f"metric {m.name!r} needs setoolkit[{m.extra}]: pip install 'setoolkit[{m.extra}]'")
    return tuple(out)


@cache
def installed(extra: str | None) -> bool:
    """Whether setoolkit's ``extra`` is installed (``None``: no extra needed); asked once per process."""
    return extra is None or not missing_extras([extra])


def columns(names: Sequence[str]) -> tuple[str, ...]:
    """The table columns ``names`` write, in plan order."""
    return tuple(c for _, _, cols in plan(names) for c in cols)


def help_text() -> str:
    """The metric names for a command's help: every registered metric, what else a name may be, the defaults."""
    names = ", ".join(m.name for k, m in _registered_items() if not _is_spec_key(k))
    defaults = ",".join(c for m in builtin() if m.default for c in m.columns)
    return (
        f"comma-separated metrics: {names}; or a column of one (csig, OVRL...), or your own as a spec "
        f"path/to/file.py:name or package.module:name (default: {defaults}"
    )


def _registered_items() -> list[tuple[str, Metric]]:
    _ensure_loaded()
    return list(_METRICS.items())


def extras() -> dict[str, str]:
    """``{metric name: extra}`` of every registered metric that needs one."""
    return {m.name: m.extra for m in registered() if m.extra}


class _Extras(Mapping):
    """``{metric name: extra}``, read live from the registry (what ``registry.METRIC_EXTRAS`` was)."""

    def __getitem__(self, name: str) -> str:
        return extras()[name]

    def __iter__(self):
        return iter(extras())

    def __len__(self) -> int:
        return len(extras())


#: The metrics that need an extra, and which (a live view of :func:`extras`).
METRIC_EXTRAS: Mapping[str, str] = _Extras()


def accepts(fn: Callable, keyword: str) -> bool:
    """Whether ``fn`` takes ``keyword`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or (p.name == keyword and p.kind is not p.VAR_POSITIONAL) for p in params)


def weight_file(ref: str, mirror=None) -> Path | None:
    """A ``weights`` entry's file: ``package:path`` in an installed package, or a path (``None`` when absent)."""
    pkg, sep, rel = ref.partition(":")
    if sep and _DOTTED.match(pkg) and not Path(ref).exists():
        try:
            found = importlib.util.find_spec(pkg)
        except (ImportError, ValueError):
            return None
        roots = list(found.submodule_search_locations or []) if found else []
        return next((Path(r) / rel for r in roots if (Path(r) / rel).is_file()), None)
    p = Path(ref).expanduser()
    return p if p.is_file() else None
