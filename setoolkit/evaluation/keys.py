"""Content keys: the hash of everything a row depends on (inputs, weights, code, library versions, metric set),
so a row computed from anything else is never reused.

A row's metric part covers only the metrics that row carries (the intrusive ones on paired sets, the non-intrusive
ones on rows that are not oracles), and for each only its own record's libraries, weights files and code
(:func:`metric_fingerprint`): a new release of one metric's library, or new weights, recomputes exactly the rows
that carry that metric."""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .. import assets
from ..metrics import registry as metric_registry
from ..model_refs import NOISY, ORACLES, absolute_spec
from ..model_specs import spec_fingerprint
from ..registry import get_card, names_a_spec

#: Libraries whose version can change a model's output (absent ones count as "absent"). Each metric's own
#: libraries are named in its record (:attr:`setoolkit.metrics.Metric.libraries`) and key only its rows:
#: :func:`metric_libraries`.
LIBRARIES = (
    "numpy",
    "scipy",
    "soxr",
    "soundfile",
    "onnxruntime",
    "torch",
    "tensorflow-cpu",
    "keras",
    "ai-edge-litert",
    "pyrnnoise",
)
#: Modules left out of code hashes: the card table changes with every description edit; a model's key
#: takes the card fields that shape its output instead (:func:`model_fingerprint`).
_NOT_HASHED = {"setoolkit.registry"}


def digest(*parts) -> str:
    """sha1 (hex) of ``parts`` joined by a unit separator: the one hash every key of the engine is made of."""
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()


def _module_path(module: str) -> Path | None:
    root = Path(__file__).parents[1]
    rel = module.split(".")[1:]
    for cand in (root.joinpath(*rel).with_suffix(".py"), root.joinpath(*rel, "__init__.py")):
        if rel and cand.is_file():
            return cand
    return None


@cache
def code_hash(*modules: str) -> str:
    """sha1 of the source of ``modules`` (``"setoolkit.metrics.scoring"``...) and of every setoolkit module they
    import, directly or not, at the top or inside functions (found statically, by parsing the imports)."""
    seen: dict[str, Path] = {}
    stack = list(modules)
    while stack:
        mod = stack.pop()
        path = _module_path(mod)
        if mod in seen or mod in _NOT_HASHED or path is None:
            continue
        seen[mod] = path
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                stack += [a.name for a in node.names if a.name.startswith("setoolkit.")]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    target = f"{base}.{node.module}" if node.module else base
                elif (node.module or "").startswith("setoolkit"):
                    assert node.module is not None  # it starts with "setoolkit"
                    target = node.module
                else:
                    continue
                stack += [target, *(f"{target}.{a.name}" for a in node.names)]
    h = hashlib.sha1()
    for mod in sorted(seen):
        h.update(mod.encode() + b"\0" + seen[mod].read_bytes() + b"\0")
    return h.hexdigest()


@cache
def library_version(name: str) -> str:
    """The installed version of distribution ``name`` (package metadata, nothing imported), or ``"absent"``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def library_versions(names: Sequence[str] = LIBRARIES) -> str:
    """``name==version`` of every library in ``names`` (default :data:`LIBRARIES`)."""
    return ",".join(f"{n}=={library_version(n)}" for n in names)


def metric_libraries(metrics: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
    """``{metric: the libraries its record names}`` for ``metrics`` (default: every registered metric)."""
    records = metric_registry.registered() if metrics is None else [m for _, m, _ in metric_registry.plan(metrics)]
    return {m.name: m.libraries for m in records}


def _weights_hash(ref: str, mirror=None) -> str:
    """A metric's weights entry: an asset's registered sha256 (verified when it is fetched), or a file's."""
    asset = assets.registry().get(ref)
    if asset is not None:
        return asset.sha256
    path = metric_registry.weight_file(ref, mirror)
    return file_hash(path) if path is not None else "absent"


def metric_fingerprint(name: str, mirror=None) -> str:
    """Hash of what one metric's numbers depend on: its name and columns, the code of its module (a spec: the
    bytes of its file), the versions of its record's libraries and the hashes of its weights files."""
    key = metric_registry.key_of(name)
    m = metric_registry.get(key)
    module = getattr(m.compute, "__module__", "") or ""
    spec = metric_registry.spec_file(key) if key != m.name else None
    return digest(
        key,
        m.columns,
        m.intrusive,
        m.rate if not callable(m.rate) else getattr(m.rate, "__qualname__", "rate"),
        file_hash(spec) if spec is not None else (code_hash(module) if module.startswith("setoolkit.") else module),
        library_versions(m.libraries),
        tuple(_weights_hash(w, mirror) for w in m.weights),
    )


def file_hash(path: str | os.PathLike | None) -> str:
    """sha256 of a file's bytes (memoised on path, size and mtime); ``""`` for no file."""
    return assets.sha256_of(path) if path else ""


def model_fingerprint(name: str, mirror=None) -> str:
    """Hash of what a model's output depends on: the card fields that shape it (builder, rate, framing,
    hyper-parameters, weight names), the sha256 of each weights file as found now (looked up on every call: a file
    replaced
    in a running session is seen), and the code of its builder module. A user model spec (``file.py:build``,
    ``pkg.mod:build``) is keyed by :func:`setoolkit.model_specs.spec_fingerprint` (its file's bytes, the user
    modules it imports, the files its build opens and the weights files it names), so editing the spec file, a
    helper module beside it or an undeclared checkpoint recomputes exactly its rows."""
    if name == NOISY:
        return NOISY
    if name in ORACLES:
        return digest(name, code_hash("setoolkit.models.oracle"), library_versions())
    if names_a_spec(name):
        return digest("spec", spec_fingerprint(absolute_spec(name), mirror=mirror), library_versions())
    card = get_card(name)
    weights = [file_hash(assets.fetch(w, mirror=mirror, download=False)) for w in card.weights]
    module = getattr(card.builder, "__module__", "") or ""
    builder = f"{module}:{getattr(card.builder, '__qualname__', card.builder)}"
    return digest(
        card.name,
        builder,
        card.sample_rate,
        card.frame,
        card.hop,
        repr(card.config),
        card.weights,
        weights,
        code_hash(module) if module else "",
        library_versions(),
    )


def metrics_fingerprint(
    metrics: Sequence[str], use_dnsmos: bool, *, intrusive: bool = True, non_intrusive: bool = True, mirror=None
) -> str:
    """Hash of the metrics a row carries (``metrics`` with the ``use_dnsmos`` alias applied, the intrusive ones
    only when ``intrusive``, the others only when ``non_intrusive``), each by :func:`metric_fingerprint`, and of
    the code that reads, aligns and scores (the task module and its imports, base libraries)."""
    names = metric_registry.resolve(metrics, use_dnsmos=use_dnsmos)
    carried = [
        (cols, metric_fingerprint(key, mirror))
        for key, m, cols in metric_registry.plan(names)
        if (intrusive if m.intrusive else non_intrusive)
    ]
    return digest(
        tuple(carried),
        code_hash("setoolkit.evaluation.task"),
        library_versions(("numpy", "scipy", "soxr", "soundfile")),
    )


def task_content(model: str, noisy, clean, *, metrics: Sequence[str], use_dnsmos: bool, mirror=None) -> str:
    """The content part of a row's key: input and reference sha256, model fingerprint, and the fingerprint of the
    metrics this row carries (the intrusive ones only with a clean file, the non-intrusive ones only for rows
    that are not oracles)."""
    mirror = str(mirror) if mirror else None
    parts = [
        file_hash(noisy),
        file_hash(clean),
        model_fingerprint(model, mirror),
        metrics_fingerprint(
            metrics, use_dnsmos, intrusive=clean is not None, non_intrusive=model not in ORACLES, mirror=mirror
        ),
    ]
    notes = reference_annotations(metrics, clean, use_dnsmos=use_dnsmos)
    return digest(*parts, notes) if notes else digest(*parts)


def reference_annotations(
    metrics: Sequence[str], clean, *, use_dnsmos: bool = True
) -> tuple[tuple[str, str | None], ...]:
    """What the row's intrusive metrics read about the clean file ``clean`` beyond its bytes (each record's
    ``annotation``: the set's transcript of it for ``wer``/``cer``), as ``((metric, text or None), ...)``; empty
    when no carried metric reads one (those rows' keys are as before annotations existed)."""
    if clean is None:
        return ()
    names = metric_registry.resolve(metrics, use_dnsmos=use_dnsmos)
    return tuple(
        (key, m.annotation(os.fspath(clean)))
        for key, m, _ in metric_registry.plan(names)
        if m.intrusive and m.annotation is not None
    )
