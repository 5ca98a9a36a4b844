"""The model cards and :func:`load`: one registry that collects the cards each model family declares.

A card says what a model is (family, rate, framing, latency, size, license, streaming, the hyper-parameters
of its checkpoint) and which function builds it. Each family declares its cards next to its code (``CARDS``
in ``setoolkit/models/<family>.py`` or ``setoolkit/models/<family>/cards.py``, one per released checkpoint);
adding a model touches that family file and ``assets.tsv``. The registry imports the card modules on first use,
and they import no framework: a builder in a PyTorch or TensorFlow module is named by ``"module:function"``
(:class:`Builder`) and imported on the first :func:`load`, so ``import setoolkit; setoolkit.list_models()``
imports neither. A card's ``extras`` name the optional parts of setoolkit it needs (:data:`EXTRAS`); one whose
extra is not installed is listed as "needs setoolkit[EXTRA]" and :func:`load` says which to install. Names are
stable across releases: they are users' interface.
"""

from __future__ import annotations

import importlib
from collections.abc import MutableMapping
from typing import cast

from .assets import fetch
from .cards import EXTRAS, Builder, ModelCard, Published, card, missing_extras, require_extras
from .errors import ModelError, SetoolkitError
from .model_specs import entry_point_cards, is_spec, load_spec

__all__ = [
    "CARDS",
    "EXTRAS",
    "FAMILY_CARDS",
    "Builder",
    "ModelCard",
    "Published",
    "card",
    "get_card",
    "list_models",
    "load",
    "missing_extras",
    "names_a_spec",
    "not_run_note",
    "representatives",
    "require_extras",
    "runnable_models",
]

#: Where the cards are declared, in the order ``setoolkit models`` lists them.
FAMILY_CARDS = (
    "setoolkit.models.dpcrn.cards",
    "setoolkit.models.deepfilternet.cards",
    "setoolkit.models.demucs.cards",
    "setoolkit.models.segan.cards",
    "setoolkit.models.gtcrn.cards",
    "setoolkit.models.dtln.cards",
    "setoolkit.models.nsnet2",
    "setoolkit.models.rnnoise",
    "setoolkit.models.classical",
)


class _Cards(MutableMapping):
    """``{name: ModelCard}`` of every family, collected from :data:`FAMILY_CARDS` on first access."""

    def __init__(self) -> None:
        self._cards: dict[str, ModelCard] | None = None

    def _all(self) -> dict[str, ModelCard]:
        if self._cards is None:
            cards: dict[str, ModelCard] = {}
            for module in FAMILY_CARDS:
                for c in importlib.import_module(module).CARDS:
                    if c.name in cards:
                        raise ModelError(f"model name {c.name!r} is declared twice (second time in {module})")
                    cards[c.name] = c
            for c in entry_point_cards(taken=cards):  # installed packages' cards; a clash: a warning, ours win
                cards[c.name] = c
            self._cards = cards
        return self._cards

    def __getitem__(self, name: str) -> ModelCard:
        return self._all()[name]

    def __setitem__(self, name: str, value: ModelCard) -> None:
        self._all()[name] = value

    def __delitem__(self, name: str) -> None:
        del self._all()[name]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


#: Every card by name, in :data:`FAMILY_CARDS` order.
CARDS: MutableMapping[str, ModelCard] = _Cards()


def list_models(*, available_only: bool = False) -> list[ModelCard]:
    """Every card (or only those that can be loaded now), in registry order."""
    return [c for c in CARDS.values() if c.available or not available_only]


def representatives(names) -> tuple[list[str], dict[str, str]]:
    """Split model ``names`` into the ones to score and ``{variant: representative}`` for the runtime
    variants whose representative is among ``names`` (a variant without it is scored itself)."""
    names = list(names)
    variants = {
        n: cast(str, CARDS[n].variant_of)  # in names: a str
        for n in names
        if n in CARDS and CARDS[n].variant_of in names
    }
    return [n for n in names if n not in variants], variants


def runnable_models() -> tuple[list[str], dict[str, str]]:
    """Names of available models whose extras are installed and whose weights are on this machine (mirror or
    cache, checksum verified), and ``{name: reason}`` for the available ones that are not ("needs
    setoolkit[tf]"; a missing file: ``setoolkit fetch NAME`` downloads it)."""
    ready, missing = [], {}
    for c in list_models(available_only=True):
        if c.missing_extras:
            missing[c.name] = f"needs setoolkit[{c.missing_extras[0]}]"
            continue
        try:
            for w in c.weights:
                fetch(w, download=False)
            ready.append(c.name)
        except SetoolkitError as exc:
            missing[c.name] = str(exc).split(";")[0]
    return ready, missing


def not_run_note(reasons: dict[str, str]) -> str:
    """``runnable_models()``'s ``{name: reason}`` as one line for a report: the models grouped by why they
    were not run ("weights not on this machine", "needs setoolkit[tf]"...)."""
    groups: dict[str, list[str]] = {}
    for name, reason in reasons.items():
        why = reason if reason.startswith(("needs setoolkit[", "model spec")) else "weights not on this machine"
        groups.setdefault(why, []).append(name)
    return "not run: " + "; ".join(f"{', '.join(names)} ({why})" for why, names in groups.items())


def names_a_spec(name: str) -> bool:
    """Whether ``name`` is a model spec (``file.py:callable``, ``pkg.mod:callable``) rather than a card's name: the
    one place that tells them apart (a card's name wins)."""
    return name not in CARDS and is_spec(name)


def get_card(name: str) -> ModelCard:
    """The card of ``name``; an unknown name gets an error listing the valid ones."""
    if name not in CARDS:
        raise ModelError(f"unknown model {name!r}; valid models: {', '.join(CARDS)}")
    return CARDS[name]


def load(name: str, **kwargs):
    """Build the model called ``name`` from its verified official weights.

    Returns an :class:`~setoolkit.models.common.base.Enhancer`: ``enhance(audio, sr)`` and, for causal models,
    ``stream()``. Extra keyword arguments (e.g. ``mirror=``) go to the family builder. ``name`` may also be a
    model spec, ``path/to/file.py:callable`` or ``package.module:callable`` (:mod:`setoolkit.model_specs`). A
    model whose extra is not installed raises :class:`~setoolkit.errors.MissingExtraError` naming it.
    """
    if names_a_spec(name):
        return load_spec(name, **kwargs)
    c = get_card(name)
    if not c.available:
        ready = ", ".join(m.name for m in list_models(available_only=True))
        raise ModelError(f"model {name!r} is not available yet: {c.status}. Available now: {ready}")
    require_extras(c.extras, f"model {name!r}")
    assert c.builder is not None  # available
    return c.builder(c, **kwargs)
