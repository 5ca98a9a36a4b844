"""Learned quality predictors beside PESQ and DNSMOS: DistillMOS (non-intrusive) and ViSQOL v3 speech mode (intrusive).

* :func:`distillmos`: DistillMOS (Stahl & Gamper, ICASSP 2025), a 17 MB CNN-transformer distilled from an
  XLS-R speech-quality model, trained on NISQA/BVCC-style MOS ratings; predicts the MOS of one signal, 1..5. The
  weights ship inside the ``distillmos`` wheel (``distillmos/weights/distill_mos_v7.pt``, checked here by sha256)
  and load with ``torch.load(weights_only=True)``: it runs offline. Its one import dependency ``xls-r-sqa`` is
  installed with ``--no-deps``; ``distillmos`` imports only ``xls_r_sqa.config`` and ``xls_r_sqa.sqa_model``, which
  need torch alone (``transformers`` is needed only by ``xls_r_sqa.e2e_model``, the XLS-R teacher, never imported).
* :func:`visqol`: ViSQOL v3 in speech mode (``visqol-python``, a port of Google's C++ ViSQOL 3.3): gammatone
  spectrogram patches of the voiced parts, NSIM similarity after global and fine alignment, mapped to MOS-LQO by
  the deep-lattice model that is the C++ tool's speech default (bundled ``.tflite``, run by ``ai-edge-litert``).
  1..5, higher is better; about 4.6-4.8 for a signal against itself.

Both work at 16 kHz: other input rates are resampled (soxr) first. Models are loaded once per process and reused;
calls are serialised by a lock, so threads may share them. Both run on CPU with one thread.

Examples
--------
>>> distillmos(noisy, 16000)                 # vbd16k p232_001: 3.67 (its clean file: 3.89)
>>> visqol(clean, noisy, 16000)              # vbd16k p232_001: 1.36
"""

from __future__ import annotations

import hashlib
import math
import threading
import warnings
from functools import lru_cache

import numpy as np

from ..audio import resample
from ..errors import AssetError
from ..registry import require_extras
from .pairs import degenerate, equal_length, is_silent, mono
from .registry import Metric

#: The rate both models work at (Hz).
RATE = 16000
#: sha256 of ``distillmos/weights/distill_mos_v7.pt`` in distillmos 0.9.1.
DISTILLMOS_SHA256 = "b18b3ac60227267cfb91e5d00ce22cc7b73716fd92f269484da1446e27031a40"

_lock = threading.Lock()


def _at_rate(x: np.ndarray, sr: int) -> np.ndarray:
    if sr <= 0:
        raise ValueError(f"sr must be a positive rate in Hz, got {sr}")
    if sr == RATE:
        return x.astype(np.float32)
    return resample(x.astype(np.float32), sr, RATE)


@lru_cache(maxsize=1)
def _distillmos_model():
    require_extras(["learned-mos"], "the distillmos metric")
    import torch
    from distillmos.sqa import DEFAULT_WEIGHTS_CHKPT, ConvTransformerSQAModel

    from ..models.common.checkpoints import load_torch_checkpoint

    with open(DEFAULT_WEIGHTS_CHKPT, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != DISTILLMOS_SHA256:
        raise AssetError(
            f"{DEFAULT_WEIGHTS_CHKPT}: sha256 {digest}, expected {DISTILLMOS_SHA256} "
            "(distillmos 0.9.1's weights); reinstall distillmos==0.9.1"
        )
    model = ConvTransformerSQAModel(load_weights=False)  # its own loader prints; load the same file here
    model.load_state_dict(load_torch_checkpoint(DEFAULT_WEIGHTS_CHKPT)["model"])
    model.eval()
    return model, torch


def distillmos(x, sr: int) -> float:
    """DistillMOS: predicted MOS (1..5, higher is better) of one speech signal, no reference needed.

    Parameters
    ----------
    x : np.ndarray, shape ``(samples,)`` or ``(1, samples)``
        Mono speech at ``sr`` Hz, any level (the model normalises to the peak). Clips longer than 7.68 s are scored
        in overlapping 7.68 s crops and averaged; shorter ones are zero-padded (by the model).
    sr : int
        Sample rate in Hz; resampled to 16 kHz first.

    Returns
    -------
    float
        MOS estimate; NaN with a warning for an all-zero signal or one shorter than 0.25 s.

    Examples
    --------
    >>> distillmos(noisy, 16000)     # vbd16k p232_001
    3.67
    """
    x = mono(x, "signal")
    if is_silent(x):
        warnings.warn("DistillMOS of an all-zero signal is undefined; returning NaN")
        return math.nan
    if len(x) < 0.25 * sr:
        warnings.warn(f"DistillMOS needs at least 0.25 s, got {len(x) / sr:.3f} s; returning NaN")
        return math.nan
    y = _at_rate(x, sr)
    with _lock:
        model, torch = _distillmos_model()
        with torch.inference_mode():
            return _distillmos_forward(model, torch, torch.from_numpy(np.ascontiguousarray(y))[None])


def _distillmos_forward(model, torch, x) -> float:
    """``ConvTransformerSQAModel.forward`` of distillmos 0.9.1 for one signal ``x`` ``(1, samples)`` at 16 kHz,
    with the same crops (7.68 s, at most 1 s apart, zero padding for shorter clips), the same peak
    normalisation per crop and the same mean; equal to the package's call within 1e-5 (tested). Two
    differences in how, not what: the crops run one at a time rather than stacked in one batch (a
    10 s clip's four crops cost 1.3x less so: a batch outgrows the caches), and the convolutions run on
    channels-last tensors (1.1x faster on one thread)."""
    import torch.nn.functional as F
    from distillmos.sqa import MAX_HOP_LEN, SEQ_LEN, _complex_compressed

    over = x.shape[1] - SEQ_LEN
    if over < 0:
        x, over = F.pad(x, (0, -over)), 0
    hops = int(np.ceil(over / MAX_HOP_LEN)) + 1
    cnn = model.cnn
    scores = []
    for c in np.linspace(0, 1, hops):
        crop = x[:, int(c * over) : int(c * over) + SEQ_LEN]
        crop = crop / (torch.max(torch.abs(crop), dim=1, keepdim=True).values + 1e-8)
        spec = _complex_compressed(crop, cnn.hop_length, cnn.win_length).permute(0, 3, 1, 2)
        feat = torch.flatten(cnn.cnn(spec.contiguous(memory_format=torch.channels_last)), 1, -2)
        scores.append(model.transformer_pool_attn(feat.permute(0, 2, 1)))
    return float(1 + 4 * torch.mean(torch.stack(scores).reshape(hops, -1, 1), dim=0)[0, 0])


@lru_cache(maxsize=1)
def _visqol_api():
    require_extras(["visqol"], "the visqol metric")
    import logging

    from visqol.api import VisqolApi

    logging.getLogger("visqol").setLevel(logging.ERROR)
    api = VisqolApi()
    api.create(mode="speech", use_lattice_model=True)
    return api


def visqol(ref, est, sr: int) -> float:
    """ViSQOL v3 speech-mode MOS-LQO (1..5, higher is better) of ``est`` against the clean ``ref``.

    Parameters
    ----------
    ref, est : np.ndarray, shape ``(samples,)``
        Clean reference and estimate at ``sr`` Hz, equal length (within rounding, see
        :mod:`setoolkit.metrics.pairs`). ViSQOL aligns them itself (global then per-patch alignment), so a small
        delay costs little.
    sr : int
        Sample rate in Hz; resampled to 16 kHz (speech mode's rate) first.

    Returns
    -------
    float
        MOS-LQO from the deep-lattice mapper (the C++ ViSQOL 3.3 speech default); NaN with a warning for an all-zero
        signal, a clip shorter than 0.5 s or one ViSQOL cannot score (no voiced patch found).

    Examples
    --------
    >>> visqol(clean, noisy, 16000)  # vbd16k p232_001
    1.36
    """
    ref, est = equal_length(ref, est)
    if degenerate("ViSQOL", ref, est):
        return math.nan
    if len(ref) < 0.5 * sr:
        warnings.warn(f"ViSQOL needs at least 0.5 s, got {len(ref) / sr:.3f} s; returning NaN")
        return math.nan
    r, e = _at_rate(ref, sr).astype(np.float64), _at_rate(est, sr).astype(np.float64)
    try:
        with _lock, warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            value = float(_visqol_api().measure_from_arrays(r, e, RATE).moslqo)
    except (ValueError, IndexError, ZeroDivisionError) as exc:  # e.g. no voiced patch in the reference
        warnings.warn(f"ViSQOL could not score this clip ({type(exc).__name__}: {exc}); returning NaN")
        return math.nan
    if not math.isfinite(value):
        warnings.warn("ViSQOL returned a non-finite score for this clip; returning NaN")
        return math.nan
    return value


#: The records of this family (:mod:`setoolkit.metrics.registry`). DistillMOS's weights file (in its wheel) and
#: both packages' versions enter the content key of the rows that carry them.
METRICS = (
    Metric(
        name="visqol",
        compute=lambda ref, est, sr: visqol(ref, est, sr),
        label="ViSQOL",
        unit="MOS-LQO",
        rate=RATE,
        extra="visqol",
        libraries=("visqol-python", "ai-edge-litert"),
        cost=0.2,
        load=lambda: _visqol_api(),
    ),
    Metric(
        name="distillmos",
        compute=lambda est, sr: distillmos(est, sr),
        intrusive=False,
        label="DistillMOS",
        unit="MOS",
        rate=RATE,
        extra="learned-mos",
        libraries=("distillmos", "torch"),
        weights=("distillmos:weights/distill_mos_v7.pt",),
        cost=0.6,
        load=lambda: _distillmos_model(),
    ),
)
