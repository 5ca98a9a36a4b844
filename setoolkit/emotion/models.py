"""Emotion classifiers, small to large: a standardised SVM on functionals, a log-mel CNN, a CRNN with
attention pooling. Each is used through a ``fit_predict(X_train, y_train, X_test) -> (probabilities, info)``
function (see :mod:`setoolkit.emotion.evaluation`), so every model runs through the same LOSO loop.

The networks are sized by one ``width`` argument (channels of the first conv block, doubled per block), which is
how the parameters-vs-accuracy curve is measured. Training is CPU-only and deterministic for a given seed
(``torch.manual_seed``, one thread unless told otherwise).

Examples
--------
>>> fit = svm_classifier(kernel="rbf", C=10)
>>> proba, info = fit(X_train, y_train, X_test)                      # (n_test, n_classes)
>>> fit = torch_classifier("cnn", width=16, epochs=30, n_classes=7)
>>> proba, info = fit(M_train, y_train, M_test)                      # log-mels (n, n_mels, frames)
"""

from __future__ import annotations

import numpy as np

# ------------------------------------------------------------------------------------------------ SVM


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _standardised(make_estimator, scores_of):
    """``fit_predict`` of a scikit-learn estimator behind per-training-fold standardisation: ``scores_of(clf, X)``
    gives ``(n, classes seen in training)``, placed into ``(n_test, max label + 1)`` columns."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fit_predict(X_train, y_train, X_test):
        clf = make_pipeline(StandardScaler(), make_estimator())
        clf.fit(np.asarray(X_train, dtype=np.float64), y_train)
        proba = np.zeros((len(X_test), int(y_train.max()) + 1))
        proba[:, clf.classes_] = scores_of(clf, np.asarray(X_test, dtype=np.float64))
        return proba, {}

    return fit_predict


def svm_classifier(*, kernel: str = "rbf", C: float = 10.0, gamma: str | float = "scale"):
    """``fit_predict`` for functionals: per-training-fold standardisation (mean 0, std 1 fitted on the training
    speakers only) + an SVM with balanced class weights (``kernel``: ``"rbf"`` or ``"linear"``).

    The "probabilities" are a softmax of the one-vs-rest decision values (their argmax is the SVM's
    prediction); they serve late fusion, they are not calibrated."""
    from sklearn.svm import SVC

    return _standardised(
        lambda: SVC(kernel=kernel, C=C, gamma=gamma, class_weight="balanced", decision_function_shape="ovr"),
        lambda clf, X: _softmax(clf.decision_function(X)),
    )


# ---------------------------------------------------------------------------------------- networks


def _nn():
    import torch
    from torch import nn

    class ConvBlock(nn.Module):
        """3x3 conv + BN + ReLU, then 2x2 max-pool: ``(B, cin, F, T) -> (B, cout, F/2, T/2)``."""

        def __init__(self, cin, cout, dropout):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Dropout2d(dropout),
            )

        def forward(self, x):
            return self.body(x)

    class AttentionPool(nn.Module):
        """Softmax attention over time: ``(B, T, D) -> (B, D)``."""

        def __init__(self, dim):
            super().__init__()
            self.score = nn.Linear(dim, 1)

        def forward(self, h):
            w = torch.softmax(self.score(h), dim=1)
            return (w * h).sum(1)

    class LogMelCNN(nn.Module):
        """Log-mel CNN: input batch-norm (one scalar mean / variance), ``blocks`` conv blocks (width, 2 width, ...),
        the mean over frequency, then mean and max over time, dropout and a linear layer.
        ``(B, n_mels, T) -> (B, n_classes)``."""

        def __init__(self, n_classes, n_mels=64, width=16, blocks=4, dropout=0.3):
            super().__init__()
            self.norm = nn.BatchNorm2d(1)
            chans = [width * 2**i for i in range(blocks)]
            self.blocks = nn.Sequential(*[ConvBlock(c_in, c_out, 0.1) for c_in, c_out in zip([1] + chans, chans)])
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * chans[-1], n_classes))

        def forward(self, x):
            h = self.blocks(self.norm(x[:, None]))  # (B, C, F', T')
            h = h.mean(2)  # (B, C, T')
            return self.head(torch.cat([h.mean(-1), h.amax(-1)], 1))

    class CRNN(nn.Module):
        """Conv blocks over log-mel, a bidirectional GRU over time, attention pooling, linear head.
        ``(B, n_mels, T) -> (B, n_classes)``."""

        def __init__(self, n_classes, n_mels=64, width=16, blocks=3, hidden=None, dropout=0.3):
            super().__init__()
            self.norm = nn.BatchNorm2d(1)
            chans = [width * 2**i for i in range(blocks)]
            self.blocks = nn.Sequential(*[ConvBlock(c_in, c_out, 0.1) for c_in, c_out in zip([1] + chans, chans)])
            feat = chans[-1] * (n_mels // 2**blocks)
            hidden = hidden or 2 * width
            self.proj = nn.Sequential(nn.Linear(feat, 2 * hidden), nn.ReLU(inplace=True))
            self.rnn = nn.GRU(2 * hidden, hidden, batch_first=True, bidirectional=True)
            self.pool = AttentionPool(2 * hidden)
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, n_classes))

        def forward(self, x):
            h = self.blocks(self.norm(x[:, None]))  # (B, C, F', T')
            b, c, f, t = h.shape
            h = self.proj(h.permute(0, 3, 1, 2).reshape(b, t, c * f))
            h, _ = self.rnn(h)  # (B, T', 2 hidden)
            return self.head(self.pool(h))

    return {"cnn": LogMelCNN, "crnn": CRNN}


ARCHITECTURES = ("cnn", "crnn")


def build_network(arch: str, *, n_classes: int, n_mels: int = 64, width: int = 16, **kw):
    """A fresh ``torch.nn.Module`` of ``arch`` (``"cnn"`` or ``"crnn"``)."""
    nets = _nn()
    if arch not in nets:
        raise ValueError(f"arch: {arch!r} is not one of {ARCHITECTURES}")
    return nets[arch](n_classes, n_mels=n_mels, width=width, **kw)


def count_parameters(module) -> int:
    """Trainable parameters of a ``torch.nn.Module``."""
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


def augment(
    x, rng: np.random.Generator, *, crop: float = 0.75, freq_mask: int = 8, time_mask: int = 10, gain_db: float = 0.0
):
    """Log-mel augmentations of one batch ``(B, n_mels, T)`` -> ``(B, n_mels, round(crop * T))`` (numpy copy):
    a random crop of ``crop`` of the frames per utterance, random gain (+-``gain_db`` dB, an additive constant
    in the log domain; 0 by default, as the absolute level is an emotion cue in a corpus recorded at one gain),
    one SpecAugment frequency mask (<= ``freq_mask`` bins) and one time mask (<= ``time_mask`` frames), masks
    filled with the utterance mean."""
    b, f, t_in = x.shape
    t = max(1, int(round(crop * t_in)))
    starts = rng.integers(0, t_in - t + 1, size=b)
    x = np.stack([x[i, :, s : s + t] for i, s in enumerate(starts)])
    for i in range(b):
        x[i] += rng.uniform(-gain_db, gain_db) * np.log(10) / 10
        fill = x[i].mean()
        w = rng.integers(0, freq_mask + 1)
        f0 = rng.integers(0, f - w + 1)
        x[i, f0 : f0 + w] = fill
        w = rng.integers(0, time_mask + 1)
        t0 = rng.integers(0, t - w + 1)
        x[i, :, t0 : t0 + w] = fill
    return x


def train_network(
    net,
    X,
    y,
    *,
    epochs: int = 30,
    batch: int = 16,
    lr: float = 2e-3,
    weight_decay: float = 1e-3,
    mixup: float = 0.0,
    seed: int = 0,
    augmentation: bool | dict = False,
    threads: int = 1,
):
    """Train ``net`` on log-mels ``X (n, n_mels, T)`` with integer labels ``y (n,)``: AdamW, one-cycle
    learning rate, class-balanced cross-entropy, optional mixup (``alpha=mixup``, 0 disables) and :func:`augment`
    (``augmentation``: True for its defaults, a dict of its keyword arguments, or False).
    Returns the per-epoch mean training loss ``(epochs,)``.

    Augmentation and mixup are off by default: at this budget (30 epochs, ~480 training utterances) every
    variant measured on EmoDB lowered leave-one-speaker-out UA (docs/emotion.md, "augmentation ablation")."""
    import torch
    from torch.nn import functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_classes = int(y.max()) + 1
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    cw = torch.tensor(len(y) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)
    steps = epochs * int(np.ceil(len(y) / batch))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    losses = []
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(y))
        total = 0.0
        for s in range(0, len(y), batch):
            idx = order[s : s + batch]
            if augmentation:
                xb = augment(X[idx], rng, **(augmentation if isinstance(augmentation, dict) else {}))
            else:
                xb = X[idx]
            xb, yb = torch.from_numpy(np.ascontiguousarray(xb)), torch.from_numpy(y[idx])
            target = F.one_hot(yb, n_classes).float()
            if mixup > 0:
                lam = float(rng.beta(mixup, mixup))
                perm = torch.from_numpy(rng.permutation(len(idx)))
                xb = lam * xb + (1 - lam) * xb[perm]
                target = lam * target + (1 - lam) * target[perm]
            logits = net(xb)
            loss = -(target * F.log_softmax(logits, 1) * cw).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(y))
    return np.asarray(losses)


def predict_network(net, X, *, batch: int = 64) -> np.ndarray:
    """Class probabilities ``(n, n_classes)`` of a trained network on log-mels ``X (n, n_mels, T)``."""
    import torch

    net.eval()
    with torch.no_grad():
        out = [
            torch.softmax(net(torch.from_numpy(np.ascontiguousarray(X[i : i + batch]))), 1)
            for i in range(0, len(X), batch)
        ]
    return torch.cat(out).numpy()


def torch_classifier(
    arch: str = "cnn",
    *,
    n_classes: int,
    width: int = 16,
    epochs: int = 30,
    seed: int = 0,
    threads: int = 1,
    keep: list | None = None,
    **train_kw,
):
    """``fit_predict`` for log-mels ``(n, n_mels, T)``: a fresh ``arch`` network of ``width`` trained with
    :func:`train_network` on each training fold. ``info`` holds ``params`` and the final training loss;
    trained networks are appended to ``keep`` when it is a list (e.g. for the noise study)."""

    def fit_predict(X_train, y_train, X_test):
        import torch

        torch.manual_seed(seed)
        net = build_network(arch, n_classes=n_classes, n_mels=X_train.shape[1], width=width)
        losses = train_network(net, X_train, y_train, epochs=epochs, seed=seed, threads=threads, **train_kw)
        if keep is not None:
            keep.append(net)
        return predict_network(net, X_test), {"params": count_parameters(net), "final_loss": float(losses[-1])}

    return fit_predict
