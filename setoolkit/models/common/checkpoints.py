"""Torch checkpoints of the state-dict families (Demucs, SEGAN+): where the file is (registry asset or a
local path, sha256-checked) and a strict load that names the first mismatching key."""

from __future__ import annotations

import os
import pickle
import threading
import types
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from ...assets import fetch, get, verify
from ...errors import AssetError
from ...registry import ModelCard

_M = TypeVar("_M", bound=nn.Module)


def resolve_checkpoint(card: ModelCard, *, mirror=None, checkpoint=None, verify_hash: bool = True) -> Path:
    """Local path of the card's (first) weight file.

    ``checkpoint=None``: fetched by asset name (mirror, cache, official URL), sha256-verified unless
    ``verify_hash=False``. ``checkpoint=PATH``: that local file, checked against the registry's sha256 (or its
    published prefix) unless ``verify_hash=False`` -- the explicit opt-in for files without a published hash
    or your own trained/converted checkpoints.
    """
    asset = get(card.weights[0])
    if verify_hash and not asset.sha256:
        where = f"checkpoint {checkpoint}" if checkpoint is not None else f"{asset.name} ({asset.url})"
        raise AssetError(
            f"{card.name}: {asset.name} has no published sha256, so {where} cannot be verified; "
            "pass verify=False to use a copy you trust"
        )
    if checkpoint is None:
        return fetch(asset.name, mirror=mirror, verify_hash=verify_hash)
    path = Path(checkpoint)
    if not path.is_file():
        raise AssetError(f"{card.name}: checkpoint {path} does not exist")
    return verify(asset, path) if verify_hash else path


def load_state_strict(module: _M, state, *, source, model_name: str) -> _M:
    """Load ``state`` into ``module`` requiring the same keys and shapes; return ``module``.

    Raises :class:`~setoolkit.errors.AssetError` naming ``source`` and the first mismatching key in the
    module's parameter order (missing, wrong shape, not a tensor), or the first unexpected key.
    """
    if not isinstance(state, dict):
        raise AssetError(f"{source}: expected a state_dict (name -> tensor), got {type(state).__name__}")
    expected = module.state_dict()
    problems = []
    for key, ref in expected.items():
        if key not in state:
            problems.append(f"missing key {key!r} (model expects shape {tuple(ref.shape)})")
        elif not isinstance(state[key], torch.Tensor):
            problems.append(f"key {key!r} holds a {type(state[key]).__name__}, not a tensor")
        elif state[key].shape != ref.shape:
            problems.append(
                f"key {key!r}: checkpoint shape {tuple(state[key].shape)}, model expects {tuple(ref.shape)}"
            )
    extra = [k for k in state if k not in expected]
    problems += [f"unexpected key {k!r}" for k in extra]
    if problems:
        raise AssetError(
            f"{source}: checkpoint does not fit {model_name} ({len(problems)} mismatch(es)); "
            f"first: {problems[0]}. Is it the checkpoint of another architecture?"
        )
    module.load_state_dict({k: state[k] for k in expected})
    return module


class _WeightsUnpickler(pickle.Unpickler):
    """Tensors, storages, dtypes and plain containers only: the ``weights_only`` contract, for torch 1.x, whose own
    weights-only unpickler lacks opcodes that released checkpoints use (GTCRN's ``.tar``: BINFLOAT)."""

    def find_class(self, module: str, name: str):
        safe = (module, name) in {
            ("collections", "OrderedDict"),
            ("torch._utils", "_rebuild_tensor_v2"),
            ("torch._utils", "_rebuild_parameter"),
            ("torch", "Size"),
            ("builtins", "set"),
        }
        value = getattr(torch, name, None) if module == "torch" else None
        if safe or (module == "torch" and name.endswith("Storage")) or isinstance(value, torch.dtype):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")


_TORCH1_LOAD = threading.Lock()


def _torch1_load(path, map_location):
    """``torch.load`` on torch 1.x with :class:`_WeightsUnpickler` (torch 1.13 ignores a ``pickle_module`` unless it
    is its own, so the module's ``pickle`` is swapped for a restricted copy while the file loads)."""
    import torch.serialization

    restricted = types.ModuleType("pickle")
    restricted.__dict__.update(vars(pickle))
    restricted.Unpickler = _WeightsUnpickler
    restricted.load = lambda f, **kw: _WeightsUnpickler(f, **kw).load()
    with _TORCH1_LOAD:
        saved, torch.serialization.pickle = torch.serialization.pickle, restricted
        try:
            return torch.load(path, map_location=map_location)
        finally:
            torch.serialization.pickle = saved


def load_torch_checkpoint(path: str | os.PathLike, *, map_location: str = "cpu"):
    """Load a torch checkpoint safely (``weights_only=True``: tensors and plain containers, no code; on torch 1.x
    through :class:`_WeightsUnpickler`, the same contract)."""
    try:
        if int(torch.__version__.split(".")[0]) < 2:
            return _torch1_load(path, map_location)
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise AssetError(f"{path}: not a loadable torch checkpoint ({type(exc).__name__}: {exc})") from None
