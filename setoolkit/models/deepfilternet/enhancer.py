"""DeepFilterNet 2 and 3 from an ONNX export and its ``config.ini``, offline and streaming.

Everything that differs between exports is read from ``config.ini`` (:class:`.dsp.DfnConfig`): sample rate,
STFT size and hop, ERB bands, deep-filter bins, order and lookahead. The official exports run at 48 kHz
(960 / 480, 96 DF bins, two frames of lookahead, or none for the ``-ll`` ones); Hush (Weya's DeepFilterNet3
fine-tune) at 16 kHz (320 / 160, 64 DF bins, no lookahead) through the same code.

The export is three stateless graphs: ``enc`` (ERB features ``[1,1,S,nb_erb]`` + normalised complex features
of the lowest ``nb_df`` bins ``[1,2,S,nb_df]`` -> feature maps, embedding, local SNR), ``erb_dec`` (-> ERB gains
per frame) and ``df_dec`` (-> complex deep-filter coefficients, ``nb_df`` bins x ``df_order``). Everything
around them is setoolkit's (:mod:`.dsp`), as the official runtime (libDF) does it:

1. Vorbis-window STFT; features with running normalisations.
2. The networks see frame ``t`` and answer for frame ``t - conv_lookahead`` (DFN3: two frames of lookahead).
3. ERB gains on every bin above the DF bins; the deep filter (order 5: DFN3 frames ``t-2 .. t+2``) on the
   lowest ``nb_df`` bins. DeepFilterNet3 filters the noisy spectrum; DeepFilterNet2 filters the ERB-gained
   spectrum, whose two future frames need two more frames of mask lookahead (4 frames in all).
4. The attenuation limit (libDF's ``atten_lim_db``, a build parameter): ``10^(-lim/20)`` of the noisy frame is
   mixed back into the enhanced one, so no bin is attenuated by more than ``lim`` dB; 100 dB or more: none.
5. Inverse STFT; the algorithmic delay ``(n_fft - hop) + lookahead * hop`` (1440 samples = 30 ms for DFN3,
   2400 = 50 ms for DFN2, 160 = 10 ms for Hush) is removed offline, so output and input line up sample for sample.

Offline runs the exported graphs as they are on the whole sequence (longer inputs: in blocks, state carried
through the streaming graph). Streaming runs the graphs rewritten by :func:`.onnx_graphs.streaming_graph`
(GRU states and time-convolution caches as inputs/outputs) one 10 ms hop at a time, carrying every state:
normalisation means, STFT overlap, network states, spectrum/gain/coefficient histories for the lookahead.

The official runtime skips hops of digital silence (after 5 such hops it outputs zeros); setoolkit always
processes, so outputs differ from it only inside long runs of exact zeros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...assets import extracted, fetch
from ...errors import AssetError, AudioError, ModelError
from ...registry import ModelCard
from ...streaming import StreamingEnhancer
from ..common.base import Enhancer
from . import dsp, onnx_graphs

PARTS = ("enc", "erb_dec", "df_dec")
SUPPORTED = ("deepfilternet2", "deepfilternet3")
#: offline inputs longer than this many frames (10 s) run in blocks through the stateful graph, carrying
#: every state (exact; bounds onnxruntime's memory, ~0.3 MB per frame of a block)
MAX_OFFLINE_FRAMES = 1000


class DeepFilterNet(Enhancer):
    """DeepFilterNet 2 or 3 from its ONNX parts and ``config.ini``.

    ``paths``: ``{"enc", "erb_dec", "df_dec", "config"}`` -> file; ``atten_lim_db``: the attenuation limit in dB
    (100 or more: none). Raises :class:`AssetError` for unreadable or mismatching parts and :class:`ModelError`
    for a config that does not fit the card.
    """

    chunk_seconds = None  # any length in blocks of MAX_OFFLINE_FRAMES with state carried: no seams

    def __init__(self, card: ModelCard, paths: dict[str, str | Path], *, atten_lim_db: float = 100.0) -> None:
        super().__init__(card)
        self.cfg = cfg = dsp.DfnConfig.from_ini(paths["config"])
        self._check_config(cfg, paths["config"])
        self.atten_lim_db = float(atten_lim_db)
        if not np.isfinite(self.atten_lim_db):
            raise ModelError(f"{card.name}: attenuation limit {atten_lim_db!r} dB is not a number")
        #: share of the noisy frame mixed back into each enhanced one (0: no attenuation limit)
        self.noisy_mix = dsp.noisy_mix(self.atten_lim_db)
        parts = onnx_graphs.load_parts({p: str(paths[p]) for p in PARTS})
        self._check_widths(parts, paths)
        self.widths = dsp.erb_widths(cfg.sr, cfg.fft_size, cfg.nb_erb, cfg.min_nb_erb_freqs)
        self.alpha = cfg.alpha
        #: DFN2 deep-filters the ERB-gained spectrum, DFN3 the noisy one
        self.df_on_masked = cfg.model == "deepfilternet2"
        #: frames between the network's newest input frame and the frame it completes
        self.lookahead = (
            cfg.conv_lookahead + cfg.df_lookahead if self.df_on_masked else max(cfg.conv_lookahead, cfg.df_lookahead)
        )
        self.latency = cfg.fft_size - cfg.hop_size + self.lookahead * cfg.hop_size
        self.graph = onnx_graphs.merged_graph(parts)
        self.stream_graph, self.states = onnx_graphs.streaming_graph(self.graph)
        self._sessions: dict = {}

    # -- checks ---------------------------------------------------------------------------------------
    def _check_config(self, cfg: dsp.DfnConfig, path) -> None:
        card = self.card
        if cfg.model not in SUPPORTED:
            raise ModelError(f"{path}: model type {cfg.model!r} is not supported; setoolkit runs {SUPPORTED}")
        if cfg.sr != card.sample_rate:
            raise ModelError(
                f"{path}: config.ini says sr = {cfg.sr} Hz but {card.name} runs at "
                f"{card.sample_rate} Hz: this config belongs to another model"
            )
        if (cfg.fft_size, cfg.hop_size) != (card.frame, card.hop):
            raise ModelError(
                f"{path}: config.ini frames {cfg.fft_size}/{cfg.hop_size} but the card of "
                f"{card.name} says {card.frame}/{card.hop}"
            )
        if not model_type(card).startswith(cfg.model):
            raise ModelError(f"{path}: config.ini is for {cfg.model!r}, not {card.name!r}")
        if cfg.fft_size != 2 * cfg.hop_size:
            raise ModelError(f"{path}: only 50% overlap is supported, got fft {cfg.fft_size} / hop {cfg.hop_size}")

    def _check_widths(self, parts: dict, paths: dict) -> None:
        cfg = self.cfg
        for part, name, axis, want in (
            ("enc", "feat_erb", -1, cfg.nb_erb),
            ("enc", "feat_spec", -1, cfg.nb_df),
            ("enc", "feat_spec", 1, 2),
        ):
            got = onnx_graphs.input_width(parts[part], name, axis)
            if got != want:
                raise AssetError(
                    f"{paths[part]}: input {name!r} has size {got} on axis {axis} but "
                    f"{paths['config']} asks for {want}: graph and config.ini do not match"
                )
        out = next(o for o in parts["df_dec"].graph.output if o.name == "coefs")
        last = out.type.tensor_type.shape.dim[-1].dim_value
        if last and last != 2 * cfg.df_order:
            raise AssetError(
                f"{paths['df_dec']}: 'coefs' has {last} values per bin, config.ini df_order "
                f"{cfg.df_order} needs {2 * cfg.df_order}"
            )

    # -- networks -------------------------------------------------------------------------------------
    def session(self, kind: str):
        """The onnxruntime session of ``kind``: ``"offline"`` (the exported graphs, any length),
        ``"step"`` (streaming graph, one frame) or ``"block"`` (streaming graph, any length). Built once."""
        if kind not in self._sessions:
            graph = self.graph if kind == "offline" else self.stream_graph
            self._sessions[kind] = onnx_graphs.session(graph, frames=1 if kind == "step" else None)
        return self._sessions[kind]

    def zero_states(self) -> list[np.ndarray]:
        """Initial network states (GRU hidden states and convolution caches), in ``self.states`` order."""
        return [np.zeros(s.shape, np.float32) for s in self.states]

    def run_network(self, feat_erb: np.ndarray, feat_cplx: np.ndarray, states: list[np.ndarray] | None = None):
        """Networks over ``T`` frames: ``feat_erb`` ``(T, nb_erb)``, ``feat_cplx`` ``(T, nb_df)`` complex.

        Returns ``gains (T, nb_erb)``, ``coefs (T, nb_df, order)`` complex, ``lsnr (T,)`` dB and the new
        states. ``states=None``: the exported graphs as they are (zero start, no state out; ``None``).
        """
        fe = np.ascontiguousarray(feat_erb, dtype=np.float32)[None, None]
        fs = np.ascontiguousarray(np.stack([feat_cplx.real, feat_cplx.imag]), dtype=np.float32)[None]
        feeds = {"feat_erb": fe, "feat_spec": fs}
        if states is None:
            m, coefs, lsnr = self.session("offline").run(list(onnx_graphs.OUTPUTS), feeds)
            new = None
        else:
            feeds.update({s.input: v for s, v in zip(self.states, states)})
            names = [*onnx_graphs.OUTPUTS, *(s.output for s in self.states)]
            out = self.session("step" if fe.shape[2] == 1 else "block").run(names, feeds)
            (m, coefs, lsnr), new = out[:3], out[3:]
        return m[0, 0], dsp.coefs_to_complex(coefs[0], self.cfg.df_order), lsnr[0, :, 0], new

    # -- signal path ----------------------------------------------------------------------------------
    def features(self, spec: np.ndarray, erb_state=None, cplx_state=None):
        """Network inputs of ``spec`` ``(T, n_freqs)``; states default to the initial means. Returns
        ``(feat_erb, feat_cplx, erb_state, cplx_state)``."""
        cfg = self.cfg
        erb_state = dsp.mean_norm_init(cfg.nb_erb) if erb_state is None else erb_state
        cplx_state = dsp.unit_norm_init(cfg.nb_df) if cplx_state is None else cplx_state
        fe, erb_state = dsp.erb_features(spec, self.widths, self.alpha, erb_state)
        fc, cplx_state = dsp.cplx_features(spec[:, : cfg.nb_df], self.alpha, cplx_state)
        return fe, fc, erb_state, cplx_state

    def enhance_frames(self, spec_win: np.ndarray, gains_win: np.ndarray, coefs: np.ndarray) -> np.ndarray:
        """Enhanced frame ``t`` from its neighbourhood: ``spec_win`` ``(..., order, F)`` noisy frames
        ``t - order + 1 + df_lookahead ..``, ``gains_win`` ``(..., order, nb_erb)`` their gains, ``coefs``
        ``(..., nb_df, order)`` the filter of frame ``t``. Returns ``(..., F)``."""
        nb_df, center = self.cfg.nb_df, self.cfg.df_order - 1 - self.cfg.df_lookahead
        if self.df_on_masked:
            src = dsp.apply_erb_gains(spec_win, gains_win, self.widths)
            out = src[..., center, :].copy()
        else:
            src = spec_win
            out = dsp.apply_erb_gains(spec_win[..., center, :], gains_win[..., center, :], self.widths)
        out[..., :nb_df] = np.einsum("...kf,...fk->...f", src[..., :nb_df], coefs)
        if self.noisy_mix:  # the attenuation limit: some of the noisy frame t mixed back
            out = (1.0 - self.noisy_mix) * out + self.noisy_mix * spec_win[..., center, :]
        return out

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        """Offline: ``x`` ``(samples,)`` float32 at the model rate -> ``(samples,)``, aligned with ``x``.

        The whole signal (zero-padded by the lookahead) goes through the networks in one call, or in blocks
        of :data:`MAX_OFFLINE_FRAMES` frames with every state carried; the delay is then cut off.
        """
        cfg = self.cfg
        n_fft, hop = cfg.fft_size, cfg.hop_size
        n = x.shape[0]
        if n < n_fft:
            raise AudioError(
                f"{self.name}: input of {n} samples at {cfg.sr} Hz is shorter than one frame "
                f"({n_fft} samples, {1000 * n_fft / cfg.sr:g} ms)"
            )
        hops = -(-(n + self.latency) // hop)
        xp = np.zeros((hops, hop), dtype=np.float32)
        xp.reshape(-1)[:n] = x
        stream = self.stream()
        if hops <= MAX_OFFLINE_FRAMES:
            y = stream.process_frames(xp, exported=True)
        else:
            y = np.concatenate(
                [stream.process_frames(xp[i : i + MAX_OFFLINE_FRAMES]) for i in range(0, hops, MAX_OFFLINE_FRAMES)]
            )
        return y.reshape(-1)[self.latency : self.latency + n]

    def stream(self) -> DeepFilterNetStream:
        return DeepFilterNetStream(self)


class DeepFilterNetStream(StreamingEnhancer):
    """DeepFilterNet hop by hop; the output is late by ``latency`` samples (1440 for DFN3, 2400 for DFN2, 160 for
    Hush).

    Carried: STFT analysis/synthesis overlap, the two running feature means, the network states, the last
    spectra and gains (the deep filter's lookahead) and the filter coefficients waiting for their frame.
    :meth:`process_frames` runs any number of hops at once (offline uses it on the whole signal).
    """

    def __init__(self, model: DeepFilterNet) -> None:
        super().__init__()
        cfg = model.cfg
        self.model = model
        self.sample_rate, self.hop, self.latency = cfg.sr, cfg.hop_size, model.latency
        self._states = model.zero_states()
        self._fresh = True
        self._in = np.zeros(cfg.fft_size - cfg.hop_size, dtype=np.float32)  # analysis overlap
        self._out = np.zeros(cfg.fft_size - cfg.hop_size, dtype=np.float64)  # synthesis overlap
        self._erb_state = dsp.mean_norm_init(cfg.nb_erb)
        self._cplx_state = dsp.unit_norm_init(cfg.nb_df)
        # spectra and gains of the last `hist` frames (gains of the newest conv_lookahead frames not known yet),
        # and the filters computed but not yet applied (when the lookahead exceeds conv_lookahead: DFN2)
        hist = model.lookahead + cfg.df_order - cfg.df_lookahead
        self._spec = np.zeros((hist, cfg.n_freqs), dtype=np.complex128)
        self._gains = np.zeros((hist - cfg.conv_lookahead, cfg.nb_erb), dtype=np.float32)
        self._coefs = np.zeros((model.lookahead - cfg.conv_lookahead, cfg.nb_df, cfg.df_order), np.complex64)
        self.lsnr = np.zeros(0, dtype=np.float32)  # local SNR estimates (dB) of the last call's frames

    def _step(self, block: np.ndarray) -> np.ndarray:
        return self.process_frames(block[None])[0]

    def process_frames(self, hops: np.ndarray, *, exported: bool = False) -> np.ndarray:
        """``hops`` ``(K, hop)`` consecutive input hops -> ``(K, hop)`` output hops (late by ``latency``).

        ``exported=True`` (first and last call only) runs the exported graphs as they are instead of the
        stateful ones: the same numbers, but the stream cannot continue afterwards.
        """
        m, cfg = self.model, self.model.cfg
        if self._states is None:
            raise ModelError(f"{m.name}: this stream was finished by an exported-graph call; start a new one")
        k, hop, n_fft, order = hops.shape[0], cfg.hop_size, cfg.fft_size, cfg.df_order
        spec, self._in = dsp.analysis(hops.reshape(-1), n_fft, hop, self._in)
        # networks: the answer for frame t - conv_lookahead
        fe, fc, self._erb_state, self._cplx_state = m.features(spec, self._erb_state, self._cplx_state)
        if exported and not self._fresh:
            raise ModelError(f"{m.name}: the exported graphs start from zero state; use them on a fresh stream")
        gains, coefs, self.lsnr, self._states = m.run_network(fe, fc, None if exported else self._states)
        self._fresh = False
        # the frame completed by each input frame, from its neighbourhood of `order` frames
        spec_all = np.concatenate([self._spec, spec])
        gains_all = np.concatenate([self._gains, gains, np.zeros((cfg.conv_lookahead, cfg.nb_erb), np.float32)])
        coefs_all = np.concatenate([self._coefs, coefs])
        enh = m.enhance_frames(_windows(spec_all[1:], order, k), _windows(gains_all[1:], order, k), coefs_all[:k])
        self._spec = spec_all[k:]
        self._gains = gains_all[k : k + self._gains.shape[0]]
        self._coefs = coefs_all[k:]
        y, self._out = dsp.synthesis(enh, n_fft, hop, self._out)
        return y.astype(np.float32).reshape(k, hop)


def _windows(a: np.ndarray, order: int, k: int) -> np.ndarray:
    """``(k, order, ...)``: rows ``i .. i + order - 1`` of ``a`` ``(T, ...)`` for each ``i < k``."""
    return np.stack([a[j : j + k] for j in range(order)], axis=1)


def model_type(card: ModelCard) -> str:
    """The ``[train] model`` of config.ini the card runs: its ``config["model"]`` or else its name
    (``deepfilternet3-ll`` runs a ``deepfilternet3`` config; Hush declares ``deepfilternet3``)."""
    return (card.config or {}).get("model", card.name)


def build(card: ModelCard, *, mirror=None, atten_lim_db: float = 100.0) -> DeepFilterNet:
    """Fetch (and verify) the card's three ONNX parts and config.ini, or its official ``.tar.gz`` export
    (verified, then unpacked once into the cache), and build the model with the attenuation limit
    ``atten_lim_db`` (dB, libDF's parameter; 100 or more: none)."""
    paths: dict[str, str | Path] = {}
    for name in card.weights:
        if name.endswith(".tar.gz"):
            paths.update({p.stem: p for p in extracted(name, mirror=mirror).iterdir()})
        else:
            paths[Path(name).stem] = fetch(name, mirror=mirror)
    missing = [k for k in (*PARTS, "config") if k not in paths]
    if missing:
        raise AssetError(f"card {card.name!r} lists no {', '.join(missing)} file among {card.weights}")
    return DeepFilterNet(card, paths, atten_lim_db=atten_lim_db)
