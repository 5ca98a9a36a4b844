"""Keras weights files (h5), read and written without Keras: the format of the released DPCRN and DTLN
checkpoints, and of setoolkit's fine-tuned versions of them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ...errors import AssetError


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def read_layers(path: str | os.PathLike) -> dict[str, list[tuple[str, np.ndarray]]]:
    """``{layer name: [(weight name, float32 array), ...]}`` for the layers with weights, in the file's layer
    order. Raises :class:`AssetError` naming the file when it is not a Keras weights file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            g = f["model_weights"] if "model_weights" in f else f
            if "layer_names" not in g.attrs:
                raise AssetError(f"{path}: not a Keras weights file (no 'layer_names' attribute)")
            out = {}
            for lname in map(_text, g.attrs["layer_names"]):
                names = [_text(n) for n in g[lname].attrs.get("weight_names", [])]
                if names:
                    out[lname] = [(n, np.asarray(g[lname][n], dtype=np.float32)) for n in names]
            return out
    except OSError as exc:
        raise AssetError(f"{path}: not a readable Keras h5 file ({exc})") from None


def write_layers(weights: dict[str, list[np.ndarray]], template: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write ``weights`` (``{layer: [arrays in the layer's weight order]}``) into a copy of the Keras weights
    file ``template`` (same architecture): same layers, weight names and attributes, so setoolkit's loaders and
    upstream Keras ``load_weights`` both read it. Shapes must match the template's. Written atomically."""
    import h5py

    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    shutil.copyfile(template, tmp)
    try:
        with h5py.File(tmp, "r+") as f:
            g = f["model_weights"] if "model_weights" in f else f
            for lname, arrays in weights.items():
                names = [_text(n) for n in g[lname].attrs["weight_names"]]
                if len(names) != len(arrays):
                    raise AssetError(f"{template}: layer {lname!r} has {len(names)} weights, got {len(arrays)}")
                for n, a in zip(names, arrays):
                    if tuple(g[lname][n].shape) != tuple(np.shape(a)):
                        raise AssetError(f"{template}: {lname}/{n} has shape {g[lname][n].shape}, got {np.shape(a)}")
                    g[lname][n][...] = a
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
