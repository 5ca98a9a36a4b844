"""Fine-tuning from a pretrained checkpoint: data mixing, losses, a resumable trainer, the seed protocol.

>>> from setoolkit.train import finetune, MixingDataset
"""

from .data import MixingDataset, PairedDataset
from .losses import multires_stft_loss, si_sdr_loss
from .trainer import FinetuneResult, finetune

__all__ = ["MixingDataset", "PairedDataset", "si_sdr_loss", "multires_stft_loss", "finetune", "FinetuneResult"]
