"""DeepFilterNet's official ONNX split (``enc``, ``erb_dec``, ``df_dec``): checks, merging, streaming surgery.

The exported graphs map a whole sequence of frames to a whole sequence of outputs and carry no state: each
GRU starts from an internal zero state and each time convolution is preceded by a ``Pad`` of ``k - 1`` zero
frames in front (causal). :func:`streaming_graph` rewrites such a graph so it can be run a few frames at a
time with nothing lost between calls:

* every GRU's initial state becomes a graph input and its final state ``Y_h`` a graph output;
* every time ``Pad`` of ``p`` frames becomes ``Concat(cache, x)`` with the cache (the last ``p`` input frames
  of the previous call) as a graph input and the new cache as a graph output.

With zero states the rewritten graph computes exactly what the original computes on the whole sequence;
fed its own state outputs back, one frame per call gives the same numbers.

:func:`merged_graph` wires the three parts into one graph (one runtime call per step instead of three).

Examples
--------
>>> parts = load_parts({"enc": "enc.onnx", "erb_dec": "erb_dec.onnx", "df_dec": "df_dec.onnx"})
>>> graph, states = streaming_graph(merged_graph(parts))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import AssetError, ModelError
from ..common.runtimes import onnx_session

#: the interface of each part: graph inputs, graph outputs used (by name, as exported)
PART_INPUTS = {"enc": ("feat_erb", "feat_spec"), "erb_dec": ("emb", "e3", "e2", "e1", "e0"), "df_dec": ("emb", "c0")}
PART_OUTPUTS = {"enc": ("e0", "e1", "e2", "e3", "emb", "c0", "lsnr"), "erb_dec": ("m",), "df_dec": ("coefs",)}
#: outputs of the merged graph
OUTPUTS = ("m", "coefs", "lsnr")


@dataclass(frozen=True)
class State:
    """One carried tensor of a streaming graph: fed as ``input``, read back from ``output``; zeros at start."""

    input: str
    output: str
    shape: tuple[int, ...]


def load_parts(paths: dict[str, str]) -> dict:
    """Load and check the three ONNX parts ``{"enc": path, "erb_dec": path, "df_dec": path}``.

    Each must be a readable ONNX graph with its part's inputs and outputs; the parts must agree with each
    other (embedding width, encoder feature maps). Errors name the file and what does not fit.
    """
    import onnx

    parts = {}
    for part, path in paths.items():
        if not Path(path).is_file():
            raise AssetError(f"{path}: the DeepFilterNet {part!r} ONNX part is missing")
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # protobuf DecodeError and friends
            raise AssetError(f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc})") from None
        ins = [i.name for i in model.graph.input]
        outs = [o.name for o in model.graph.output]
        missing = [n for n in PART_INPUTS[part] if n not in ins] + [n for n in PART_OUTPUTS[part] if n not in outs]
        if missing:
            guess = next((p for p in PART_INPUTS if set(PART_INPUTS[p]) <= set(ins)), None)
            hint = f"; it looks like the {guess!r} part" if guess and guess != part else ""
            raise AssetError(
                f"{path}: not a DeepFilterNet {part!r} graph: lacks {', '.join(missing)} "
                f"(inputs {ins}, outputs {outs}){hint}"
            )
        parts[part] = model
    _check_agreement(parts, paths)
    return parts


def _static_shape(value_info) -> list:
    return [d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim]


def _check_agreement(parts: dict, paths: dict) -> None:
    """Run the encoder on two zero frames and compare its outputs with the decoders' declared inputs."""
    enc = parts["enc"]
    feeds = {i.name: np.zeros([d or 2 for d in _static_shape(i)], np.float32) for i in enc.graph.input}
    try:
        outs = dict(zip(PART_OUTPUTS["enc"], session(enc).run(list(PART_OUTPUTS["enc"]), feeds)))
    except Exception as exc:
        raise AssetError(f"{paths['enc']}: the encoder does not run ({type(exc).__name__}: {exc})") from None
    for part in ("erb_dec", "df_dec"):
        for vi in parts[part].graph.input:
            want = _static_shape(vi)
            got = list(outs[vi.name].shape)
            if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
                raise AssetError(
                    f"{paths[part]}: input {vi.name!r} expects shape {want} but the encoder "
                    f"{paths['enc']} gives {got}: the parts come from different models"
                )


def input_width(model, name: str, axis: int = -1) -> int | None:
    """Static size of ``axis`` of graph input ``name`` (``None`` if symbolic)."""
    vi = next(i for i in model.graph.input if i.name == name)
    return _static_shape(vi)[axis]


def merged_graph(parts: dict):
    """One graph from the three parts: inputs ``feat_erb``, ``feat_spec``; outputs ``m``, ``coefs``, ``lsnr``."""
    import onnx
    from onnx import compose

    enc = parts["enc"]
    dec = {p: compose.add_prefix(parts[p], prefix=f"{p}/") for p in ("erb_dec", "df_dec")}
    opset = max(o.version for m in parts.values() for o in m.opset_import if o.domain in ("", "ai.onnx"))
    enc, erb, dfd = (_with_opset(m, opset) for m in (enc, dec["erb_dec"], dec["df_dec"]))
    graph = onnx.helper.make_graph(
        nodes=[
            *enc.graph.node,
            *[onnx.helper.make_node("Identity", [n], [f"erb_dec/{n}"]) for n in PART_INPUTS["erb_dec"]],
            *[onnx.helper.make_node("Identity", [n], [f"df_dec/{n}"]) for n in PART_INPUTS["df_dec"]],
            *erb.graph.node,
            *dfd.graph.node,
            onnx.helper.make_node("Identity", ["erb_dec/m"], ["m"]),
            onnx.helper.make_node("Identity", ["df_dec/coefs"], ["coefs"]),
        ],
        name="deepfilternet",
        inputs=list(enc.graph.input),
        outputs=[onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in OUTPUTS],
        initializer=[*enc.graph.initializer, *erb.graph.initializer, *dfd.graph.initializer],
    )
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)], ir_version=enc.ir_version)


def _with_opset(model, opset: int):
    """``model`` with its default-domain opset raised to ``opset`` when older (the parts share opset 12)."""
    cur = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if cur == opset:
        return model
    from onnx import version_converter

    return version_converter.convert_version(model, opset)


def _pad_frames(model) -> dict[str, tuple[int, tuple[int, ...]]]:
    """For every ``Pad`` node: (frames padded in front on the time axis, shape of its input with S = 3).

    The pad amounts are computed inside the graph from constants; evaluating them once is simpler and safer
    than folding that arithmetic by hand. Any other padding (at the end, or on another axis) is refused.
    """
    import onnx

    pads = [n for n in model.graph.node if n.op_type == "Pad"]
    if not pads:
        return {}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    for n in pads:
        probe.graph.output.extend([onnx.ValueInfoProto(name=n.input[0]), onnx.ValueInfoProto(name=n.input[1])])
    feeds = {i.name: np.zeros([d or 3 for d in _static_shape(i)], np.float32) for i in model.graph.input}
    values = session(probe).run(None, feeds)
    out = {}
    for k, n in enumerate(pads):
        x, p = values[2 * k], values[2 * k + 1].astype(int)
        rank = x.ndim
        begin, end = p[:rank], p[rank:]
        mode = next((a.s.decode() for a in n.attribute if a.name == "mode"), "constant")
        if mode != "constant" or np.any(end) or np.any(np.delete(begin, 2)) or begin[2] <= 0:
            raise ModelError(
                f"Pad node {n.name or n.output[0]!r} pads {p.tolist()} ({mode}): only causal zero "
                "padding in front of the time axis can be streamed"
            )
        out[n.output[0]] = (int(begin[2]), tuple(x.shape))
    return out


def streaming_graph(model) -> tuple[object, list[State]]:
    """Rewrite ``model`` (sequence in, sequence out) into a stateful one (see the module docstring).

    Returns the new graph and its states, in the order of the added inputs. Batch size 1.
    """
    import onnx
    from onnx import TensorProto, helper

    pads = _pad_frames(model)
    g = onnx.ModelProto()
    g.CopyFrom(model)
    graph = g.graph
    states: list[State] = []
    new_nodes = []
    for node in graph.node:
        if node.op_type == "Pad" and node.output[0] in pads:
            p, shape = pads[node.output[0]]
            k = len(states)
            cin, cout = f"state_in_{k}", f"state_out_{k}"
            cshape = (shape[0], shape[1], p, *shape[3:])
            states.append(State(cin, cout, cshape))
            new_nodes.append(
                helper.make_node("Concat", [cin, node.input[0]], [node.output[0]], axis=2, name=f"cache_concat_{k}")
            )
            consts = {f"cache_{k}_{n}": v for n, v in (("start", -p), ("end", 2**62), ("axis", 2))}
            for name, v in consts.items():
                new_nodes.append(
                    helper.make_node(
                        "Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [1], [v])
                    )
                )
            new_nodes.append(helper.make_node("Slice", [node.output[0], *consts], [cout], name=f"cache_slice_{k}"))
            continue
        if node.op_type == "GRU":
            hidden = next(a.i for a in node.attribute if a.name == "hidden_size")
            direction = next((a.s.decode() for a in node.attribute if a.name == "direction"), "forward")
            if direction != "forward":
                raise ModelError(f"GRU {node.name!r} is {direction}: not causal, cannot be streamed")
            k = len(states)
            cin, cout = f"state_in_{k}", f"state_out_{k}"
            states.append(State(cin, cout, (1, 1, hidden)))
            inputs = list(node.input) + [""] * (6 - len(node.input))
            inputs[5] = cin
            outputs = list(node.output) + [""] * (2 - len(node.output))
            if not outputs[1]:
                outputs[1] = f"gru_{k}_y_h"
            n2 = helper.make_node("GRU", inputs, outputs, name=node.name)
            n2.attribute.extend(node.attribute)
            new_nodes.append(n2)
            new_nodes.append(helper.make_node("Identity", [outputs[1]], [cout]))
            continue
        new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    for s in states:
        graph.input.append(helper.make_tensor_value_info(s.input, TensorProto.FLOAT, list(s.shape)))
        graph.output.append(helper.make_tensor_value_info(s.output, TensorProto.FLOAT, list(s.shape)))
    return g, states


def session(model, *, threads: int = 1, frames: int | None = None):
    """An onnxruntime session for ``model`` (a ModelProto) on ``threads`` CPU threads, fully optimised.

    ``frames``: fix the symbolic sequence length (and batch) of every input to this many frames (1 for
    streaming), which lets the optimiser fold the graph's shape arithmetic away.
    """
    import onnx

    if frames is not None:
        fixed = onnx.ModelProto()
        fixed.CopyFrom(model)
        for vi in fixed.graph.input:
            for d in vi.type.tensor_type.shape.dim:
                if d.HasField("dim_param"):
                    d.Clear()
                    d.dim_value = frames
        model = fixed
    return onnx_session(
        model.SerializeToString(), threads=threads, name=model.graph.name or "DeepFilterNet ONNX", denormal_as_zero=True
    )
