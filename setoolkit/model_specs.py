"""Model specs: name your own model where a zoo name goes, and let installed packages add cards.

A *spec* is ``path/to/file.py:callable`` or ``package.module:callable`` (``callable`` may be dotted, e.g.
``Class.build``); the callable takes no required argument and returns an :class:`~setoolkit.models.common.base.Enhancer`
(:func:`setoolkit.from_function`, :func:`~setoolkit.from_torch`, :func:`~setoolkit.from_onnx` make one).
:func:`setoolkit.load` accepts a spec wherever it accepts a model name.

An installed package adds cards through the entry-point group ``setoolkit.models``: each entry point names a
:class:`~setoolkit.registry.ModelCard`, a sequence of them, or a module with ``CARDS``; the registry lists them
after the zoo's own cards.

:func:`spec_fingerprint` hashes what a spec's output depends on (its file, its module's file, the user modules it
imports, the files its build opens, the weights files the built model names), for the evaluation content key;
:func:`built_spec` builds each spec once per process (again only when one of those files changed).

Examples
--------
>>> model = setoolkit.load("my_models.py:build")      # my_models.py: def build(): return from_torch(...)
>>> spec_fingerprint("my_models.py:build")
'3f1c...'
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from .assets import sha256_of
from .cards import ModelCard
from .errors import ModelError
from .models.common.base import Enhancer
from .spec_reads import Reads, forget_modules, module_closure, recording, user_files

#: Entry-point group through which installed packages add model cards.
ENTRY_POINT_GROUP = "setoolkit.models"
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class SpecError(ModelError):
    """A model spec (``file.py:callable``, ``module:callable``) or entry point that cannot give a model."""


class EntryPointWarning(UserWarning):
    """An installed package's ``setoolkit.models`` entry point could not be used (it is skipped)."""


def parse_spec(spec: str) -> tuple[str, str, str]:
    """Split ``spec`` into ``(kind, target, attribute)``: kind ``"file"`` (target a ``.py`` path) or ``"module"``
    (target a dotted module name). Raises :class:`SpecError` naming the spec when it is neither."""
    target, sep, attr = str(spec).rpartition(":")
    if not sep or not target or not _DOTTED.match(attr):
        raise SpecError(f"model spec {spec!r} is not 'path/to/file.py:callable' or 'package.module:callable'")
    if target.endswith(".py"):
        return "file", target, attr
    if _DOTTED.match(target):
        return "module", target, attr
    raise SpecError(f"model spec {spec!r}: {target!r} is neither a .py file nor a dotted module name")


def is_spec(name: str) -> bool:
    """Whether ``name`` has the form of a model spec (not whether it loads)."""
    try:
        parse_spec(name)
    except SpecError:
        return False
    return True


def _file_module_name(path: Path) -> str:
    return "setoolkit_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]


def _import_target(spec: str, kind: str, target: str) -> ModuleType:
    """The module a spec points at (a ``.py`` file executed under a private name, or an importable module)."""
    if kind == "file":
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise SpecError(f"model spec {spec!r}: file {target!r} does not exist")
        module_spec = importlib.util.spec_from_file_location(_file_module_name(path), path)
        assert module_spec is not None and module_spec.loader is not None  # a .py file: the source loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_spec.name, None)
            raise SpecError(f"model spec {spec!r}: importing {target!r} raised {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise SpecError(f"model spec {spec!r}: no module named {target!r}") from exc
        raise SpecError(f"model spec {spec!r}: importing {target!r} raised {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise SpecError(f"model spec {spec!r}: importing {target!r} raised {type(exc).__name__}: {exc}") from exc


def _attribute(spec: str, module: ModuleType, attr: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
            raise SpecError(
                f"model spec {spec!r}: callable {attr!r} not found in {spec.rpartition(':')[0]!r}; "
                f"callables there: {', '.join(found) or 'none'}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError(f"model spec {spec!r}: {attr!r} is a {type(obj).__name__}, not a callable")
    return obj


def _accepted(fn, kwargs: dict) -> dict:
    """The ``kwargs`` that ``fn`` accepts (all of them when it takes ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return kwargs
    names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return {k: v for k, v in kwargs.items() if k in names}


def _build(spec: str, kwargs: dict) -> tuple[Any, Reads]:
    """Import the spec's target and call its callable, recording what both read (:mod:`setoolkit.spec_reads`)."""
    kind, target, attr = parse_spec(spec)
    with recording() as reads:
        module = _import_target(spec, kind, target)
        fn = _attribute(spec, module, attr)
        try:
            model = fn(**_accepted(fn, kwargs))
        except Exception as exc:
            raise SpecError(f"model spec {spec!r}: {attr}() raised {type(exc).__name__}: {exc}") from exc
    reads.modules |= module_closure(module)
    if not isinstance(model, Enhancer):
        raise SpecError(
            f"model spec {spec!r}: {attr}() returned {type(model).__name__}, not a setoolkit Enhancer "
            "(wrap your model with setoolkit.from_function, from_torch or from_onnx)"
        )
    return model, reads


def load_spec(spec: str, *, trained_on: str | None = None, **kwargs):
    """Build the model a spec names: import its file or module, call the callable, check the result.

    ``kwargs`` (e.g. ``mirror=`` from :func:`setoolkit.load`) go to the callable where its signature accepts
    them; ``trained_on`` (a plain string), when given, replaces the card's. Each failure is one
    :class:`SpecError` naming the spec: missing file or module, callable not found, the callable raising (the
    cause chained, its message included), a result that is not an Enhancer. Each call builds afresh (see
    :func:`built_spec` for the memoised build the evaluation uses).
    """
    model, _ = _build(spec, kwargs)
    if trained_on is not None:
        model.card = replace(model.card, trained_on=str(trained_on))
    return model


def _stamps(files: Sequence[str]) -> tuple:
    """(path, size, mtime, ctime) of each file: changes when any of them is rewritten."""
    out: list[tuple] = []
    for f in files:
        try:
            st = os.stat(f)
            out.append((f, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        except OSError:
            out.append((f, None))
    return tuple(out)


@dataclass(frozen=True)
class BuiltSpec:
    """A spec's model as built in this process, and the files its output depends on.

    ``files``: the spec's file (or its module's file), every user module it imported or refers to and every user
    file its build opened (:mod:`setoolkit.spec_reads`), and the ``weights_files`` the model names; ``stamps``:
    their (size, mtime, ctime) when built.
    """

    spec: str
    model: Any
    files: tuple[str, ...]
    stamps: tuple

    @property
    def fresh(self) -> bool:
        """Whether no file it depends on changed since it was built."""
        return _stamps(self.files) == self.stamps


_BUILT: dict[str, BuiltSpec] = {}


def built_spec(spec: str, *, mirror=None) -> BuiltSpec:
    """The spec's model, built once per process and again only when a file it depends on changed (then the user
    modules it had imported are dropped first, so an edited helper is imported afresh). Raises
    :class:`SpecError` as :func:`load_spec` does, and when a weights file the model names does not exist."""
    cached = _BUILT.get(spec)
    if cached is not None and cached.fresh:
        return cached
    if cached is not None:
        forget_modules(cached.files)
    kind, target, _ = parse_spec(spec)
    own = Path(target).expanduser().resolve() if kind == "file" else _module_file(spec, target)
    if kind == "file" and (own is None or not own.is_file()):
        raise SpecError(f"model spec {spec!r}: file {target!r} does not exist")
    model, reads = _build(spec, {"mirror": mirror} if mirror is not None else {})
    weights = [str(Path(w).resolve()) for w in getattr(model, "weights_files", ()) or ()]
    for w in weights:
        if not Path(w).is_file():
            raise SpecError(f"model spec {spec!r}: weights file {w!r} named by the model does not exist")
    files = tuple(dict.fromkeys([*([str(own)] if own else []), *user_files(reads.files, reads.modules), *weights]))
    _BUILT[spec] = BuiltSpec(spec, model, files, _stamps(files))
    return _BUILT[spec]


def _module_file(spec: str, target: str) -> Path | None:
    try:
        found = importlib.util.find_spec(target)
    except (ImportError, ValueError) as exc:
        raise SpecError(f"model spec {spec!r}: no module named {target!r}") from exc
    if found is None:
        raise SpecError(f"model spec {spec!r}: no module named {target!r}")
    return Path(found.origin) if found.origin and Path(found.origin).is_file() else None


def spec_fingerprint(spec: str, model=None, *, mirror=None) -> str:
    """sha256 (hex) of what a spec's output depends on: the spec text; the bytes of its ``.py`` file (file spec)
    or of its module's file (module spec); of every user module it imports (a helper beside it, a sibling
    package) and every user file its build opens (an undeclared checkpoint), each with its path; the model's
    rate and latency; the bytes of every file in the model's ``weights_files`` (adapters set it from
    ``weights=``). Memoised per process on the files' stamps (:func:`built_spec`).

    ``model``: accepted for older callers and ignored (the memoised build is used).
    """
    del model
    built = built_spec(spec, mirror=mirror)
    h = hashlib.sha256(str(spec).encode())
    for f in built.files:
        h.update(f"{f}|{sha256_of(f)}".encode())
    m = built.model
    h.update(f"{m.sample_rate}|{getattr(m.card, 'latency_ms', None)}".encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ entry points


def _cards_of(obj: Any, where: str) -> list:
    if isinstance(obj, ModelCard):
        return [obj]
    if isinstance(obj, ModuleType):
        obj = getattr(obj, "CARDS", None)
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        cards = list(obj)
        if cards and all(isinstance(c, ModelCard) for c in cards):
            return cards
    raise SpecError(
        f"entry point {where}: expected a ModelCard, a list of them or a module with CARDS, got {type(obj).__name__}"
    )


def entry_point_cards(taken: Iterable[str] = ()) -> list:
    """The cards that installed packages add through the ``setoolkit.models`` entry points, in entry-point order.

    An entry point that fails to load or names something else is skipped with an :class:`EntryPointWarning`
    naming it and its package (one broken plugin does not hide the zoo); so is a card whose name is in ``taken``
    (the zoo's names) or was added by an earlier entry point: the first card of a name wins.
    """
    cards: list = []
    names = set(taken)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
        where = f"{ep.name} = {ep.value} (package {dist})"
        try:
            found = _cards_of(ep.load(), where)
        except Exception as exc:
            warnings.warn(
                f"setoolkit.models entry point {where} skipped: {type(exc).__name__}: {exc}",
                EntryPointWarning,
                stacklevel=2,
            )
            continue
        for c in found:
            if c.name in names:
                warnings.warn(
                    f"setoolkit.models entry point {where}: model name {c.name!r} is already taken (setoolkit's "
                    f"own card or an earlier package's is used; this one is skipped): rename it in {dist}",
                    EntryPointWarning,
                    stacklevel=2,
                )
                continue
            names.add(c.name)
            cards.append(c)
    return cards
