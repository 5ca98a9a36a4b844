"""Randomly initialised checkpoints in the released layouts, for tests of loaders and signal paths when the official
file is not in the mirror (Demucs, SEGAN+). Their outputs are NOT enhanced speech."""

from pathlib import Path

import torch

import setoolkit
from setoolkit.models.demucs.network import Demucs
from setoolkit.models.segan.network import SeganGenerator


def random_demucs(name: str, path, *, seed: int = 0) -> Path:
    """A random :class:`Demucs` with card ``name``'s hyper-parameters, saved as the releases were
    (``torch.save(model.state_dict(), path)``)."""
    torch.manual_seed(seed)
    torch.save(Demucs(**setoolkit.get_card(name).config).state_dict(), path)
    return Path(path)


def random_segan(path, *, seed: int = 0) -> Path:
    """A random SEGAN+ generator in upstream's ``Saver`` format (``{"step", "state_dict"}``)."""
    torch.manual_seed(seed)
    torch.save({"step": 0, "state_dict": SeganGenerator().state_dict()}, path)
    return Path(path)
