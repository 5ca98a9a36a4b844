"""Known inference failures, injected on purpose into a real model, to show (and test) that the doctor
catches each one. Every function returns a broken copy or wrapper; the model given is not modified.

Examples
--------
>>> broken = faults.cacheless_streaming(setoolkit.load("dpcrn-quant"))
>>> doctor(broken).root_cause
'streaming'
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np

from ..evaluation import run_task
from ..models.common.base import Enhancer
from ..streaming import StftFrameStream


class Delegating(Enhancer):
    """A model in the :class:`Enhancer` interface that delegates to another (how a user wraps their own)."""

    def __init__(self, inner: Enhancer) -> None:
        super().__init__(inner.card)
        self.inner = inner

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        return self.inner.enhance_model_rate(x)

    def stream(self):
        return self.inner.stream()


def swapped_outputs(model):
    """Read the phase outputs by position, as upstream DPCRN scripts do (cos and sin exchanged)."""
    broken = copy.copy(model)
    mask_i, cos_i, sin_i = model.output_order
    broken.output_order = (mask_i, sin_i, cos_i)
    return broken


class _NoCacheStream(StftFrameStream):
    def _step(self, block):
        self._state = self.model.initial_state()  # the classic port bug: state not carried between frames
        return super()._step(block)


class _CachelessStreaming(Delegating):
    def stream(self):
        return _NoCacheStream(self.inner)


def cacheless_streaming(model) -> Enhancer:
    """Streaming that resets the recurrent state every hop (a frame-by-frame port without caches)."""
    return _CachelessStreaming(model)


class _Late(Delegating):
    delay = 256

    def enhance_model_rate(self, x):
        y = self.inner.enhance_model_rate(x)
        return np.concatenate([np.zeros(self.delay, np.float32), y[: len(y) - self.delay]])


def late_output(model, samples: int = 256) -> Enhancer:
    """Output delayed by ``samples`` (raw streaming output scored without removing the latency)."""
    broken = _Late(model)
    broken.delay = samples
    return broken


class _OldIstft(Delegating):
    def enhance_model_rate(self, x):
        import torch

        w = torch.hann_window(512)
        spec = torch.stft(torch.from_numpy(x), 512, 256, window=w, return_complex=True)
        spec = spec * 1.0  # the model would apply its mask here
        return torch.istft(torch.view_as_real(spec), 512, 256, window=w, length=len(x)).numpy()


def old_istft_call(model) -> Enhancer:
    """Synthesis written for torch 1.x: a real ``(..., 2)`` spectrogram passed to ``torch.istft``."""
    return _OldIstft(model)


def unscaled_int16(audio: np.ndarray) -> np.ndarray:
    """Float samples at int16 scale (a file read as integers and never divided by 32768)."""
    return np.asarray(audio, dtype=np.float32) * 32768.0


def corrupted_mirror(asset_name: str, source_mirror: str | Path, target: str | Path) -> Path:
    """Copy one asset into a new mirror folder ``target`` with four bytes overwritten; returns ``target``."""
    target = Path(target)
    dst = target / asset_name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(source_mirror) / asset_name, dst)
    with open(dst, "r+b") as f:
        f.seek(4096)
        f.write(b"\x00\x01\x02\x03")
    return target


def _kill_worker_on(task, *, kill_file: str, **kwargs):
    import os

    if Path(task.noisy).name == kill_file:
        os._exit(1)  # the worker process dies mid-task, as with an out-of-memory kill
    return run_task(task, **kwargs)


def task_killing_worker_on(file_name: str):
    """An evaluation task function that kills its worker process on ``file_name`` (and runs normally
    otherwise): for testing that a rerun after a killed worker computes only the missing rows."""
    import functools

    return functools.partial(_kill_worker_on, kill_file=file_name)
