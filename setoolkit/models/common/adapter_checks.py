"""What the user-model adapters accept, checked when the model is wrapped (:mod:`.adapters`): a float32 torch
module, an ONNX graph whose first input is float32 ``(1, samples)`` of any length (or ``(1, hop)`` blocks for a step
graph). Anything else is one :class:`~setoolkit.errors.ModelError` naming the model and what was expected, instead
of a torch or onnxruntime error at the first file."""

from __future__ import annotations

from pathlib import Path

from ...errors import ModelError


def check_torch_module(module, name: str) -> None:
    """``module``'s floating-point parameters and buffers are float32 (integer buffers, such as batch norm's
    counter, are fine); else a :class:`ModelError` naming ``name`` and the dtypes found."""
    tensors = (*module.parameters(), *module.buffers())
    odd = sorted({str(t.dtype) for t in tensors if t.is_floating_point() and str(t.dtype) != "torch.float32"})
    if odd:
        raise ModelError(
            f"from_torch({name!r}): the module holds {', '.join(odd)} tensors; the adapter feeds float32 audio "
            "(1, samples) to a float32 module: call module.float() first"
        )


def check_onnx_input(first, name: str, path: Path, hop: int | None) -> None:
    """The graph's first input takes what the adapter feeds: float32 ``(1, samples)`` of any length offline, or
    ``(1, hop)`` blocks for a step graph; else a :class:`ModelError` naming the model and what was expected."""
    shape = list(first.shape or [])
    expected = f"float32 (1, {hop})" if hop is not None else "float32 (1, samples) with a dynamic length axis"
    where = f"from_onnx({name!r}): {path.name}'s input {first.name!r} is {first.type} {shape}; the adapter feeds"
    if first.type != "tensor(float)":
        raise ModelError(f"{where} {expected}: export the graph with float32 input")
    if len(shape) != 2:
        raise ModelError(f"{where} {expected} (two dimensions)")
    length = shape[-1]
    if hop is None and isinstance(length, int):
        raise ModelError(
            f"{where} {expected} (whole files): export with a dynamic axis (torch.onnx.export(..., "
            f"dynamic_axes={{{first.name!r}: {{1: 'n'}}}})), or give hop={length} if it is a causal step graph"
        )
    if hop is not None and isinstance(length, int) and length != hop:
        raise ModelError(f"{where} {expected}: give hop={length}, the graph's block length")
