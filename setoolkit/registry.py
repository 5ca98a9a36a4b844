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
    #: the model whose weights this one runs through another runtime (same outputs): the main job scores
    #: that one and checks this one against it (parity in dB) and times it
    variant_of: str | None = None

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
    kw["expected"] = dict(kw.get("expected", {}))  # each card its own copy of shared floors
    return ModelCard(**kw)


_DPCRN_BASE_DESC = ("DPCRN-base (SKIP-DPCRN repo): GRU dual-path RNN between conv encoder/decoder, softplus "
                    "magnitude mask + unit phase, per-frame TFLite with explicit state [1,2,32,128]")
_DPCRN_DNS3_H5 = "weights/dpcrn_dns3/model_DPCRN_SNR+logMSE_causal_sinw.h5"
_DPCRN_BASE_H5 = "weights/dpcrn_base/models_experiment_new_base_nomap_phasenloss_retrain_WSJmodel_84_0.022068.h5"
#: What every DPCRN card shares, and the framing / size of the two released configurations.
_DPCRN = dict(family="dpcrn", sample_rate=16000, license="no license stated upstream", streaming=True)
_DNS3 = dict(frame=400, hop=200, latency_ms=25.0, params=804_646)
_BASE = dict(frame=512, hop=256, latency_ms=32.0, params=530_000)
_BASE_FLOOR = {"si_sdr": 9.0, "pesq_wb": 0.5}
_DNS3_FLOOR = {"si_sdr": 10.0, "pesq_wb": 0.6}
_DFN_FILES = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")

CARDS: dict[str, ModelCard] = {c.name: c for c in [
    _card(name="dpcrn-quant", **_DPCRN, **_BASE, framework="tflite", weights=["weights/dpcrn_base/dpcrn_quant.tflite"],
          builder="setoolkit.models.dpcrn_tflite:build",
          description="DPCRN-Quant: " + _DPCRN_BASE_DESC + "; dynamic-range int8 weights", expected=_BASE_FLOOR),
    _card(name="dpcrn-base", **_DPCRN, **_BASE, framework="tflite", weights=["weights/dpcrn_base/dpcrn.tflite"],
          builder="setoolkit.models.dpcrn_tflite:build", description=_DPCRN_BASE_DESC + "; float32 weights",
          expected=_BASE_FLOOR),
    _card(name="dpcrn-dns3", **_DPCRN, **_DNS3, framework="keras+torch", weights=[_DPCRN_DNS3_H5],
          builder="setoolkit.models.dpcrn:build_keras",
          description="DPCRN (Le et al. 2021) official DNS3 model, LSTM DPRNN, 400/200 sine window, complex "
                      "mask; offline: TF-native Keras 3 graph loaded from the h5; streaming: its PyTorch port",
          expected=_DNS3_FLOOR),
    _card(name="dpcrn-dns3-torch", **_DPCRN, **_DNS3, framework="torch", weights=[_DPCRN_DNS3_H5],
          builder="setoolkit.models.dpcrn:build_torch", variant_of="dpcrn-dns3",
          description="DPCRN-DNS3 ported to PyTorch from the h5 (hard-sigmoid LSTM gates); streaming carries "
                      "conv/transposed-conv caches and inter-frame LSTM (h, c)",
          expected=_DNS3_FLOOR),
    _card(name="dpcrn-dns3-torch-int8", **_DPCRN, **_DNS3, framework="torch int8", weights=[_DPCRN_DNS3_H5],
          builder="setoolkit.models.dpcrn:build_torch_int8",
          description="DPCRN-DNS3 PyTorch port with int8 weights in every linear layer (dense: torch dynamic "
                      "int8 kernels; LSTM matrices: int8 weights in the fused float recurrence); convs float",
          expected={"si_sdr": 9.5, "pesq_wb": 0.55}),
    _card(name="dpcrn-dns3-rt", **_DPCRN, **{**_BASE, "params": None}, framework="tflite",
          weights=["weights/dpcrn_dns3/dpcrn_stateful_model.tflite"], builder="setoolkit.models.dpcrn_tflite:build",
          description="official DPCRN_DNS3 real-time stateful TFLite (GRU, 512/256), two [1,32,128] states; "
                      "its 'lambda/Log' output is the softplus magnitude mask",
          expected={"si_sdr": 8.0, "pesq_wb": 0.5}),
    _card(name="dpcrn-base-h5", **_DPCRN, **{**_BASE, "params": 531_515}, framework="torch", weights=[_DPCRN_BASE_H5],
          builder="setoolkit.models.dpcrn:build_torch", variant_of="dpcrn-base",
          description=_DPCRN_BASE_DESC.split(", per-frame")[0] + "; PyTorch port of the original Keras h5",
          expected=_BASE_FLOOR),
    _card(name="dpcrn-base-onnx", **_DPCRN, **_BASE, framework="onnx", weights=["weights/dpcrn_base/dpcrn.onnx"],
          builder="setoolkit.models.dpcrn_tflite:build", variant_of="dpcrn-base",
          description=_DPCRN_BASE_DESC.replace("TFLite", "ONNX") + "; tf2onnx export, float32", expected=_BASE_FLOOR),
    _card(name="dpcrn-bearboy", **{**_DPCRN, "streaming": False}, **{**_DNS3, "latency_ms": None, "params": 670_664},
          framework="torch", weights=["weights/dpcrn_pytorch_bearboy/final_ckp.pth"],
          builder="setoolkit.models.dpcrn_bearboy:build",
          description="third-party PyTorch DPCRN (bear-boy/DPCRN-Pytorch) trained on VCTK-DEMAND; one DPRNN "
                      "block, utterance-level GroupNorm (not causal: offline only), 400/200 cosine window",
          expected={"si_sdr": 10.0, "pesq_wb": 0.5}),
    *[_card(name=f"deepfilternet{v}", family="deepfilternet", sample_rate=48000, framework="onnx", frame=960,
            hop=480, latency_ms=lat, params=params, weights=[f"weights/deepfilternet{v}/{f}" for f in _DFN_FILES],
            license="MIT OR Apache-2.0", streaming=True, builder="setoolkit.models.deepfilternet:build",
            description=desc, expected={"si_sdr": 9.0, "pesq_wb": 0.65})
      for v, lat, params, desc in [
          (2, 60.0, 2_305_393, "DeepFilterNet2: ERB gains + deep filtering of the gained spectrum (order 5), 48 kHz "
                               "full-band, official ONNX; 20 ms frame + 4 frames lookahead (2 mask + 2 filter)"),
          (3, 40.0, 2_134_641, "DeepFilterNet3: ERB gains + deep filtering of the noisy spectrum (order 5), 48 kHz "
                               "full-band, real-time, official ONNX; 20 ms frame + 2 frames lookahead")]],
    # Demucs: frame = input samples per 256-sample output hop (597 receptive field + 64 resampling lookahead)
    *[_card(name=f"denoiser-{n}", family="demucs", sample_rate=16000, framework="torch",
            frame=661 if causal else None, hop=256 if causal else None, latency_ms=41.3 if causal else None,
            params=p, weights=[f"weights/denoiser/{f}"], license="CC-BY-NC-4.0", streaming=causal,
            builder="setoolkit.models.demucs:build",
            description=f"Demucs denoiser {n} (facebookresearch/denoiser): waveform U-Net, {d}; setoolkit's "
                        "state-dict compatible port" + ("; streaming = upstream DemucsStreamer output, "
                                                        "incremental (stream output 512 samples late)" if causal
                                                        else "; offline only"),
            status="available; the official checkpoint is not in the mirror: fetched from dl.fbaipublicfiles.com "
                   "(sha256 prefix checked) or pass checkpoint=PATH; no quality numbers measured here")
      for n, f, p, causal, d in [
          ("dns48", "dns48-11decc9d8e3f0998.th", 18_867_937, True, "hidden 48, causal LSTM, x4 resampling, DNS"),
          ("dns64", "dns64-a7761ff99a7d5bb6.th", 33_533_569, True, "hidden 64, causal LSTM, x4 resampling, DNS"),
          ("master64", "master64-8a5dfb4bb92753dd.th", 33_533_569, True,
           "hidden 64, causal LSTM, x4 resampling, DNS + Valentini"),
          ("valentini-nc", "valentini_nc-93fc4337.th", 60_813_953, False,
           "hidden 64, BiLSTM, stride 2, x2 resampling, Valentini, non-causal")]],
    _card(name="segan-plus", family="segan", sample_rate=16000, framework="torch", frame=16384, hop=16384,
          latency_ms=1024.0, params=64_770_561, weights=["weights/segan/segan+_generator.ckpt"], license="MIT",
          streaming=False, builder="setoolkit.models.segan:build",
          description="SEGAN+ generator (santi-pdp/segan_pytorch, ckpt_segan+/train.opts): conv encoder-decoder "
                      "on pre-emphasised 16384-sample slices, alpha skips, z; loader proven only on checkpoints "
                      "in the released key layout with random values: quality numbers need the real file",
          status="available with verify=False only: the official segan+_generator.ckpt has no published "
                 "sha256 and is not in the mirror; no quality numbers measured here"),
    *[_card(name=n, family="gtcrn", sample_rate=16000, framework="torch", frame=512, hop=256,
            latency_ms=32.0, params=48_847, weights=[f"weights/gtcrn/{f}"], license="MIT", streaming=True,
            builder="setoolkit.models.gtcrn:build",
            description=f"GTCRN (ICASSP 2024, Xiaobin-Rong/gtcrn), 48 K params, complex ratio mask, {d}; "
                        "setoolkit's PyTorch port, cached streaming", expected=e)
      for n, f, d, e in [("gtcrn", "model_trained_on_dns3.tar", "trained on DNS3",
                          {"si_sdr": 7.5, "pesq_wb": 0.45}),       # measured +7.83 dB, +0.50
                         ("gtcrn-vctk", "model_trained_on_vctk.tar", "trained on VCTK-DEMAND",
                          {"si_sdr": 9.8, "pesq_wb": 0.7})]],       # measured +10.21 dB, +0.77
    *[_card(name=n, family="dtln", sample_rate=16000, framework=fw, frame=512, hop=128, latency_ms=32.0,
            params=986_753, weights=[f"weights/dtln/{f}" for f in files], license="MIT", streaming=True,
            builder="setoolkit.models.dtln:build", variant_of="dtln" if n in ("dtln-tflite", "dtln-onnx") else None,
            description="DTLN (Interspeech 2020, breizhn/DTLN): two LSTM cores (FFT mask, learned-basis mask), "
                        f"block 512 / shift 128, 384-sample delay compensated; {d}", expected=e)
      for n, fw, files, d, e in [
          ("dtln", "keras h5 -> torch", ["model.h5"], "the Keras h5 weights in setoolkit's PyTorch port",
           {"si_sdr": 8.9, "pesq_wb": 0.45}),                          # measured +9.16 dB, +0.48
          ("dtln-tflite", "tflite", ["model_1.tflite", "model_2.tflite"], "the official TFLite stage pair",
           {"si_sdr": 8.9, "pesq_wb": 0.45}),                          # measured +9.16 dB, +0.48
          ("dtln-quant", "tflite", ["model_quant_1.tflite", "model_quant_2.tflite"],
           "the official TFLite pair with int8 (dynamic-range) weights",
           {"si_sdr": 8.7, "pesq_wb": 0.29}),                          # measured +8.99 dB, +0.32
          ("dtln-onnx", "onnx", ["model_1.onnx", "model_2.onnx"], "the official ONNX stage pair",
           {"si_sdr": 8.9, "pesq_wb": 0.45})]],                        # measured +9.16 dB, +0.48
    *[_card(name=n, family="nsnet2", sample_rate=sr, framework="onnx", frame=frame, hop=hop, latency_ms=lat,
            params=p, weights=[f"weights/nsnet2/{f}"], license="CC-BY-4.0 (model), MIT (code)", streaming=True,
            builder="setoolkit.models.nsnet2:build",
            description=f"NSNet2, ICASSP 2021 DNS Challenge baseline (microsoft/DNS-Challenge), {d}: log-power "
                        "features, 2 GRU layers, spectral gain; GRU states exposed for streaming", expected=e)
      for n, sr, frame, hop, lat, p, f, d, e in [
          ("nsnet2", 16000, 320, 160, 20.0, 2_687_561, "nsnet2-20ms-baseline.onnx",
           "16 kHz, 20 ms window / 10 ms hop", {"si_sdr": 5.8, "pesq_wb": 0.32}),    # measured +6.08 dB, +0.35
          ("nsnet2-48k", 48000, 960, 512, 21.3, 6_168_113, "nsnet2-20ms-48k-baseline.onnx",
           "48 kHz, 20 ms window, FFT 1024 / hop 512 as upstream",
           {"si_sdr": 5.0, "pesq_wb": 0.28})]],                        # measured +5.25 dB, +0.31 (vbd16k)
    _card(name="rnnoise", family="rnnoise", sample_rate=48000, framework="c (pyrnnoise)", frame=480, hop=480,
          latency_ms=30.0, params=2_900_000, weights=[], license="BSD-3-Clause (RNNoise), Apache-2.0 (pyrnnoise)",
          streaming=True, builder="setoolkit.models.rnnoise:build",
          description="RNNoise 0.2 model (xiph/rnnoise: conv + 3 block-sparse GRUs, band gains + pitch filter) "
                      "compiled into pyrnnoise 0.4.5's library, called frame by frame (10 ms hops, 20 ms window, "
                      "960-sample output delay compensated)",
          expected={"si_sdr": 5.3, "pesq_wb": 0.24}),                  # measured +5.57 dB, +0.26
]}


def list_models(*, available_only: bool = False) -> list[ModelCard]:
    """Every card (or only those that can be loaded now), in registry order."""
    return [c for c in CARDS.values() if c.available or not available_only]


def representatives(names) -> tuple[list[str], dict[str, str]]:
    """Split model ``names`` into the ones to score and ``{variant: representative}`` for the runtime
    variants whose representative is among ``names`` (a variant without it is scored itself)."""
    names = list(names)
    variants = {n: CARDS[n].variant_of for n in names if n in CARDS and CARDS[n].variant_of in names}
    return [n for n in names if n not in variants], variants


def runnable_models() -> tuple[list[str], dict[str, str]]:
    """Names of available models whose weights are on this machine (mirror or cache, checksum verified),
    and ``{name: reason}`` for the available ones that are not (``setoolkit fetch NAME`` downloads them)."""
    from .assets import fetch
    from .errors import SetoolkitError

    ready, missing = [], {}
    for card in list_models(available_only=True):
        try:
            for w in card.weights:
                fetch(w, download=False)
            ready.append(card.name)
        except SetoolkitError as exc:
            missing[card.name] = str(exc).split(";")[0]
    return ready, missing


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
