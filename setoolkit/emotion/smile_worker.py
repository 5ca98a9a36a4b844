"""openSMILE in a process of its own: ``python -m setoolkit.emotion.smile_worker IN.npy OUT.npy SR FEATURE_SET``.

openSMILE's native library corrupts the heap of a process that has imported TensorFlow (``malloc(): invalid
size``, then an abort; reproduced with opensmile 2.6.0 + tensorflow-cpu 2.21), and setoolkit's DPCRN models
import TensorFlow. :func:`setoolkit.emotion.features.functionals` therefore always extracts here, in a fresh
interpreter that imports neither TensorFlow nor torch. Reads float32 ``(utterances, samples)``, writes float32
``(utterances, features)``.
"""

from __future__ import annotations

import sys

import numpy as np


def extract(audio: np.ndarray, sr: int, feature_set: str) -> np.ndarray:
    """Functionals of ``audio`` ``(utterances, samples)`` -> float32 ``(utterances, features)``."""
    from .features import smile

    ext = smile(feature_set)
    return np.stack([ext.process_signal(clip, sr).to_numpy()[0] for clip in audio]).astype(np.float32)


def main(argv: list[str]) -> None:
    src, dst, sr, feature_set = argv
    np.save(dst, extract(np.load(src), int(sr), feature_set))


if __name__ == "__main__":
    main(sys.argv[1:])
