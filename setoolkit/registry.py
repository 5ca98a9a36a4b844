"""The model cards: one table of every model setoolkit knows, and :func:`load` to build one.

A card says what a model is (family, rate, framing, latency, size, license, streaming) and where its
builder lives; building imports only that family's module, so ``setoolkit models`` stays fast.
Names are stable across releases.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from .errors import ModelError


@dataclass(frozen=True)
class ModelCard:
    """What a researcher needs to know about a model before running it.

    ``latency_ms`` is the algorithmic latency (frame length plus lookahead); ``weights`` are asset names
    (see :mod:`setoolkit.assets`); ``builder`` is ``"module:function"`` taking the card and returning an
    :class:`~setoolkit.models.base.Enhancer`, or ``None`` while the model is not implemented yet
    (``status`` then says why).
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
    builder: str | None
    description: str
    status: str = "available"
    #: expected improvement over noisy on vbd16k, measured by setoolkit (metric -> minimum delta)
    expected: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.builder is not None

    @property
    def file_bytes(self) -> int | None:
        from .assets import registry

        sizes = [registry()[w].bytes for w in self.weights if w in registry()]
        return sum(s for s in sizes if s) if sizes and all(sizes) else None


def _card(**kw) -> ModelCard:
    kw["weights"] = tuple(kw.get("weights", ()))
    return ModelCard(**kw)


_DPCRN_BASE_DESC = ("DPCRN-base (SKIP-DPCRN repo): GRU dual-path RNN between conv encoder/decoder, softplus "
                    "magnitude mask + unit phase, per-frame TFLite with explicit state [1,2,32,128]")

CARDS: dict[str, ModelCard] = {c.name: c for c in [
    _card(name="dpcrn-quant", family="dpcrn", sample_rate=16000, framework="tflite", frame=512, hop=256,
          latency_ms=32.0, params=530_000, weights=["weights/dpcrn_base/dpcrn_quant.tflite"],
          license="no license stated upstream", streaming=True,
          builder="setoolkit.models.dpcrn_tflite:build",
          description="DPCRN-Quant: " + _DPCRN_BASE_DESC + "; dynamic-range int8 weights",
          expected={"si_sdr": 9.0, "pesq_wb": 0.5}),
    _card(name="dpcrn-base", family="dpcrn", sample_rate=16000, framework="tflite", frame=512, hop=256,
          latency_ms=32.0, params=530_000, weights=["weights/dpcrn_base/dpcrn.tflite"],
          license="no license stated upstream", streaming=True,
          builder="setoolkit.models.dpcrn_tflite:build",
          description=_DPCRN_BASE_DESC + "; float32 weights",
          expected={"si_sdr": 9.0, "pesq_wb": 0.5}),
    _card(name="dpcrn-dns3", family="dpcrn", sample_rate=16000, framework="keras+torch", frame=400, hop=200,
          latency_ms=25.0, params=800_000, weights=["weights/dpcrn_dns3/model_DPCRN_SNR+logMSE_causal_sinw.h5"],
          license="no license stated upstream", streaming=True, builder=None,
          description="DPCRN (Le et al. 2021) official DNS3 model, LSTM DPRNN, 400/200 sine window",
          status="planned (issue #9: TF-native model and PyTorch port)"),
    _card(name="deepfilternet2", family="deepfilternet", sample_rate=48000, framework="onnx", frame=960, hop=480,
          latency_ms=40.0, params=2_310_000, weights=["weights/deepfilternet2/enc.onnx",
                                                     "weights/deepfilternet2/erb_dec.onnx",
                                                     "weights/deepfilternet2/df_dec.onnx"],
          license="MIT OR Apache-2.0", streaming=True, builder=None,
          description="DeepFilterNet2: ERB gains + deep filtering, 48 kHz full-band",
          status="planned (issue #6)"),
    _card(name="deepfilternet3", family="deepfilternet", sample_rate=48000, framework="onnx", frame=960, hop=480,
          latency_ms=40.0, params=2_130_000, weights=["weights/deepfilternet3/enc.onnx",
                                                     "weights/deepfilternet3/erb_dec.onnx",
                                                     "weights/deepfilternet3/df_dec.onnx"],
          license="MIT OR Apache-2.0", streaming=True, builder=None,
          description="DeepFilterNet3: ERB gains + deep filtering, 48 kHz full-band, real-time",
          status="planned (issue #6)"),
    *[_card(name=f"denoiser-{n}", family="demucs", sample_rate=16000, framework="torch", frame=None, hop=None,
            latency_ms=None, params=p, weights=[f"weights/denoiser/{f}"], license="CC-BY-NC-4.0",
            streaming=causal, builder=None,
            description=f"Demucs denoiser {n} (facebookresearch/denoiser), waveform U-Net + LSTM",
            status="planned (issue #4); official checkpoint downloads from dl.fbaipublicfiles.com")
      for n, f, p, causal in [("dns48", "dns48-11decc9d8e3f0998.th", 18_900_000, True),
                              ("dns64", "dns64-a7761ff99a7d5bb6.th", 33_500_000, True),
                              ("master64", "master64-8a5dfb4bb92753dd.th", 33_500_000, True),
                              ("valentini-nc", "valentini_nc-93fc4337.th", 33_500_000, False)]],
    _card(name="segan-plus", family="segan", sample_rate=16000, framework="torch", frame=16384, hop=16384,
          latency_ms=None, params=None, weights=["weights/segan/segan+_generator.ckpt"], license="MIT",
          streaming=False, builder=None, description="SEGAN+ generator (santi-pdp/segan_pytorch)",
          status="planned (issue #4)"),
    _card(name="gtcrn", family="gtcrn", sample_rate=16000, framework="torch", frame=512, hop=256,
          latency_ms=32.0, params=48_000, weights=["weights/gtcrn/model_trained_on_dns3.tar"], license="MIT",
          streaming=True, builder=None, description="GTCRN (ICASSP 2024), 48 K parameters",
          status="planned (issue #4)"),
    _card(name="dtln", family="dtln", sample_rate=16000, framework="tflite", frame=512, hop=128,
          latency_ms=32.0, params=990_000, weights=["weights/dtln/model_1.tflite", "weights/dtln/model_2.tflite"],
          license="MIT", streaming=True, builder=None, description="DTLN (Interspeech 2020), two LSTM stages",
          status="planned (issue #4)"),
    _card(name="nsnet2", family="nsnet2", sample_rate=16000, framework="onnx", frame=320, hop=160,
          latency_ms=20.0, params=None, weights=["weights/nsnet2/nsnet2-20ms-baseline.onnx"],
          license="CC-BY-4.0", streaming=True, builder=None, description="NSNet2 DNS Challenge baseline",
          status="planned"),
    _card(name="rnnoise", family="rnnoise", sample_rate=48000, framework="c (pyrnnoise)", frame=480, hop=480,
          latency_ms=10.0, params=88_000, weights=[], license="BSD-3-Clause", streaming=True, builder=None,
          description="RNNoise v0.1 (weights compiled into pyrnnoise)", status="planned"),
]}


def list_models(*, available_only: bool = False) -> list[ModelCard]:
    """Every card (or only those that can be loaded now), in registry order."""
    return [c for c in CARDS.values() if c.available or not available_only]


def get_card(name: str) -> ModelCard:
    """The card of ``name``; an unknown name gets an error listing the valid ones."""
    if name not in CARDS:
        raise ModelError(f"unknown model {name!r}; valid models: {', '.join(CARDS)}")
    return CARDS[name]


def load(name: str, **kwargs):
    """Build the model called ``name`` from its verified official weights.

    Returns an :class:`~setoolkit.models.base.Enhancer`: ``enhance(audio, sr)`` and, for causal models,
    ``stream()``. Extra keyword arguments (e.g. ``mirror=``) go to the family builder.
    """
    card = get_card(name)
    if not card.available:
        ready = ", ".join(c.name for c in list_models(available_only=True))
        raise ModelError(f"model {name!r} is not available yet: {card.status}. Available now: {ready}")
    module, func = card.builder.split(":")
    return getattr(importlib.import_module(module), func)(card, **kwargs)
