"""Content keys: the hash of everything a row depends on (inputs, weights, code, library versions, metric set),
so a row computed from anything else is never reused."""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path

from .. import assets
from ..model_refs import NOISY, ORACLES, absolute_spec
from ..model_specs import spec_fingerprint
from ..registry import get_card, missing_extras, names_a_spec

#: Libraries whose version can change a row's numbers (absent ones count as "absent").
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
    "pesq",
    "pystoi",
    "fast-bss-eval",
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


@lru_cache(maxsize=1)
def library_versions() -> str:
    """``name==version`` of every library in :data:`LIBRARIES` (read from package metadata, not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    return ",".join(f"{n}=={v(n)}" for n in LIBRARIES)


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


def metrics_fingerprint(metrics: Sequence[str], use_dnsmos: bool) -> str:
    """Hash of the metric set and of the code that reads, aligns and scores (this module and its imports)."""
    return digest(
        tuple(metrics),
        use_dnsmos,
        not missing_extras(["learned-mos"]),
        code_hash("setoolkit.evaluation.task", "setoolkit.metrics.dnsmos", "setoolkit.metrics.learned"),
        library_versions(),
    )


def task_content(model: str, noisy, clean, *, metrics: Sequence[str], use_dnsmos: bool, mirror=None) -> str:
    """The content part of a row's key: input and reference sha256, model fingerprint, metric fingerprint."""
    return digest(
        file_hash(noisy),
        file_hash(clean),
        model_fingerprint(model, str(mirror) if mirror else None),
        metrics_fingerprint(metrics, use_dnsmos),
    )
