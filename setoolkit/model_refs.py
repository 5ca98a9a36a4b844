"""One reference per model a run names: its display name, where it comes from and how to build it.

A user names models in several ways: a zoo name (``gtcrn``), an installed package's card, a model spec
(``my_model.py:build``, ``pkg.mod:build``), an oracle row (``oracle-irm``) or the ``noisy`` input. :func:`resolve`
turns each into a :class:`ModelRef` once, before any task is planned:

* ``name``: what tables, the report, figures, players and listening tests show. For a zoo or plugin card, its card
  name; for a spec, the built model's own name (the adapter's ``name=``, or the module/callable name), never its
  file path; unique within the run (a second model with a name already taken gets ``~2`` and a warning).
* ``source``: what builds it (the zoo name, or the spec with its file made absolute so workers and cluster nodes
  load the same file): it enters content keys and the store, never a page.
* ``card``: the model's card (a spec's is taken from the built model: its parameters and latency).

Every API that takes a model name (``compare``, ``versus_best``, ``build_test(systems=...)``) takes the display name;
:func:`table_name` also maps a spec written as the user wrote it (``my_model.py:build``) to its display name.

Examples
--------
>>> refs, broken = resolve(["gtcrn", "my_model.py:build"])
>>> [r.name for r in refs]
['gtcrn', 'my_model']
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .cards import ModelCard
from .errors import ModelError, SetoolkitError
from .model_specs import built_spec, is_spec, parse_spec
from .models.oracle import KINDS
from .registry import CARDS, get_card, names_a_spec
from .registry import load as load_card

#: The unprocessed input's rows (the baseline of every comparison).
NOISY = "noisy"
#: The oracle-mask rows of paired sets (:mod:`setoolkit.models.oracle`): not models, the ceiling of each leaderboard.
ORACLES = tuple(f"oracle-{k}" for k in KINDS)


@dataclass(frozen=True)
class ModelRef:
    """One model of a run: ``name`` (display, unique in the run), ``source`` (what builds it: a zoo name or an
    absolute spec), ``kind`` (``"zoo"``, ``"plugin"``, ``"spec"``, ``"oracle"``, ``"noisy"``), ``card``."""

    name: str
    source: str
    kind: str
    card: ModelCard | None = None

    @property
    def is_user(self) -> bool:
        """Whether the model is the user's own (a spec), not a card of the zoo or of an installed package."""
        return self.kind == "spec"


def absolute_spec(spec: str) -> str:
    """``spec`` with a file target made absolute (a module spec as it is)."""
    kind, target, attr = parse_spec(spec)
    return f"{Path(target).expanduser().resolve()}:{attr}" if kind == "file" else spec


def _kind(name: str) -> str:
    if name == NOISY:
        return "noisy"
    if name in ORACLES:
        return "oracle"
    if name in CARDS:
        module = getattr(CARDS[name].builder, "__module__", "") or ""
        return "plugin" if module and not module.startswith("setoolkit.") else "zoo"
    return "spec" if is_spec(name) else "zoo"


def resolve(names: Iterable[str], *, mirror=None, build_specs: bool = True) -> tuple[list[ModelRef], dict[str, str]]:
    """The :class:`ModelRef` of each of ``names`` (duplicates folded with a warning), and ``{given: reason}`` for
    the specs that cannot give a model here (the reason names the spec; those models are not run).

    Each spec is built once in this process (:func:`setoolkit.model_specs.built_spec`) to read its name and card;
    ``build_specs=False`` names a spec by its callable instead (no build: for listing only). Zoo names are not
    checked here (an unknown one fails where it is loaded, naming the valid ones)."""
    refs: list[ModelRef] = []
    broken: dict[str, str] = {}
    sources: set[str] = set()
    for given in names:
        text = str(given).strip()
        if not text:
            raise ModelError(f"empty model name in {', '.join(map(str, names))!r}")
        kind = _kind(text)
        source = absolute_spec(text) if kind == "spec" else text
        if source in sources:
            warnings.warn(f"model {given!r} is listed twice: evaluated once", stacklevel=2)
            continue
        sources.add(source)
        card = CARDS.get(text) if kind in ("zoo", "plugin") else None
        name = text
        if kind == "spec":
            if build_specs:
                try:
                    card = built_spec(source, mirror=mirror).model.card
                except SetoolkitError as exc:
                    warnings.warn(str(exc), stacklevel=2)
                    broken[text] = str(exc)
                    continue
                name = card.name
            else:
                name = parse_spec(text)[2].rpartition(".")[2]
        refs.append(ModelRef(_unique(name, refs, given) if kind == "spec" else name, source, kind, card))
    return refs, broken


def _unique(name: str, refs: Sequence[ModelRef], given: str) -> str:
    """``name`` for a user model, or ``name~k`` when a model of the run or a card of the zoo already has it."""
    taken = {r.name for r in refs} | set(CARDS) | {NOISY, *ORACLES}
    if name not in taken:
        return name
    k = 2
    while f"{name}~{k}" in taken:
        k += 1
    warnings.warn(
        f"model {given!r} is named {name!r}, a name already taken (in this run or by the zoo): shown as '{name}~{k}'",
        stacklevel=3,
    )
    return f"{name}~{k}"


def load(name: str, **kwargs):
    """Build the model called ``name``: a zoo or plugin card (:func:`setoolkit.registry.load`) or a model spec,
    ``path/to/file.py:callable`` or ``package.module:callable`` (built once per process while its files are
    unchanged; ``mirror=`` goes to its callable where it accepts it)."""
    if names_a_spec(name):
        return built_spec(absolute_spec(name), mirror=kwargs.get("mirror")).model
    return load_card(name, **kwargs)


def card_of(ref_or_name: ModelRef | str) -> ModelCard | None:
    """The card of a reference (or of a zoo name); ``None`` for ``noisy`` and the oracles."""
    if isinstance(ref_or_name, ModelRef):
        return ref_or_name.card
    return get_card(ref_or_name) if ref_or_name in CARDS else None


def table_name(models: Iterable[str], name: str, *, strict: bool = True) -> str:
    """The display name among ``models`` (a table's ``model`` column) that ``name`` means: ``name`` itself, or, for
    a model spec written as the user wrote it (``my_model.py:build``, relative or absolute), the name its model
    carries. Raises :class:`ModelError` listing the models when none matches (``strict=False``: returns ``name``
    as it is, for the caller's own error)."""
    present = list(dict.fromkeys(str(m) for m in models))
    if name in present:
        return name
    if is_spec(name):
        try:
            shown = built_spec(absolute_spec(name)).model.card.name
        except SetoolkitError:
            shown = None
        matches = [m for m in present if m == shown or (shown and m.startswith(f"{shown}~"))]
        if len(matches) == 1:
            return matches[0]
    if not strict:
        return name
    raise ModelError(f"model {name!r} is not in this table; its models: {', '.join(present)}")


#: The file beside ``scores.csv`` that keeps each model's card facts (user models are in no registry).
MODELS_CSV = "models.csv"
#: Its columns.
MODEL_COLUMNS = ("model", "kind", "family", "sample_rate", "latency_ms", "params", "license", "trained_on")


def model_table(refs: Iterable[ModelRef]):
    """One row per model (``noisy`` and the oracles left out) with :data:`MODEL_COLUMNS`: what the report needs
    to place a model by size and latency, user models included."""
    import pandas as pd  # pandas only where a table is made: setoolkit.load stays light

    rows = []
    for r in refs:
        c = r.card if r.card is not None else card_of(r.source) if r.kind in ("zoo", "plugin") else None
        if r.kind in ("noisy", "oracle") or c is None:
            continue
        rows.append(
            {
                "model": r.name,
                "kind": r.kind,
                "family": c.family,
                "sample_rate": c.sample_rate,
                "latency_ms": c.latency_ms,
                "params": c.params,
                "license": c.license,
                "trained_on": c.trained_on,
            }
        )
    return pd.DataFrame(rows, columns=list(MODEL_COLUMNS))
