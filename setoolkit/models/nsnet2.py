"""NSNet2 (Braun & Tashev 2020), the ICASSP 2021 DNS Challenge baseline: a real-valued spectral gain from
log-power features, as released in ONNX (microsoft/DNS-Challenge ``NSNet2-baseline``).

Network: dense (bins -> 400 / 600) + ReLU, two GRU layers, three dense layers, sigmoid gain per bin.
Features and framing follow upstream ``enhance_onnx.py`` / ``featurelib.py``:

* 16 kHz (``nsnet2``): 20 ms window (320), hop 160, FFT 320, ``sqrt(np.hanning(320))`` (symmetric) for
  analysis and synthesis, features ``log10(max(|X|^2, 1e-12))``, gain clipped to [-80 dB, 1];
* 48 kHz (``nsnet2-48k``): 20 ms window (960), FFT 1024, hop ``1024 * 0.5 = 512`` (upstream derives the hop
  from the FFT size), periodic sqrt-Hann analysis, the least-squares synthesis window upstream builds
  (``w / sum of w^2`` over the frames that overlap), features ``log10(clamp(|X|^2, 1e-12))``, no gain floor.

The exports take a whole sequence and start their GRUs from zeros inside the graph. setoolkit rewires the
graph once at load time (with the ``onnx`` package) so that the two GRU states are inputs and outputs: the
same official weights then run offline (the whole signal in one call) and streaming (one frame per call,
states carried), with equal results.

Examples
--------
>>> model = setoolkit.load("nsnet2")
>>> clean = model.enhance(noisy, 16000)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..assets import fetch
from ..errors import AssetError, ModelError
from ..registry import ModelCard, card
from .common.base import FrameEnhancer
from .common.runtimes import onnx_session


@dataclass(frozen=True)
class Framing:
    """STFT set-up of one NSNet2 export (samples at ``sample_rate``)."""

    sample_rate: int
    win: int
    n_fft: int
    hop: int
    periodic: bool  # periodic (scipy ``sym=False``) or symmetric (``np.hanning``) Hann
    least_squares: bool  # synthesis window ``w / sum(w^2)`` (48 kHz) or the analysis window (16 kHz)
    min_gain: float | None  # gain floor (linear), None for none

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1


FRAMINGS = {
    16000: Framing(16000, 320, 320, 160, periodic=False, least_squares=False, min_gain=10 ** (-80 / 20)),
    48000: Framing(48000, 960, 1024, 512, periodic=True, least_squares=True, min_gain=None),
}


def windows(f: Framing) -> tuple[np.ndarray, np.ndarray]:
    """(analysis, synthesis) windows ``(n_fft,)``; a window shorter than the FFT sits at the end of the frame
    (zeros first), which only shifts each frame circularly: the power features are unchanged."""
    k = np.arange(f.win)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * k / (f.win if f.periodic else f.win - 1))
    w = np.sqrt(hann)
    if f.least_squares:
        energy = np.zeros(f.hop)
        np.add.at(energy, k % f.hop, w**2)
        s = w / energy[k % f.hop]
    else:
        s = w
    pad = np.zeros(f.n_fft - f.win)
    return np.concatenate([pad, w]).astype(np.float32), np.concatenate([pad, s]).astype(np.float32)


def log_power(spec: np.ndarray) -> np.ndarray:
    """NSNet2 features: ``log10(max(|X|^2, 1e-12))``, same shape as ``spec``."""
    return np.log10(np.maximum(spec.real**2 + spec.imag**2, 1e-12)).astype(np.float32)


# ------------------------------------------------------------------------------------------ ONNX


def stateful_graph(path: str) -> tuple[bytes, list[int]]:
    """The export at ``path`` with its GRU states exposed: inputs ``h0``, ``h1`` and outputs ``h0_out``,
    ``h1_out`` (each ``(1, batch, hidden)``). Returns the serialized model and the GRU hidden sizes."""
    import onnx
    from onnx import TensorProto, helper

    try:
        model = onnx.load(path)
    except Exception as exc:
        raise AssetError(f"{path}: not a loadable ONNX model ({type(exc).__name__}: {str(exc)[:120]})") from None
    g = model.graph
    grus = [n for n in g.node if n.op_type == "GRU"]
    if len(grus) != 2 or [i.name for i in g.input] != ["input"]:
        raise ModelError(
            f"{path}: not an NSNet2 export (expected one input 'input' and two GRU layers, found "
            f"inputs {[i.name for i in g.input]} and {len(grus)} GRU)"
        )
    sizes = []
    for k, node in enumerate(grus):
        hidden = next(helper.get_attribute_value(a) for a in node.attribute if a.name == "hidden_size")
        sizes.append(int(hidden))
        while len(node.input) < 6:
            node.input.append("")
        node.input[5] = f"h{k}"
        g.input.append(helper.make_tensor_value_info(f"h{k}", TensorProto.FLOAT, [1, "batch", hidden]))
        g.node.append(helper.make_node("Identity", [node.output[1]], [f"h{k}_out"]))
        g.output.append(helper.make_tensor_value_info(f"h{k}_out", TensorProto.FLOAT, [1, "batch", hidden]))
    _prune(g)
    return model.SerializeToString(), sizes


def _prune(graph) -> None:
    """Drop nodes none of whose outputs are used (the zero-state construction the new inputs replaced), then
    the initializers nothing reads any more."""
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)


# ------------------------------------------------------------------------------------------ enhancer


class Nsnet2(FrameEnhancer):
    """NSNet2 ONNX, offline (all frames in one call) and streaming (one frame per call, GRU states carried)."""

    def __init__(self, card: ModelCard, model_path: str) -> None:
        FrameEnhancer.__init__(self, card)
        if card.sample_rate not in FRAMINGS:
            raise ModelError(f"NSNet2 exists at {sorted(FRAMINGS)} Hz, card {card.name!r} says {card.sample_rate}")
        self.framing = f = FRAMINGS[card.sample_rate]
        self.n_fft, self.hop = f.n_fft, f.hop
        self.window, self.synthesis_window = windows(f)
        self.model_path = model_path
        graph, self._hidden = stateful_graph(model_path)
        self._sess = onnx_session(graph)
        n_in = self._sess.get_inputs()[0].shape[-1]
        if n_in != f.bins:
            raise ModelError(
                f"{model_path}: takes {n_in} bins per frame, but the {f.sample_rate} Hz NSNet2 framing "
                f"has {f.bins} (FFT {f.n_fft}): wrong file for card {card.name!r}"
            )

    def initial_state(self) -> list[np.ndarray]:
        return [np.zeros((1, 1, h), dtype=np.float32) for h in self._hidden]

    def gains(self, feats: np.ndarray, state: list[np.ndarray]):
        """Log-power features ``(T, bins)`` -> gains ``(T, bins)`` and the next GRU states."""
        gain, h0, h1 = self._sess.run(
            ["output", "h0_out", "h1_out"], {"input": feats[None], "h0": state[0], "h1": state[1]}
        )
        gain = gain[0]
        if self.framing.min_gain is not None:
            gain = np.clip(gain, self.framing.min_gain, 1.0)
        return gain, [h0, h1]

    def process_frames(self, specs: np.ndarray, state):
        gain, state = self.gains(log_power(specs), state)
        return specs * gain, state


def build(card: ModelCard, *, mirror=None) -> Nsnet2:
    """Fetch (and verify) the card's ONNX file and build the model."""
    return Nsnet2(card, str(fetch(card.weights[0], mirror=mirror)))


_NSNET2 = (
    "NSNet2, ICASSP 2021 DNS Challenge baseline (microsoft/DNS-Challenge), {}: log-power features, 2 GRU "
    "layers, spectral gain; GRU states exposed for streaming"
)

CARDS = [
    card(
        name="nsnet2",
        family="nsnet2",
        sample_rate=16000,
        framework="onnx",
        frame=320,
        hop=160,
        latency_ms=20.0,
        params=2_687_561,
        weights=["weights/nsnet2/nsnet2-20ms-baseline.onnx"],
        license="CC-BY-4.0 (model), MIT (code)",
        streaming=True,
        builder=build,
        trained_on="DNS",
        description=_NSNET2.format("16 kHz, 20 ms window / 10 ms hop"),
        expected={"si_sdr": 5.8, "pesq_wb": 0.32},
    ),  # measured +6.08 dB, +0.35
    card(
        name="nsnet2-48k",
        family="nsnet2",
        sample_rate=48000,
        framework="onnx",
        frame=960,
        hop=512,
        latency_ms=21.3,
        params=6_168_113,
        weights=["weights/nsnet2/nsnet2-20ms-48k-baseline.onnx"],
        license="CC-BY-4.0 (model), MIT (code)",
        streaming=True,
        builder=build,
        trained_on="DNS",
        description=_NSNET2.format("48 kHz, 20 ms window, FFT 1024 / hop 512 as upstream"),
        expected={"si_sdr": 5.0, "pesq_wb": 0.28},
    ),  # measured +5.25 dB, +0.31 (vbd16k)
]
