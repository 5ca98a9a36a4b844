"""setoolkit: run, debug and compare pretrained speech-enhancement models.

>>> import setoolkit
>>> model = setoolkit.load("dpcrn-quant")
>>> clean = model.enhance(noisy, sr)          # (channels, samples) in and out, any sample rate
>>> mine = setoolkit.from_function(fn, 16000, name="mine")      # your own model beside the zoo
>>> setoolkit.compare(table, "mine", "gtcrn-vctk", "pesq_wb")    # paired difference, CI, Wilcoxon p
"""

import importlib

from .registry import ModelCard, get_card, list_models

__version__ = "0.1.0"
#: Public names imported on first use, so that ``import setoolkit`` imports neither torch, onnxruntime nor scipy.
_LAZY = {
    "load": "model_refs",
    "from_function": "models.common.adapters",
    "from_torch": "models.common.adapters",
    "from_onnx": "models.common.adapters",
    "compare": "evaluation.paired",
    "leader_ties": "evaluation.paired",
    "versus_best": "evaluation.paired",
    "spec_fingerprint": "model_specs",
    "SpecError": "model_specs",
    "in_domain": "training_data",
}
__all__ = [
    "load",
    "list_models",
    "get_card",
    "ModelCard",
    "__version__",
    "from_function",
    "from_torch",
    "from_onnx",
    "compare",
    "leader_ties",
    "versus_best",
    "spec_fingerprint",
    "SpecError",
    "in_domain",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
