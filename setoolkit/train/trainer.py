"""Resumable, deterministic fine-tuning of a PyTorch model family from its checkpoint.

The checkpoint written every ``save_every`` steps is in the family's own format (the loaders read it
back) with the optimizer state, the step and the RNG states added, so an interrupted run resumed from it
ends with exactly the weights an uninterrupted run reaches (batches are a pure function of seed and step).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .losses import combined_loss


@dataclass
class FinetuneResult:
    """What a run did: final step, loss per step, checkpoint path, wall time (s)."""

    step: int
    losses: list[float] = field(default_factory=list)
    checkpoint: Path | None = None
    seconds: float = 0.0


def _set_seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def finetune(
    adapter,
    data,
    out_dir: str | Path,
    *,
    steps: int,
    batch_size: int = 4,
    lr: float = 1e-4,
    seed: int = 0,
    save_every: int = 50,
    resume: bool = True,
    loss_fn=combined_loss,
    threads: int | None = 1,
    progress: bool = True,
) -> FinetuneResult:
    """Fine-tune ``adapter.module`` on ``data`` (a :class:`~setoolkit.train.data.MixingDataset`) until ``steps``.

    ``adapter``: a :class:`~setoolkit.train.adapters.TrainAdapter` (the model's torch module, a
    differentiable waveform forward, and a saver in the family's checkpoint format). Resumes from
    ``out_dir/last.tar`` when present (written in the family's checkpoint format by ``adapter.save``). Logs
    ``out_dir/log.csv`` (step, loss, seconds).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    _set_seed(seed)
    module = adapter.module
    adapter.train_mode(True)
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)
    start, losses = 0, []
    last = out_dir / "last.tar"
    if resume and last.exists():
        ckpt = adapter.load(last)
        opt.load_state_dict(ckpt["optimizer"])
        start = int(ckpt["step"])
        losses = list(ckpt.get("losses", []))
        torch.set_rng_state(ckpt["torch_rng"])
    log = open(out_dir / "log.csv", "a", newline="")
    writer = csv.writer(log)
    if start == 0:
        writer.writerow(["step", "loss", "seconds"])
    t0 = time.perf_counter()
    bar = tqdm(range(start, steps), desc=f"finetune {adapter.name}", disable=not progress, initial=start, total=steps)
    for step in bar:
        noisy, clean = data.batch(step, batch_size)
        est = adapter.forward(torch.from_numpy(noisy))
        loss = loss_fn(est, torch.from_numpy(clean))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        writer.writerow([step + 1, f"{losses[-1]:.6f}", f"{time.perf_counter() - t0:.2f}"])
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if (step + 1) % save_every == 0 or step + 1 == steps:
            _save(adapter, opt, step + 1, losses, last)
    log.close()
    adapter.train_mode(False)
    return FinetuneResult(max(start, steps), losses, last if last.exists() else None, time.perf_counter() - t0)


def _save(adapter, opt, step: int, losses: list[float], path: Path) -> None:
    adapter.save(
        path, extra={"optimizer": opt.state_dict(), "step": step, "losses": losses, "torch_rng": torch.get_rng_state()}
    )
