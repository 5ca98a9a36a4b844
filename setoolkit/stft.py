"""Version-safe STFT/ISTFT, analysis windows, and named-layout conversions.

Why this module exists: ``torch.istft`` accepted a real ``(..., freq, frames, 2)`` tensor in torch 1.x and
requires a complex one since 2.0; models ported between versions silently lose their phase when the two
layouts are confused, and ``permute``/``transpose`` mix-ups between ``(batch, freq, frames, 2)`` and
``(batch, 2, frames, freq)`` give plausible-looking garbage. Here:

* :func:`stft` always returns a complex tensor ``(..., freq, frames)``;
* :func:`istft` accepts that complex tensor *or* the old real layout (``layout="real_imag"``) and gives
  identical results on torch 1.13 and torch >= 2.0 (the overlap-add is done here, not by ``torch.istft``);
* :func:`stft_np` / :func:`istft_np` are the numpy reference with the same conventions (the core install runs
  them; torch is imported by the torch functions only, so ``import setoolkit.stft`` needs no torch);
* :func:`convert` / :func:`to_complex` / :func:`from_complex` change layout by *name*, asserting every dim.

Conventions (explicit, never implied): ``n_fft`` = window length, one-sided spectrum of ``n_fft // 2 + 1``
bins, no scaling in the forward transform, ``center=False`` by default (frames start at sample 0, as the
streaming models frame their input); ``center=True`` zero-pads ``n_fft // 2`` on both sides. The inverse
divides by the summed squared window (least-squares ISTFT, exact reconstruction where it is non-zero).

Examples
--------
>>> w = window("sine", 512)
>>> spec = stft(x, 512, 256, w)            # complex (batch, 257, frames)
>>> y = istft(spec, 512, 256, w, length=x.shape[-1])
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from .errors import LayoutError

if TYPE_CHECKING:
    import torch


def _is_torch(x) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch (it is loaded only if ``x`` came from it)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


# ---------------------------------------------------------------------------------------------- windows


def window(name: str, n: int, *, dtype=np.float32) -> np.ndarray:
    """Analysis/synthesis window of length ``n`` as a numpy array.

    ``name``: ``"sine"`` (DPCRN, DTLN-style: ``sin(pi (k + 0.5) / n)``), ``"sqrt_hann"`` (GTCRN: square root
    of the periodic Hann), ``"hann"`` (periodic), ``"vorbis"`` (DeepFilterNet:
    ``sin(pi/2 sin^2(pi (k + 0.5) / n))``), ``"rect"``.
    """
    k = np.arange(n, dtype=np.float64)
    if name == "sine":
        w = np.sin(np.pi * (k + 0.5) / n)
    elif name == "hann":
        w = 0.5 - 0.5 * np.cos(2 * np.pi * k / n)
    elif name == "sqrt_hann":
        w = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * k / n))
    elif name == "vorbis":
        w = np.sin(0.5 * np.pi * np.sin(np.pi * (k + 0.5) / n) ** 2)
    elif name == "rect":
        w = np.ones(n)
    else:
        raise ValueError(f"unknown window {name!r}; choose sine, sqrt_hann, hann, vorbis or rect")
    return w.astype(dtype)


def _as_torch_window(w, n_fft: int, like: torch.Tensor) -> torch.Tensor:
    import torch

    w = torch.as_tensor(np.asarray(w) if not isinstance(w, torch.Tensor) else w)
    if w.shape != (n_fft,):
        raise LayoutError(f"window must have shape ({n_fft},), got {tuple(w.shape)}")
    real_dtype = like.real.dtype if like.is_complex() else like.dtype
    return w.to(dtype=real_dtype, device=like.device)


# ---------------------------------------------------------------------------------------------- torch


def stft(x: torch.Tensor, n_fft: int, hop: int, win, *, center: bool = False) -> torch.Tensor:
    """Complex STFT, the same call and result on torch 1.13 and 2.x (always ``return_complex=True``).

    Parameters
    ----------
    x : torch.Tensor, shape ``(..., samples)``, real
    n_fft : int, frame (and FFT) length in samples
    hop : int, frame advance in samples
    win : array or tensor, shape ``(n_fft,)``, the analysis window (see :func:`window`)
    center : bool, pad ``n_fft // 2`` zeros at both ends (librosa's default) instead of none

    Returns
    -------
    torch.Tensor, shape ``(..., n_fft // 2 + 1, frames)``, complex; ``frames = 1 + (samples - n_fft) // hop``
    (without centring, see :func:`n_frames`)

    Examples
    --------
    >>> spec = stft(torch.randn(2, 16000), 512, 256, window("sqrt_hann", 512))   # (2, 257, 61)
    """
    import torch

    x = torch.as_tensor(x)
    if x.shape[-1] < (0 if center else n_fft):
        raise LayoutError(f"stft input has {x.shape[-1]} samples, fewer than one frame of {n_fft}")
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    w = _as_torch_window(win, n_fft, flat)
    spec = torch.stft(
        flat,
        n_fft,
        hop_length=hop,
        win_length=n_fft,
        window=w,
        center=center,
        pad_mode="constant",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    return spec.reshape(*lead, spec.shape[-2], spec.shape[-1])


def istft(
    spec: torch.Tensor,
    n_fft: int,
    hop: int,
    win,
    *,
    center: bool = False,
    length: int | None = None,
    layout: str = "complex",
) -> torch.Tensor:
    """Inverse of :func:`stft`, identical on torch 1.13 and 2.x (whose ``torch.istft`` changed its real/complex
    contract: here the layout is named, never guessed).

    Parameters
    ----------
    spec : torch.Tensor, shape ``(..., n_fft // 2 + 1, frames)`` complex, or ``(..., n_fft // 2 + 1, frames, 2)``
        real with ``layout="real_imag"`` (any named layout of :func:`to_complex`)
    n_fft, hop, win, center : as for :func:`stft`
    length : int, optional, trim or zero-pad the result to this many samples
    layout : str, the layout of ``spec``

    Returns
    -------
    torch.Tensor, shape ``(..., samples)``, real: least-squares overlap-add (windowed inverse FFT divided by
    the summed squared window where it is above 1e-11)
    """
    import torch

    spec = to_complex(spec, layout) if layout != "complex" else torch.as_tensor(spec)
    if not spec.is_complex():
        raise LayoutError(
            f"istft(layout='complex') needs a complex tensor, got dtype {spec.dtype}; "
            "for a real (..., freq, frames, 2) tensor pass layout='real_imag'"
        )
    n_freq = n_fft // 2 + 1
    if spec.shape[-2] != n_freq:
        raise LayoutError(
            f"istft expected {n_freq} frequency bins in dim -2 (..., freq, frames), got shape {tuple(spec.shape)}"
        )
    lead = spec.shape[:-2]
    n_frames = spec.shape[-1]
    flat = spec.reshape(-1, n_freq, n_frames)
    w = _as_torch_window(win, n_fft, flat)
    frames = torch.fft.irfft(flat.transpose(1, 2), n=n_fft, dim=-1) * w  # (b, frames, n_fft)
    y = overlap_add(frames, hop)
    env = overlap_add((w * w).expand(1, n_frames, n_fft), hop)[0]
    y = torch.where(env > 1e-11, y / env.clamp_min(1e-11), y)
    if center:
        y = y[..., n_fft // 2 :]
        if length is None:
            y = y[..., : y.shape[-1] - n_fft // 2]
    if length is not None:
        y = y[..., :length] if y.shape[-1] >= length else torch.nn.functional.pad(y, (0, length - y.shape[-1]))
    return y.reshape(*lead, y.shape[-1])


def overlap_add(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """Overlap-add ``(batch, frames, frame_len)`` with stride ``hop`` -> ``(batch, (frames - 1) * hop + frame_len)``."""
    import torch

    b, n_frames, frame_len = frames.shape
    out_len = (n_frames - 1) * hop + frame_len
    return torch.nn.functional.fold(
        frames.transpose(1, 2), output_size=(1, out_len), kernel_size=(1, frame_len), stride=(1, hop)
    ).reshape(b, out_len)


# ---------------------------------------------------------------------------------------------- numpy


def frame_np(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Frames of ``x`` ``(..., samples)`` -> ``(..., frames, n_fft)``; trailing samples that do not fill a frame are
    dropped."""
    n_frames = 1 + (x.shape[-1] - n_fft) // hop
    if n_frames < 1:
        raise LayoutError(f"signal of {x.shape[-1]} samples is shorter than one frame of {n_fft}")
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    return x[..., idx]


def overlap_add_np(frames: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add ``(..., frames, frame_len)`` -> ``(..., (frames - 1) * hop + frame_len)``."""
    n_frames, frame_len = frames.shape[-2:]
    out = np.zeros(frames.shape[:-2] + ((n_frames - 1) * hop + frame_len,), dtype=frames.dtype)
    for t in range(n_frames):
        out[..., t * hop : t * hop + frame_len] += frames[..., t, :]
    return out


def stft_np(x: np.ndarray, n_fft: int, hop: int, win: np.ndarray, *, center: bool = False) -> np.ndarray:
    """Numpy reference of :func:`stft`: ``(..., samples)`` -> complex ``(..., freq, frames)``."""
    x = np.asarray(x)
    if center:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)])
    frames = frame_np(x, n_fft, hop) * win
    return np.swapaxes(np.fft.rfft(frames, axis=-1), -1, -2)


def istft_np(
    spec: np.ndarray, n_fft: int, hop: int, win: np.ndarray, *, center: bool = False, length: int | None = None
) -> np.ndarray:
    """Numpy reference of :func:`istft` (complex ``(..., freq, frames)`` -> ``(..., samples)``)."""
    frames = np.fft.irfft(np.swapaxes(spec, -1, -2), n=n_fft, axis=-1) * win
    y = overlap_add_np(frames, hop)
    env = overlap_add_np(np.broadcast_to(win * win, (frames.shape[-2], n_fft)), hop)
    y = np.where(env > 1e-11, y / np.maximum(env, 1e-11), y)
    if center:
        y = y[..., n_fft // 2 :]
        if length is None:
            y = y[..., : y.shape[-1] - n_fft // 2]
    if length is not None:
        y = (
            y[..., :length]
            if y.shape[-1] >= length
            else np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])])
        )
    return y


def n_frames(n_samples: int, n_fft: int, hop: int, *, center: bool = False) -> int:
    """Number of STFT frames for ``n_samples`` under the conventions above."""
    if center:
        n_samples += 2 * (n_fft // 2)
    return 1 + (n_samples - n_fft) // hop if n_samples >= n_fft else 0


# ---------------------------------------------------------------------------------------------- layouts

#: Named spectrogram layouts: dims in order; "ri" is the real/imaginary pair (size 2).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "complex": ("batch", "freq", "frames"),  # complex dtype
    "real_imag": ("batch", "freq", "frames", "ri"),  # torch 1.x stft(return_complex=False)
    "channels_first": ("batch", "ri", "frames", "freq"),  # conv-net input (DPCRN/GTCRN ports)
    "channels_last": ("batch", "frames", "freq", "ri"),  # Keras/TFLite feature maps
}


def _check_layout(x, layout: str) -> None:
    if layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    dims = LAYOUTS[layout]
    if x.ndim != len(dims):
        raise LayoutError(f"layout {layout!r} expects {len(dims)} dims {dims}, got shape {tuple(x.shape)}")
    is_complex = x.is_complex() if _is_torch(x) else np.iscomplexobj(x)
    if layout == "complex" and not is_complex:
        raise LayoutError(f"layout 'complex' expects a complex tensor {dims}, got real dtype {x.dtype}")
    if layout != "complex":
        if is_complex:
            raise LayoutError(f"layout {layout!r} expects a real tensor {dims}, got complex dtype {x.dtype}")
        ri = dims.index("ri")
        if x.shape[ri] != 2:
            raise LayoutError(
                f"layout {layout!r} expects size 2 for dim {ri} ('ri' in {dims}), got shape {tuple(x.shape)}"
            )


def to_complex(x, layout: str):
    """Any named layout -> complex ``(batch, freq, frames)`` (torch or numpy, as given)."""
    _check_layout(x, layout)
    if layout == "complex":
        return x
    dims = LAYOUTS[layout]
    order = [dims.index(d) for d in ("batch", "freq", "frames", "ri")]
    if _is_torch(x):
        return sys.modules["torch"].view_as_complex(x.permute(*order).contiguous())
    y = np.transpose(x, order)
    return y[..., 0] + 1j * y[..., 1]


def from_complex(z, layout: str):
    """Complex ``(batch, freq, frames)`` -> the named layout."""
    _check_layout(z, "complex")
    if layout == "complex":
        return z
    dims = LAYOUTS[layout]
    src = ("batch", "freq", "frames", "ri")
    order = [src.index(d) for d in dims]
    if _is_torch(z):
        return sys.modules["torch"].view_as_real(z).permute(*order).contiguous()
    return np.ascontiguousarray(np.transpose(np.stack([z.real, z.imag], axis=-1), order))


def convert(x, src: str, dst: str):
    """Convert between named layouts, e.g. ``convert(spec, "real_imag", "channels_first")``."""
    return from_complex(to_complex(x, src), dst)


def permute_named(x, src: str, dst: str, **sizes: int):
    """Reorder dims by name: ``permute_named(x, "b f t", "b t f", f=257)``.

    Asserts the rank equals the number of names in ``src`` and that every size given in ``sizes`` matches,
    so a wrong guess about the layout fails here with the shape in the message. Works on torch and numpy.
    """
    src_dims, dst_dims = src.split(), dst.split()
    if sorted(src_dims) != sorted(dst_dims) or len(set(src_dims)) != len(src_dims):
        raise LayoutError(f"permute_named: {src!r} and {dst!r} must name the same distinct dims")
    if x.ndim != len(src_dims):
        raise LayoutError(f"permute_named: expected {len(src_dims)} dims ({src}), got shape {tuple(x.shape)}")
    for name, size in sizes.items():
        if name not in src_dims:
            raise LayoutError(f"permute_named: size given for {name!r}, which is not a dim of {src!r}")
        got = x.shape[src_dims.index(name)]
        if got != size:
            raise LayoutError(
                f"permute_named: dim {name!r} of ({src}) should be {size}, got {got} (shape {tuple(x.shape)})"
            )
    order = [src_dims.index(d) for d in dst_dims]
    return x.permute(*order) if _is_torch(x) else np.transpose(x, order)


def torch_istft_takes_real_layout() -> bool:
    """Whether the installed torch still accepts a real ``(..., 2)`` tensor in ``torch.istft`` (torch < 2.0)."""
    import torch

    spec = torch.zeros(1, 5, 3, 2)
    try:
        torch.istft(spec, 8, 4, window=torch.ones(8), center=True)
        return True
    except RuntimeError:
        return False
