"""Your own model beside the zoo: wrap a numpy function, a torch module or an ONNX file as an :class:`Enhancer`.

The wrapped model gets everything a zoo model has (resampling to its rate, channels, crossfaded chunks of long
files, input checks, ``enhance_file``'s output policy) and, when causal, ``stream()``. It only has to map mono
float32 audio at its own rate to audio of the same length.

Protocols (``latency`` samples: how late the model's output is; the adapter feeds that many zeros after the
input and drops that many samples from the front of the output, so the result lines up with the input):

* :func:`from_function`: ``fn(x (samples,) float32) -> (samples,)``.
* :func:`from_torch`: ``module(x (1, samples) float32 tensor) -> (1, samples)`` offline. Causal modules
  (``hop=`` given) also stream: ``module.step(block (1, hop), state) -> (out (1, hop), state)``, ``state`` is
  ``None`` on the first call and whatever ``step`` returned after; ``step`` must equal ``forward`` run on the
  whole signal (the stream's output is late by ``latency``, as offline's before compensation).
* :func:`from_onnx`: one float32 input ``(1, samples)`` -> first output ``(1, samples)`` offline. With ``hop=``
  the graph is a step: inputs ``(block (1, hop), state_1, ...)`` -> outputs ``(out (1, hop), state_1', ...)``,
  states start at zeros of their declared shapes; offline then runs the step over the signal block by block.

Examples
--------
>>> model = setoolkit.from_function(my_denoiser, 16000, name="mine", trained_on="VoiceBank-DEMAND train")
>>> clean = model.enhance(noisy, 48000)          # resampled to 16 kHz and back, any length, any channels
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...cards import ModelCard, card
from ...errors import ModelError
from ...streaming import StreamingEnhancer, torch_threads
from .adapter_checks import check_onnx_input, check_torch_module
from .base import Enhancer

USER_FAMILY = "user"


def user_card(
    name: str,
    sample_rate: int,
    *,
    framework: str,
    latency: int = 0,
    hop: int | None = None,
    streaming: bool = False,
    params: int | None = None,
    trained_on: str = "",
    description: str = "",
) -> ModelCard:
    """The :class:`ModelCard` of a user model (family ``"user"``, not in the registry: ``builder`` is ``None``).

    ``latency`` in samples at ``sample_rate`` (Hz). ``latency_ms``, the algorithmic latency as the zoo's cards
    state it (frame plus lookahead): for a causal model (``hop`` given) one hop plus ``latency``; for an offline
    one, ``latency`` when declared (> 0), else unknown (``None``: it needs the whole signal).
    """
    if not isinstance(name, str) or not name:
        raise ModelError(f"a user model needs a non-empty name=, got {name!r}")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ModelError(f"{name}: sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    if int(latency) != latency or latency < 0:
        raise ModelError(f"{name}: latency must be a non-negative number of samples, got {latency!r}")
    return card(
        name=name,
        family=USER_FAMILY,
        sample_rate=int(sample_rate),
        framework=framework,
        frame=hop,
        hop=hop,
        latency_ms=1000.0 * ((hop or 0) + latency) / sample_rate if hop or latency else None,
        params=params,
        weights=(),
        license="user model",
        streaming=streaming,
        builder=None,
        trained_on=trained_on,
        status="user model (not in the registry)",
        description=description or f"user model ({framework})",
    )


def _weights(weights: str | os.PathLike | Sequence[str | os.PathLike] | None) -> tuple[Path, ...]:
    if weights is None:
        return ()
    if isinstance(weights, (str, os.PathLike)):
        weights = [weights]
    return tuple(Path(w) for w in weights)


class UserEnhancer(Enhancer):
    """An :class:`Enhancer` around user code: ``_run(x (samples,)) -> (samples,)`` at the model rate, output
    ``latency`` samples late; this class compensates the latency and checks the length, naming the model.

    ``weights_files``: the files the model's output depends on (their bytes go into
    :func:`setoolkit.model_specs.spec_fingerprint`); ``trained_on``: the training data, as the user states it.
    """

    def __init__(self, card: ModelCard, *, latency: int = 0, weights=None) -> None:
        super().__init__(card)
        self.latency = int(latency)
        self.weights_files = _weights(weights)

    @property
    def trained_on(self) -> str:
        return self.card.trained_on

    def _run(self, x: np.ndarray) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        """Mono ``(samples,)`` float32 at the model rate -> ``(samples,)``, latency removed."""
        xp = np.concatenate([x, np.zeros(self.latency, dtype=np.float32)]) if self.latency else x
        y = np.asarray(self._run(xp))
        if y.shape != xp.shape:
            raise ModelError(
                f"user model {self.name!r} returned shape {y.shape} for an input of shape {xp.shape}: "
                f"it must return one sample per input sample ({self.card.framework})"
            )
        return y[self.latency :].astype(np.float32, copy=False)


class FunctionEnhancer(UserEnhancer):
    """A numpy function ``(samples,) float32 -> (samples,)`` as an :class:`Enhancer` (offline)."""

    def __init__(self, card: ModelCard, fn: Callable[[np.ndarray], np.ndarray], **kw) -> None:
        super().__init__(card, **kw)
        self.fn = fn

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.fn(x.copy())  # a function that writes into its input must not change the caller's audio


class StepStream(StreamingEnhancer):
    """Streaming for a step model: ``step(block (hop,), state) -> ((hop,), state)``, output ``latency`` late."""

    def __init__(self, step: Callable, state, *, hop: int, latency: int, sample_rate: int) -> None:
        super().__init__()
        self.hop, self.latency, self.sample_rate = int(hop), int(latency), int(sample_rate)
        self._stepper, self._state = step, state

    def _step(self, block: np.ndarray) -> np.ndarray:
        y, self._state = self._stepper(block, self._state)
        return y


class TorchEnhancer(UserEnhancer):
    """A torch module as an :class:`Enhancer`: ``forward`` offline, ``step`` streaming (see the module doc)."""

    def __init__(self, card: ModelCard, module, **kw) -> None:
        super().__init__(card, **kw)
        self.module = module.eval()

    def _run(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            try:
                y = self.module(torch.from_numpy(x.copy())[None])  # a copy: in-place ops leave the caller's audio
            except Exception as exc:
                raise ModelError(
                    f"user model {self.name!r} (torch): module(x) raised {type(exc).__name__}: {exc} "
                    f"(from_torch feeds x float32 (1, {x.shape[0]}) and expects (1, {x.shape[0]}) back)"
                ) from exc
        if not isinstance(y, torch.Tensor):
            raise ModelError(
                f"user model {self.name!r} (torch): the module returned a {type(y).__name__}"
                + (f" of {len(y)}" if isinstance(y, (tuple, list)) else "")
                + "; from_torch expects one tensor (1, samples): return only the enhanced signal "
                "(wrap the module to pick it)"
            )
        return y.detach().cpu().numpy().reshape(-1) if y.shape[:1] == (1,) else y.detach().cpu().numpy()

    def _torch_step(self, block: np.ndarray, state):
        import torch

        with torch_threads(1), torch.inference_mode():
            y, state = self.module.step(torch.from_numpy(np.ascontiguousarray(block))[None], state)
        y = y.detach().cpu().numpy().reshape(-1)
        if y.shape != block.shape:
            raise ModelError(
                f"user model {self.name!r}: step returned {y.shape[0]} samples for a hop of {block.shape[0]}"
            )
        return y, state

    def stream(self) -> StepStream:
        if not self.card.streaming:
            return super().stream()
        assert self.card.hop is not None  # a streaming user card has its hop (see user_card)
        return StepStream(self._torch_step, None, hop=self.card.hop, latency=self.latency, sample_rate=self.sample_rate)


class OnnxEnhancer(UserEnhancer):
    """An ONNX graph as an :class:`Enhancer`: whole-signal graph, or a step graph with states (``hop`` set)."""

    def __init__(self, card: ModelCard, session, **kw) -> None:
        super().__init__(card, **kw)
        self.session = session
        self._inputs = session.get_inputs()
        self._outputs = [o.name for o in session.get_outputs()]
        if self.card.streaming:
            self.chunk_seconds = None  # runs block by block with carried state: any length, no seams

    def initial_state(self) -> list[np.ndarray]:
        """Zeros of each state input's declared shape (symbolic dimensions taken as 1)."""
        return [np.zeros([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32) for i in self._inputs[1:]]

    def _onnx_step(self, block: np.ndarray, state):
        feeds = {self._inputs[0].name: block[None].astype(np.float32)}
        feeds.update({i.name: s for i, s in zip(self._inputs[1:], state)})
        out = self.session.run(self._outputs, feeds)
        y = np.asarray(out[0]).reshape(-1)
        if y.shape != block.shape:
            raise ModelError(
                f"user model {self.name!r}: the ONNX step returned {y.shape[0]} samples for a hop of {block.shape[0]}"
            )
        return y, list(out[1 : 1 + len(state)])

    def _run(self, x: np.ndarray) -> np.ndarray:
        if not self.card.streaming:
            try:
                y = self.session.run(self._outputs[:1], {self._inputs[0].name: x[None]})[0]
            except Exception as exc:
                raise ModelError(
                    f"user model {self.name!r} (onnx): the graph raised {type(exc).__name__}: {exc} "
                    f"(from_onnx feeds float32 (1, {x.shape[0]}) and expects (1, {x.shape[0]}) back)"
                ) from exc
            return np.asarray(y).reshape(-1) if np.asarray(y).shape[:1] == (1,) else np.asarray(y)
        hop = self.card.hop
        assert hop is not None  # a streaming user card has its hop (see user_card)
        n = x.shape[0]
        xp = np.concatenate([x, np.zeros(-n % hop, dtype=np.float32)])
        state, out = self.initial_state(), []
        for k in range(0, xp.shape[0], hop):
            y, state = self._onnx_step(xp[k : k + hop], state)
            out.append(y)
        return np.concatenate(out)[:n] if out else np.zeros(0, dtype=np.float32)

    def stream(self) -> StepStream:
        if not self.card.streaming:
            return super().stream()
        assert self.card.hop is not None  # a streaming user card has its hop (see user_card)
        return StepStream(
            self._onnx_step, self.initial_state(), hop=self.card.hop, latency=self.latency, sample_rate=self.sample_rate
        )


def onnx_params(path: str | os.PathLike) -> int | None:
    """Number of parameters of an ONNX graph: the elements of its initializers (``None`` without the ``onnx``
    package)."""
    try:
        import onnx
    except ImportError:
        return None
    graph = onnx.load(str(path), load_external_data=False).graph
    return int(sum(int(np.prod(t.dims)) for t in graph.initializer))


def from_function(
    fn: Callable[[np.ndarray], np.ndarray],
    sample_rate: int,
    *,
    name: str,
    latency: int = 0,
    trained_on: str = "",
    weights=None,
    description: str = "",
) -> FunctionEnhancer:
    """An :class:`Enhancer` from a numpy function ``fn(x (samples,) float32) -> (samples,)`` at ``sample_rate`` Hz.

    ``latency``: samples by which ``fn``'s output is late (compensated); ``trained_on``: the training data, a
    plain string (``""``: not stated); ``weights``: file(s) ``fn`` reads, hashed by
    :func:`~setoolkit.model_specs.spec_fingerprint`. An output of another length raises :class:`ModelError`
    naming the model.

    Examples
    --------
    >>> model = setoolkit.from_function(lambda x: 0.5 * x, 16000, name="half")
    >>> model.enhance(noisy, 48000).shape == noisy.shape
    True
    """
    if not callable(fn):
        raise ModelError(f"from_function({name!r}): fn must be callable, got {type(fn).__name__}")
    c = user_card(
        name, sample_rate, framework="numpy function", latency=latency, trained_on=trained_on, description=description
    )
    return FunctionEnhancer(c, fn, latency=latency, weights=weights)


def from_torch(
    module,
    sample_rate: int,
    *,
    name: str | None = None,
    latency: int = 0,
    hop: int | None = None,
    trained_on: str = "",
    weights=None,
    description: str = "",
) -> TorchEnhancer:
    """An :class:`Enhancer` from a ``torch.nn.Module`` at ``sample_rate`` Hz (CPU, float32, inference mode).

    Offline: ``module(x (1, samples)) -> (1, samples)``. ``hop`` (samples) declares the module causal: it then
    also has ``module.step(block (1, hop), state) -> (out (1, hop), state)`` (``state`` ``None`` at the start)
    and the Enhancer streams with it. ``name`` defaults to the module's class name; ``latency``, ``trained_on``,
    ``weights``: as :func:`from_function`. torch is imported only here.

    Examples
    --------
    >>> model = setoolkit.from_torch(net, 16000, name="mine", hop=256)
    >>> stream = model.stream()                       # stream.process(chunk) ... stream.flush()
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"from_torch({name!r}): module must be a torch.nn.Module, got {type(module).__name__}")
    name = name or type(module).__name__.lower()
    if hop is not None and not callable(getattr(module, "step", None)):
        raise ModelError(
            f"from_torch({name!r}): hop={hop} declares a causal module, which needs a "
            "step(block (1, hop), state) -> (out, state) method"
        )
    check_torch_module(module, name)
    params = sum(p.numel() for p in module.parameters())
    c = user_card(
        name,
        sample_rate,
        framework="torch",
        latency=latency,
        hop=hop,
        streaming=hop is not None,
        params=params,
        trained_on=trained_on,
        description=description,
    )
    return TorchEnhancer(c, module, latency=latency, weights=weights)


def from_onnx(
    path: str | os.PathLike,
    sample_rate: int,
    *,
    name: str | None = None,
    latency: int = 0,
    hop: int | None = None,
    trained_on: str = "",
    weights=None,
    description: str = "",
) -> OnnxEnhancer:
    """An :class:`Enhancer` from an ONNX file at ``sample_rate`` Hz (onnxruntime, CPU).

    Offline: input ``(1, samples)`` float32 -> first output ``(1, samples)``. With ``hop`` (samples) the graph
    is a causal step with state inputs/outputs (see the module doc) and the Enhancer streams. ``name`` defaults
    to the file's stem; ``weights`` defaults to ``path`` (hashed by the spec fingerprint). onnxruntime is
    imported only here.
    """
    import onnxruntime as ort

    path = Path(path)
    name = name or path.stem
    if not path.is_file():
        raise ModelError(f"from_onnx({name!r}): ONNX file {str(path)!r} does not exist")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    check_onnx_input(session.get_inputs()[0], name, path, hop)
    c = user_card(
        name,
        sample_rate,
        framework="onnx",
        params=onnx_params(path),
        latency=latency,
        hop=hop,
        streaming=hop is not None,
        trained_on=trained_on,
        description=description,
    )
    return OnnxEnhancer(c, session, latency=latency, weights=path if weights is None else weights)
