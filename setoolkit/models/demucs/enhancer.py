"""A loaded Demucs (facebookresearch/denoiser checkpoint): offline enhancement through the network and, for the
causal models, the incremental stream; :func:`build` loads a released (or local) checkpoint for a card.

Examples
--------
>>> model = setoolkit.load("denoiser-dns48")            # needs the official dns48-11decc9d8e3f0998.th
>>> model = build(get_card("denoiser-dns48"), checkpoint="my_dns48.th", verify=False)  # a local file
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import ModelError
from ...registry import ModelCard
from ..common.base import Enhancer
from ..common.checkpoints import load_state_strict, load_torch_checkpoint, resolve_checkpoint
from .network import Demucs
from .stream import DemucsStream


class DemucsEnhancer(Enhancer):
    """A loaded Demucs: offline ``enhance_model_rate`` (upstream's forward) and, if causal, ``stream()``.

    Inputs longer than ``chunk_seconds`` (10 s) are enhanced in crossfaded chunks by the base class (each chunk
    normalised by its own std), which bounds memory; upstream's ``enhance`` runs whole files.
    """

    def __init__(self, card: ModelCard, net: Demucs) -> None:
        super().__init__(card)
        self.net = net.eval()

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            y = self.net(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).view(1, 1, -1))
        return y.view(-1).numpy().copy()

    def stream(self) -> DemucsStream:
        if not self.net.causal:
            return super().stream()
        return DemucsStream(self.net, sample_rate=self.sample_rate)


def build(card: ModelCard, *, mirror=None, checkpoint=None, verify: bool = True) -> DemucsEnhancer:
    """Build the card's Demucs from its official checkpoint (or a local ``checkpoint`` file, see
    :func:`resolve_checkpoint`; ``verify=False`` accepts a file that is not the official release)."""
    if not isinstance(card.config, dict):
        raise ModelError(f"{card.name}: the card carries no Demucs hyper-parameters (config=dict(hidden=...))")
    path = resolve_checkpoint(card, mirror=mirror, checkpoint=checkpoint, verify_hash=verify)
    net = load_state_strict(Demucs(**card.config), load_torch_checkpoint(path), source=path, model_name=card.name)
    return DemucsEnhancer(card, net)
