"""Training losses from the SE literature (torch, differentiable), over ``(batch, samples)`` waveforms."""

from __future__ import annotations

import torch


def si_sdr_loss(est: torch.Tensor, ref: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Negative mean SI-SDR in dB (Le Roux et al. 2019), zero-mean signals."""
    est = est - est.mean(dim=-1, keepdim=True)
    ref = ref - ref.mean(dim=-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + eps)
    target = alpha * ref
    ratio = target.pow(2).sum(-1) / ((est - target).pow(2).sum(-1) + eps)
    return -(10 * torch.log10(ratio + eps)).mean()


def multires_stft_loss(
    est: torch.Tensor, ref: torch.Tensor, resolutions=((512, 128), (1024, 256), (256, 64)), eps: float = 1e-7
) -> torch.Tensor:
    """Multi-resolution STFT loss (Yamamoto et al. 2020): spectral convergence + log-magnitude L1, averaged
    over (n_fft, hop) resolutions with Hann windows."""
    total = est.new_zeros(())
    for n_fft, hop in resolutions:
        w = torch.hann_window(n_fft, device=est.device, dtype=est.dtype)
        e = torch.stft(est, n_fft, hop, window=w, return_complex=True).abs() + eps
        r = torch.stft(ref, n_fft, hop, window=w, return_complex=True).abs() + eps
        sc = torch.linalg.norm(r - e, dim=(-2, -1)) / torch.linalg.norm(r, dim=(-2, -1))
        total = total + sc.mean() + (torch.log(r) - torch.log(e)).abs().mean()
    return total / len(resolutions)


def combined_loss(est: torch.Tensor, ref: torch.Tensor, *, stft_weight: float = 10.0) -> torch.Tensor:
    """SI-SDR loss plus weighted multi-resolution STFT loss (the default fine-tuning objective)."""
    return si_sdr_loss(est, ref) + stft_weight * multires_stft_loss(est, ref)
