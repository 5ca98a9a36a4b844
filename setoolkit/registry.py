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
import importlib.util
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, cast

from .assets import fetch, registry
from .errors import MissingExtraError, ModelError, SetoolkitError
from .model_specs import entry_point_cards, is_spec, load_spec

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

#: The optional parts of setoolkit (``pip install 'setoolkit[EXTRA]'``, pyproject.toml) and the top-level modules
#: each provides; an extra counts as installed when every one of them can be found (nothing is imported).
EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("torch", "h5py"),
    "tf": ("tensorflow", "keras", "h5py"),
    "classical": ("noisereduce", "logmmse", "pyspeex_noise"),
    "rnnoise": ("pyrnnoise",),
    "learned-mos": ("torch", "distillmos"),
    "visqol": ("visqol",),
    "nisqa": ("torch",),
    "asr": ("pocketsphinx", "jiwer"),
    "speaker": ("resemblyzer", "webrtcvad", "librosa", "torch"),
    "mcd": ("pysptk", "fastdtw"),
    "emotion": ("opensmile", "sklearn", "torch", "torchaudio"),
    "dask": ("dask", "distributed"),
    "parquet": ("pyarrow",),
    "notebooks": ("jupyterlab", "ipywidgets", "anywidget", "nbclient"),
}

#: Metrics that need an extra (the others are in the core).
METRIC_EXTRAS = {"visqol": "visqol", "distillmos": "learned-mos"}


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extras(extras) -> list[str]:
    """The extras among ``extras`` that are not installed (one of their modules cannot be found)."""
    unknown = [x for x in extras if x not in EXTRAS]
    if unknown:
        raise ModelError(f"unknown extra(s) {unknown}; valid: {', '.join(EXTRAS)}")
    return [x for x in extras if not all(_found(m) for m in EXTRAS[x])]


def require_extras(extras, what: str) -> None:
    """Raise :class:`MissingExtraError` naming the first missing extra of ``extras`` (``what`` needs it)."""
    for x in missing_extras(extras):
        absent = ", ".join(m for m in EXTRAS[x] if not _found(m))
        raise MissingExtraError(f"{what} needs setoolkit[{x}] ({absent} not installed): pip install 'setoolkit[{x}]'")


class Builder:
    """A family's build function named ``"module:function"``, imported on the first call, so that declaring a
    card imports no framework. ``__module__`` and ``__qualname__`` are the target's (content keys read them)."""

    def __init__(self, target: str) -> None:
        module, _, function = target.partition(":")
        if not module or not function:
            raise ValueError(f"builder {target!r}: expected 'package.module:function'")
        self.__module__, self.__qualname__ = module, function

    def __call__(self, card: ModelCard, **kwargs):
        return getattr(importlib.import_module(self.__module__), self.__qualname__)(card, **kwargs)

    def __eq__(self, other) -> bool:
        return isinstance(other, Builder) and (self.__module__, self.__qualname__) == (
            other.__module__,
            other.__qualname__,
        )

    def __hash__(self) -> int:
        return hash((self.__module__, self.__qualname__))

    def __repr__(self) -> str:
        return f"Builder('{self.__module__}:{self.__qualname__}')"


@dataclass(frozen=True)
class Published:
    """A number a model's paper or official page publishes, to put beside setoolkit's own measurement.

    ``dataset``: ``"vbd"`` (VoiceBank+DEMAND 824-pair test set), ``"dns3_blind"``, ``"dns_2020_synthetic_noreverb"``
    ...; ``metric``: setoolkit's column name (``pesq_wb``, ``stoi``, ``si_sdr``, ``OVRL``, ``P808_MOS``...);
    ``official``: False when the number is the authors of *another* model's measurement of this one.
    """

    dataset: str
    metric: str
    value: float
    citation: str
    note: str = ""
    official: bool = True


@dataclass(frozen=True)
class ModelCard:
    """What a researcher needs to know about a model before running it.

    ``latency_ms`` is the algorithmic latency (frame length plus lookahead); ``weights`` are asset names
    (see :mod:`setoolkit.assets`); ``builder`` is the family function taking the card (and ``mirror=``...) and
    returning an :class:`~setoolkit.models.common.base.Enhancer` (or a :class:`Builder` naming it), or ``None`` while
    the model is not implemented yet (``status`` then says why); ``config`` holds the checkpoint's hyper-parameters
    in the family's own form; ``extras`` the optional parts of setoolkit it needs (:data:`EXTRAS`).
    """

    name: str
    family: str
    sample_rate: int
    framework: str
    frame: int | None
    hop: int | None
    latency_ms: float | None
    params: int | None
    weights: tuple[str, ...]
    license: str
    streaming: bool
    builder: Callable | None
    description: str
    status: str = "available"
    #: expected improvement over noisy on vbd16k, measured by setoolkit (metric -> minimum delta)
    expected: dict = field(default_factory=dict)
    #: the checkpoint's hyper-parameters, as its family's builder reads them
    config: Any = None
    #: numbers the model's paper or official page publishes (:class:`Published`)
    published: tuple = ()
    #: the model whose weights this one runs through another runtime (same outputs): the main job scores
    #: that one and checks this one against it (parity in dB) and times it
    variant_of: str | None = None
    #: the data the checkpoint was trained on, as its source states it (``"none"``: no training); see
    #: :func:`setoolkit.training_data.in_domain`
    trained_on: str = ""
    #: the optional parts of setoolkit the model needs (``"torch"``, ``"tf"``...: :data:`EXTRAS`); () = the core
    extras: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.builder is not None

    @property
    def missing_extras(self) -> list[str]:
        """The card's extras that are not installed here (``[]`` when it can run)."""
        return missing_extras(self.extras)

    @property
    def file_bytes(self) -> int | None:

        sizes = [registry()[w].bytes for w in self.weights if w in registry()]
        return sum(s for s in sizes if s) if sizes and all(sizes) else None


def card(**kw) -> ModelCard:
    """A :class:`ModelCard` from keyword arguments (``weights`` any sequence; ``expected`` copied per card)."""
    kw["weights"] = tuple(kw.get("weights", ()))
    kw["expected"] = dict(kw.get("expected", {}))
    kw["published"] = tuple(kw.get("published", ()))
    kw["extras"] = tuple(kw.get("extras", ()))
    missing_extras(kw["extras"])  # an unknown extra name is an error where the card is declared
    if isinstance(kw.get("builder"), str):
        kw["builder"] = Builder(kw["builder"])
    return ModelCard(**kw)


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
            for c in entry_point_cards():  # installed packages' cards (setoolkit.models entry points)
                if c.name in cards:
                    raise ModelError(f"model name {c.name!r} is declared twice (second time by an entry point)")
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
    if name not in CARDS and is_spec(name):
        return load_spec(name, **kwargs)
    c = get_card(name)
    if not c.available:
        ready = ", ".join(m.name for m in list_models(available_only=True))
        raise ModelError(f"model {name!r} is not available yet: {c.status}. Available now: {ready}")
    require_extras(c.extras, f"model {name!r}")
    assert c.builder is not None  # available
    return c.builder(c, **kwargs)
