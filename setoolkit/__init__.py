"""setoolkit: run, debug and compare pretrained speech-enhancement models.

>>> import setoolkit
>>> model = setoolkit.load("dpcrn-quant")
>>> clean = model.enhance(noisy, sr)          # (channels, samples) in and out, any sample rate
"""

from .registry import ModelCard, get_card, list_models, load

__version__ = "0.1.0"
__all__ = ["load", "list_models", "get_card", "ModelCard", "__version__"]
