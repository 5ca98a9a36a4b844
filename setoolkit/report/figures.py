"""Figures written by library functions (matplotlib, Agg): metric bars, quality vs cost, SNR curves,
spectrograms.

Every function takes data, writes one PNG and returns its path; nothing here computes metrics (the downstream
trade-off, :func:`quality_vs_wer`, plots the paired changes the downstream section computed). One colour per
model family (:data:`FAMILY_COLOURS`, the same in every figure), variants of a family told apart by marker
and shade; scatter labels are placed so that no two texts overlap (:func:`text_overlaps` checks a figure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..metrics import catalog
from ..registry import CARDS
from ..stft import stft_np, window

#: One colour per model family, fixed so that a family has the same colour in every figure and report.
FAMILY_COLOURS = {
    "dpcrn": "#1f77b4",
    "deepfilternet": "#d62728",
    "gtcrn": "#2ca02c",
    "dtln": "#ff7f0e",
    "nsnet2": "#9467bd",
    "rnnoise": "#8c564b",
    "demucs": "#e377c2",
    "segan": "#17becf",
    "classical": "#bcbd22",
    "other": "#7f7f7f",
}
NOISY_COLOUR = "0.45"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def spectrogram_grid(
    signals: Mapping[str, np.ndarray], sr: int, out: str | Path, *, n_fft: int | None = None, title: str = ""
) -> Path:
    """One log-power spectrogram per named signal ``(samples,)``, shared dB colour scale (top 80 dB)."""
    plt = _plt()
    n_fft = n_fft or (512 if sr <= 16000 else 1024 if sr <= 24000 else 2048)
    hop = n_fft // 4
    w = window("hann", n_fft, dtype=np.float64)
    specs = {
        k: 10 * np.log10(np.abs(stft_np(np.asarray(v, dtype=np.float64).reshape(-1), n_fft, hop, w)) ** 2 + 1e-10)
        for k, v in signals.items()
    }
    vmax = max(s.max() for s in specs.values())
    fig, axes = plt.subplots(len(specs), 1, figsize=(8, 2.2 * len(specs)), squeeze=False, sharex=True)
    im = None
    for ax, (name, s) in zip(axes[:, 0], specs.items()):
        extent = [0, s.shape[1] * hop / sr, 0, sr / 2000]
        im = ax.imshow(s, origin="lower", aspect="auto", extent=extent, vmin=vmax - 80, vmax=vmax, cmap="magma")
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.colorbar(im, ax=axes[:, 0].tolist(), label="power (dB)")
    if title:
        fig.suptitle(title)
    return _save(fig, out)


def _save(fig, out: str | Path) -> Path:
    plt = _plt()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def waveforms(
    signals: Mapping[str, np.ndarray],
    sr: int,
    out: str | Path,
    *,
    start: int = 0,
    stop: int | None = None,
    title: str = "",
) -> Path:
    """Stacked waveforms of named signals ``(samples,)`` over samples ``[start, stop)``, time in ms, shared
    y axis: the figure for showing a delay before and after compensation."""
    plt = _plt()
    fig, axes = plt.subplots(len(signals), 1, sharex=True, sharey=True, figsize=(8, 1.7 * len(signals)), squeeze=False)
    for ax, (name, sig) in zip(axes[:, 0], signals.items()):
        seg = np.asarray(sig).reshape(-1)[start:stop]
        ax.plot((start + np.arange(len(seg))) / sr * 1000, seg, lw=0.7)
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time (ms)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, out)


def loss_curves(logs: Mapping[str, str | Path], out: str | Path, *, ylabel: str = "training loss") -> Path:
    """Training loss per step from the trainer's ``log.csv`` files, one line per named run."""
    import pandas as pd

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, path in logs.items():
        log = pd.read_csv(path)
        ax.plot(log["step"], log["loss"], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, out)


# ------------------------------------------------------------------------------------------ model styles


def family_of(model: str) -> str:
    """The model card's family of ``model`` (``"other"`` for names not in the registry)."""
    card = CARDS.get(model)
    return card.family if card else "other"


def model_styles(models: Sequence[str]) -> dict[str, dict]:
    """``{model: {"family", "color", "marker", "shade"}}``: the family colour, and per variant (registry
    order within the family) a marker and a lighter shade of that colour for bars."""
    from matplotlib.colors import to_rgb

    order = {n: i for i, n in enumerate(CARDS)}
    by_family: dict[str, list[str]] = {}
    for m in sorted(dict.fromkeys(models), key=lambda m: (order.get(m, len(order)), m)):
        by_family.setdefault(family_of(m), []).append(m)
    styles = {}
    for fam, names in by_family.items():
        base = np.asarray(to_rgb(FAMILY_COLOURS.get(fam, FAMILY_COLOURS["other"])))
        for i, m in enumerate(names):
            mix = 0.55 * i / max(len(names) - 1, 1) if len(names) > 1 else 0.0
            styles[m] = {
                "family": fam,
                "color": FAMILY_COLOURS.get(fam, FAMILY_COLOURS["other"]),
                "marker": MARKERS[i % len(MARKERS)],
                "shade": tuple(base + (1 - base) * mix),
            }
    return styles


def _family_legend(styles: Mapping[str, dict], *, markers: bool = False, noisy: bool = True):
    """Legend handles: one per family (colour), plus the noisy reference line."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fams = list(dict.fromkeys(s["family"] for s in styles.values()))
    handles = [
        Line2D([], [], ls="", marker="o", color=FAMILY_COLOURS.get(f, FAMILY_COLOURS["other"]), label=f)
        if markers
        else Patch(color=FAMILY_COLOURS.get(f, FAMILY_COLOURS["other"]), label=f)
        for f in fams
    ]
    if noisy:
        handles.append(Line2D([], [], ls="--", color=NOISY_COLOUR, label="noisy input"))
    return handles


# ------------------------------------------------------------------------------------------ text overlap


def text_boxes(fig) -> list:
    """``(text, bbox)`` in display pixels of every drawn, non-empty text of ``fig``: tick labels, axis labels,
    titles, annotations, legend entries, figure texts."""
    from matplotlib.text import Text

    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = list(fig.texts)
    if getattr(fig, "_suptitle", None) is not None:
        texts.append(fig._suptitle)
    legends = list(fig.legends)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis._update_ticks():
                texts += [tick.label1, tick.label2]
            texts += [axis.label, axis.offsetText]
        texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    for leg in legends:
        texts += [*leg.get_texts(), leg.get_title()]
    out, seen = [], set()
    for t in texts:
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.get_visible() and t.get_text().strip():
            bb = Text.get_window_extent(t, r)  # the text itself, without an annotation's leader line
            if bb.width > 0 and bb.height > 0:
                out.append((t.get_text(), bb))
    return out


def text_overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of texts of ``fig`` whose bounding boxes intersect (empty for a readable figure)."""
    boxes = text_boxes(fig)
    pairs = []
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1 :]:
            if ba.overlaps(bb):
                pairs.append((a, b))
    return pairs


def _place_labels(ax, xs, ys, labels, colors, avoid=()) -> list[str]:
    """Annotate each point with its label where the label overlaps no other text, marker, line of ``avoid``
    (data-coordinate segments ``((x0, y0), (x1, y1))``: error bars, reference lines) or the axes edge:
    candidate offsets around the point at growing distances (a leader line beyond the nearest ring).
    Returns the labels that found no free place (the caller lists them in the legend)."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    taken = [bb for _, bb in text_boxes(fig)]
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    dpi = fig.dpi / 72
    taken += [Bbox.from_extents(px - 4 * dpi, py - 4 * dpi, px + 4 * dpi, py + 4 * dpi) for px, py in pts]
    for leg in [ax.get_legend(), *fig.legends]:
        if leg is not None:
            taken.append(leg.get_window_extent(r))
    lines = []
    for a, b in avoid:
        (x0, y0), (x1, y1) = ax.transData.transform([a, b])
        if np.all(np.isfinite([x0, y0, x1, y1])):
            lines.append(Bbox.from_extents(min(x0, x1) - 1, min(y0, y1) - 1, max(x0, x1) + 1, max(y0, y1) + 1))
    hard = taken
    n_fixed = len(hard)  # texts, markers and legends before any label is placed
    frame = ax.bbox
    angles = np.deg2rad([0, 180, 45, 135, 315, 225, 90, 270, 20, 160, 340, 200, 65, 115, 295, 245])
    radii = (7, 15, 26, 40, 58, 80)
    # nearest spots that also keep clear of lines first, then any spot clear of texts and markers
    order = [(rad, a, True) for rad in radii[:3] for a in angles] + [(rad, a, False) for rad in radii for a in angles]
    unplaced = []
    for (px, py), x, y, text, c in zip(pts, xs, ys, labels, colors):
        probe = ax.text(0, 0, text, fontsize=8)
        ext = probe.get_window_extent(r)
        w, hgt = ext.width, ext.height
        probe.remove()
        for radius, a, strict in order:
            dx, dy = radius * np.cos(a), radius * np.sin(a)
            ha = "left" if dx > 1 else "right" if dx < -1 else "center"
            va = "bottom" if dy > 1 else "top" if dy < -1 else "center"
            x0 = px + dx * dpi - {"left": 0, "right": w, "center": w / 2}[ha]
            y0 = py + dy * dpi - {"bottom": 0, "top": hgt, "center": hgt / 2}[va]
            bb = Bbox.from_bounds(x0, y0, w, hgt)
            pad = bb.padded(1.5)
            inside = bb.x0 >= frame.x0 + 2 and bb.x1 <= frame.x1 - 2 and bb.y0 >= frame.y0 + 2 and bb.y1 <= frame.y1 - 2
            if not inside or any(pad.overlaps(t) for t in hard) or (strict and any(pad.overlaps(t) for t in lines)):
                continue
            if radius > 15:  # the leader line must not cross another label
                seg = np.linspace([px, py], [px + dx * dpi, py + dy * dpi], 12)[2:]
                if any(t.contains(sx, sy) for t in hard[n_fixed:] for sx, sy in seg):
                    continue
            kw = (
                {"arrowprops": {"arrowstyle": "-", "color": c, "lw": 0.6, "shrinkA": 0, "shrinkB": 3}}
                if radius > 15
                else {}
            )
            ax.annotate(
                text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, fontsize=8, color="0.1", **kw
            )
            hard.append(bb)
            break
        else:
            unplaced.append(text)
    return unplaced


# ------------------------------------------------------------------------------------------ figures


def metric_bars(
    summary,
    out: str | Path,
    *,
    metrics: Sequence[str] = ("pesq_wb", "stoi", "si_sdr", "OVRL"),
    dataset: str | None = None,
    sort_by: str | None = None,
) -> Path:
    """Horizontal bars of per-model means with their 95% bootstrap CIs (``<metric>_lo``/``_hi`` columns of
    :func:`setoolkit.evaluation.summarize`), one panel per metric, models sorted by ``sort_by`` (default: the
    first metric present) best on top; the noisy input is the dashed reference line, not a bar. Colour =
    family, shade = variant."""
    plt = _plt()
    if dataset is not None:
        summary = summary[summary["dataset"] == dataset]
    metrics = [m for m in metrics if m in summary.columns and summary[m].notna().any()]
    if not metrics:
        raise ValueError(f"metric_bars: none of the metrics {list(metrics)} has values")
    sort_by = sort_by if sort_by in metrics else metrics[0]
    noisy = summary[summary["model"] == "noisy"]
    s = summary[summary["model"] != "noisy"].sort_values(sort_by, ascending=True, na_position="first")
    models = list(s["model"])
    styles = model_styles(models)
    height = max(2.2, 0.26 * len(models) + 1.3)
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.7 * len(metrics) + 1.4, height), squeeze=False, sharey=True)
    y = np.arange(len(models))
    for ax, m in zip(axes[0], metrics):
        mean = s[m].to_numpy(dtype=float)
        lo = s.get(f"{m}_lo", s[m]).to_numpy(dtype=float)
        hi = s.get(f"{m}_hi", s[m]).to_numpy(dtype=float)
        lo, hi = np.where(np.isfinite(lo), lo, mean), np.where(np.isfinite(hi), hi, mean)
        ref = float(noisy[m].iloc[0]) if len(noisy) and np.isfinite(noisy[m].iloc[0]) else None
        vals = np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)], [ref] if ref is not None else []])
        span = (vals.max() - vals.min()) if vals.size else 1.0
        x0 = vals.min() - 0.08 * (span or 1.0) if vals.size else 0.0
        x1 = vals.max() + 0.05 * (span or 1.0) if vals.size else 1.0
        ax.barh(
            y,
            np.nan_to_num(mean - x0),
            left=x0,
            height=0.72,
            xerr=np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)]),
            color=[styles[n]["shade"] for n in models],
            edgecolor=[styles[n]["color"] for n in models],
            linewidth=0.8,
            error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.25"},
        )
        if ref is not None:
            ax.axvline(ref, color=NOISY_COLOUR, ls="--", lw=1.1)
        ax.set_xlim(x0, x1)
        ax.set_ylim(-0.6, len(models) - 0.4)
        ax.set_title(catalog.label(m), fontsize=10)
        ax.set_xlabel(catalog.info(m).unit, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(y, models, fontsize=9)
    fig.suptitle(
        f"{dataset}: mean and 95% CI, sorted by {catalog.label(sort_by)}"
        if dataset
        else f"mean and 95% CI, sorted by {catalog.label(sort_by)}",
        fontsize=11,
    )
    fig.tight_layout()
    handles = _family_legend(styles, noisy=len(noisy) > 0)
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(handles), 5),
        fontsize=8,
        frameon=False,
    )
    return _save(fig, out)


def pareto_front(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both axes (lower ``cost``, higher ``quality``), by
    increasing cost."""
    cost, quality = np.asarray(cost, dtype=float), np.asarray(quality, dtype=float)
    order = np.lexsort((-quality, cost))
    front, best = [], -np.inf
    for i in order:
        if np.isfinite(cost[i]) and np.isfinite(quality[i]) and quality[i] > best:
            front.append(i)
            best = quality[i]
    return np.asarray(front, dtype=int)


def _log_axis(ax, values: np.ndarray) -> None:
    """Log x axis spanning the values with a margin, with plain-number labels that never crowd."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    v = values[np.isfinite(values) & (values > 0)]
    ax.set_xscale("log")
    if v.size:
        lo, hi = v.min() / 2.2, v.max() * 2.2
        ax.set_xlim(lo, hi)
        decades = np.log10(hi / lo)
        subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0, 3.0) if decades <= 4 else (1.0,)
    else:
        subs = (1.0,)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def quality_vs_cost(
    summary,
    costs: Mapping[str, float],
    out: str | Path,
    *,
    metric: str = "pesq_wb",
    dataset: str | None = None,
    cost_label: str = "cost",
    log: bool = True,
    title: str | None = None,
) -> Path:
    """Each model's mean ``metric`` (with its 95% CI) against a cost (``costs[model]``: RTF, parameters,
    latency...; lower is better). The Pareto front (no model both cheaper and better) is drawn; labels are
    placed where they overlap nothing; the noisy input is the dashed reference line."""
    plt = _plt()
    if dataset is not None:
        summary = summary[summary["dataset"] == dataset]
    noisy = summary[summary["model"] == "noisy"]
    s = summary[(summary["model"] != "noisy") & summary["model"].isin(list(costs))]
    s = s[np.isfinite(s[metric].to_numpy(dtype=float))]
    x = np.asarray([costs[m] for m in s["model"]], dtype=float)
    keep = np.isfinite(x) & ((x > 0) if log else True)
    s, x = s[keep], x[keep]
    yv = s[metric].to_numpy(dtype=float)
    models = list(s["model"])
    styles = model_styles(models)
    x_true = x.copy()
    for v in np.unique(x_true):  # dodge models sharing a cost (e.g. 32 ms) so that each stays visible
        same = np.flatnonzero(x_true == v)
        if same.size > 1:
            steps = (np.arange(same.size) - (same.size - 1) / 2) * 0.02
            x[same] = v * np.exp(steps) if log else v + steps * (np.ptp(x_true) or 1.0)
    fig, ax = plt.subplots(figsize=(7.6, 4.6))
    avoid = []
    for xi, yi, r in zip(x, yv, s.itertuples(index=False)):
        lo, hi = getattr(r, f"{metric}_lo", np.nan), getattr(r, f"{metric}_hi", np.nan)
        avoid.append(((xi, lo), (xi, hi)))
        st = styles[r.model]
        ax.errorbar(
            [xi],
            [yi],
            yerr=[[yi - lo], [hi - yi]] if np.isfinite(lo) and np.isfinite(hi) else None,
            fmt=st["marker"],
            color=st["color"],
            ms=6,
            capsize=2,
            elinewidth=0.8,
            zorder=3,
        )
    front = pareto_front(x, yv)
    if front.size:
        ax.plot(x[front], yv[front], "-", color="0.35", lw=1, zorder=2, drawstyle="steps-post", alpha=0.8)
        for i, j in zip(front[:-1], front[1:]):
            avoid += [((x[i], yv[i]), (x[j], yv[i])), ((x[j], yv[i]), (x[j], yv[j]))]
    if len(noisy) and np.isfinite(noisy[metric].iloc[0]):
        ax.axhline(float(noisy[metric].iloc[0]), color=NOISY_COLOUR, ls="--", lw=1)
        avoid.append(((1e-12 if log else -1e12, float(noisy[metric].iloc[0])), (1e12, float(noisy[metric].iloc[0]))))
    if log:
        _log_axis(ax, x)
    elif x.size:
        span = x.max() - x.min() or 1.0
        ax.set_xlim(x.min() - 0.15 * span, x.max() + 0.15 * span)
    lo_all = np.concatenate(
        [
            yv,
            s.get(f"{metric}_lo", s[metric]).to_numpy(dtype=float),
            noisy[metric].to_numpy(dtype=float) if len(noisy) else [],
        ]
    )
    hi_all = np.concatenate(
        [
            yv,
            s.get(f"{metric}_hi", s[metric]).to_numpy(dtype=float),
            noisy[metric].to_numpy(dtype=float) if len(noisy) else [],
        ]
    )
    lo_all, hi_all = lo_all[np.isfinite(lo_all)], hi_all[np.isfinite(hi_all)]
    if lo_all.size:
        span = (hi_all.max() - lo_all.min()) or 1.0
        ax.set_ylim(lo_all.min() - 0.08 * span, hi_all.max() + 0.22 * span)
    ax.set_xlabel(cost_label + (" (log scale)" if log else ""))
    ax.set_ylabel(catalog.label(metric, with_unit=True))
    ax.set_title(
        title
        or (
            f"{catalog.label(metric)} vs {cost_label.split(' (')[0].split(',')[0]}"
            + (f" on {dataset}" if dataset else "")
        ),
        fontsize=11,
    )
    ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = _family_legend(styles, markers=True, noisy=len(noisy) > 0)
    handles.append(Line2D([], [], color="0.35", lw=1, label="Pareto front"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    unplaced = _place_labels(ax, x, yv, models, [styles[m]["color"] for m in models], avoid)
    if unplaced:  # no free spot near the point: the model goes in the legend with its own marker
        extra = [Line2D([], [], ls="", marker=styles[m]["marker"], color=styles[m]["color"], label=m) for m in unplaced]
        ax.legend(handles=handles + extra, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(fig, out)


def quality_vs_rtf(
    summary,
    out: str | Path,
    *,
    metric: str = "pesq_wb",
    dataset: str | None = None,
    rtf: Mapping[str, float] | None = None,
    threads: int | None = None,
) -> Path:
    """:func:`quality_vs_cost` against the real-time factor (``rtf``: model -> RTF from a timing pass;
    default: the summary's ``rtf`` column)."""
    if rtf is None:
        s = summary if dataset is None else summary[summary["dataset"] == dataset]
        rtf = dict(zip(s["model"], s["rtf"]))
    label = "real-time factor" + (f", {threads} thread{'s' if threads != 1 else ''}" if threads else "")
    return quality_vs_cost(summary, rtf, out, metric=metric, dataset=dataset, cost_label=label)


def quality_vs_size(
    summary,
    sizes: Mapping[str, float],
    out: str | Path,
    *,
    metric: str = "pesq_wb",
    dataset: str | None = None,
    unit: str = "parameters (millions)",
) -> Path:
    """:func:`quality_vs_cost` against model size (``sizes[model]``, e.g. parameters in millions)."""
    return quality_vs_cost(summary, sizes, out, metric=metric, dataset=dataset, cost_label=unit)


def quality_vs_latency(
    summary, latency_ms: Mapping[str, float], out: str | Path, *, metric: str = "pesq_wb", dataset: str | None = None
) -> Path:
    """:func:`quality_vs_cost` against algorithmic latency (ms, from the model cards)."""
    return quality_vs_cost(
        summary, latency_ms, out, metric=metric, dataset=dataset, cost_label="algorithmic latency (ms)"
    )


def snr_curves(bands, out: str | Path, *, metric: str = "pesq_wb", dataset: str | None = None) -> Path:
    """``metric`` per nominal input SNR band (dB), one line per model (family colour, variant marker; the
    noisy input dashed grey), legend outside the axes."""
    plt = _plt()
    b = bands if dataset is None else bands[bands["dataset"] == dataset]
    models = [m for m in dict.fromkeys(b["model"]) if m != "noisy"]
    styles = model_styles(models)
    fig, ax = plt.subplots(figsize=(7.6, 4.2))
    for model, g in b.groupby("model", sort=False):
        if model == "noisy":
            ax.plot(g["band"], g[metric], "--", color=NOISY_COLOUR, marker=".", label="noisy input")
        else:
            st = styles[model]
            ax.plot(g["band"], g[metric], "-", marker=st["marker"], color=st["color"], lw=1, ms=5, label=model)
    ax.set_xticks(sorted(set(b["band"])))
    ax.set_xlabel("input SNR band (dB)")
    ax.set_ylabel(catalog.label(metric, with_unit=True))
    ax.set_title(f"{catalog.label(metric)} per input SNR" + (f" on {dataset}" if dataset else ""), fontsize=11)
    ax.legend(
        fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, ncol=1 if len(models) <= 16 else 2
    )
    ax.grid(alpha=0.3)
    return _save(fig, out)


def spectrogram_image(
    audio: np.ndarray,
    sr: int,
    *,
    vmax: float | None = None,
    max_width: int = 900,
    max_height: int = 160,
    n_fft: int | None = None,
) -> tuple[bytes, float]:
    """PNG bytes of a bare log-power spectrogram of ``(samples,)`` audio (no axes: its width is exactly the
    signal's duration, for a player's playhead), magma colours over the top 80 dB below ``vmax`` (dB; default
    the signal's own maximum, pass one value to compare signals). Returns ``(png, vmax)``."""
    import io

    n_fft = n_fft or (512 if sr <= 16000 else 1024 if sr <= 24000 else 2048)
    hop = n_fft // 4
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    s = 10 * np.log10(np.abs(stft_np(x, n_fft, hop, window("hann", n_fft, dtype=np.float64))) ** 2 + 1e-10)
    f = s.shape[0]
    if f > max_height:  # pool frequency bins (max keeps harmonics visible)
        k = int(np.ceil(f / max_height))
        s = np.pad(s, ((0, (-f) % k), (0, 0)), constant_values=-100).reshape(-1, k, s.shape[1]).max(axis=1)
    t = s.shape[1]
    if t > max_width:
        k = int(np.ceil(t / max_width))
        s = np.pad(s, ((0, 0), (0, (-t) % k)), constant_values=-100).reshape(s.shape[0], -1, k).max(axis=2)
    vmax = float(s.max()) if vmax is None else float(vmax)
    # the colour map applied here and the PNG written by PIL at low compression: a report draws ~200 of these,
    # and on a 1.7 s clip this function took 54 ms with plt.imsave, 10 ms so
    from matplotlib import colormaps
    from PIL import Image

    rgb = colormaps["magma"](np.clip((s[::-1] - (vmax - 80)) / 80, 0, 1), bytes=True)[..., :3]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="png", compress_level=1)
    return buf.getvalue(), vmax


# ------------------------------------------------------------------------------------------ downstream trade-off


#: How an axis names a metric's unit when the catalogue's unit is the scale's own name.
_UNIT_TEXT = {"DNSMOS": "MOS points", "MOS": "MOS points", "MOS-LQO": "MOS-LQO points", "": "points"}


def axis_label(metric: str, *, percent: bool = False, wrap: bool = False, note: str = "") -> str:
    """``"Δ DNSMOS OVRL vs noisy input (MOS points; higher is better)"``; ``percent``: a fraction shown as
    percentage points; ``wrap``: the parenthesis on a second line (a y axis); ``note``: what the metric was measured
    against, after the unit (``"vs the written transcript"``)."""
    own = catalog.info(metric).unit
    unit = _UNIT_TEXT.get(own, own)
    if percent:  # a fraction (WER, CER) in percentage points; a reference note in its unit is kept after it
        unit = "percentage points" + ("" if own in ("", "fraction") else f", {own}")
    if note:
        unit = f"{unit}, {note}"
    way = "higher" if catalog.higher_is_better(metric) else "lower"
    return f"Δ {catalog.label(metric)} vs noisy input{chr(10) if wrap else ' '}({unit}; {way} is better)"


def _span(values: np.ndarray, pad: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    lo, hi = (min(v.min(), 0.0), max(v.max(), 0.0)) if v.size else (-1.0, 1.0)
    span = (hi - lo) or 1.0
    return lo - pad * span, hi + pad * span


def quality_vs_wer(
    changes,
    out: str | Path,
    *,
    quality: str = "OVRL",
    wer: str = "wer",
    dataset: str | None = None,
    reference: str = "",
) -> Path:
    """Scatter of each model's mean change in ``quality`` (y) against its mean change in ``wer`` (x, percentage
    points), with their paired bootstrap 95% CIs as error bars.

    ``changes``: rows ``model, metric, difference, ci_low, ci_high, significant`` (the downstream section's
    :func:`~setoolkit.report.sections.downstream.changes_vs_noisy`). The noisy input is the origin (dashed
    lines); the quadrant where quality rises and WER rises too, the trade-off, is shaded. A model with a
    significant change in WER (Holm) is drawn filled, the others hollow. ``reference``: what the WER was measured
    against (:func:`setoolkit.metrics.asr.reference_note`), printed in the x label. Writes ``out`` (PNG), returns
    it.
    """
    from matplotlib.lines import Line2D

    plt = _plt()

    x_rows = changes[changes["metric"] == wer].set_index("model")
    y_rows = changes[changes["metric"] == quality].set_index("model")
    models = [m for m in x_rows.index if m in y_rows.index]
    models = [m for m in models if np.isfinite(x_rows.at[m, "difference"]) and np.isfinite(y_rows.at[m, "difference"])]
    percent = catalog.digits(wer) >= 2 and (catalog.info(wer).unit in ("", "fraction") or wer in ("wer", "cer"))
    scale = 100.0 if percent else 1.0
    x = np.array([x_rows.at[m, "difference"] for m in models], dtype=float) * scale
    y = np.array([y_rows.at[m, "difference"] for m in models], dtype=float)
    xlo = np.array([x_rows.at[m, "ci_low"] for m in models], dtype=float) * scale
    xhi = np.array([x_rows.at[m, "ci_high"] for m in models], dtype=float) * scale
    ylo = np.array([y_rows.at[m, "ci_low"] for m in models], dtype=float)
    yhi = np.array([y_rows.at[m, "ci_high"] for m in models], dtype=float)
    styles = model_styles(models)
    fig, ax = plt.subplots(figsize=(7.6, 4.8))
    x0, x1 = _span(np.concatenate([x, xlo, xhi]), 0.12)
    y0, y1 = _span(np.concatenate([y, ylo, yhi]), 0.15)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.fill_between([0, x1], 0, y1, color="#d62728", alpha=0.06, lw=0, zorder=0)
    ax.text(x1, y1, "quality up, more word errors ", ha="right", va="top", fontsize=8, color="#a02020", alpha=0.8)
    ax.axhline(0, color=NOISY_COLOUR, ls="--", lw=1, zorder=1)
    ax.axvline(0, color=NOISY_COLOUR, ls="--", lw=1, zorder=1)
    avoid = [((x0, 0.0), (x1, 0.0)), ((0.0, y0), (0.0, y1))]
    for i, m in enumerate(models):
        st = styles[m]
        filled = bool(x_rows.at[m, "significant"])
        xerr = [[x[i] - xlo[i]], [xhi[i] - x[i]]] if np.isfinite(xlo[i]) and np.isfinite(xhi[i]) else None
        yerr = [[y[i] - ylo[i]], [yhi[i] - y[i]]] if np.isfinite(ylo[i]) and np.isfinite(yhi[i]) else None
        ax.errorbar(
            [x[i]],
            [y[i]],
            xerr=xerr,
            yerr=yerr,
            fmt=st["marker"],
            color=st["color"],
            mfc=st["color"] if filled else "white",
            ms=7,
            capsize=2,
            elinewidth=0.8,
            alpha=0.95,
            zorder=3,
        )
        if xerr is not None:
            avoid.append(((xlo[i], y[i]), (xhi[i], y[i])))
        if yerr is not None:
            avoid.append(((x[i], ylo[i]), (x[i], yhi[i])))
    ax.set_xlabel(axis_label(wer, percent=percent, note=reference))
    ax.set_ylabel(axis_label(quality, wrap=True))
    title = f"{catalog.label(quality)} vs word errors, change against the noisy input"
    ax.set_title(title + (f" on {dataset}" if dataset else ""), fontsize=10.5)
    ax.grid(alpha=0.3)
    handles = _family_legend(styles, markers=True, noisy=False)
    handles.append(Line2D([], [], ls="--", color=NOISY_COLOUR, label="noisy input (no change)"))
    handles += [
        Line2D([], [], ls="", marker="o", color="0.3", label="WER change significant"),
        Line2D([], [], ls="", marker="o", color="0.3", mfc="white", label="not significant"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    unplaced = _place_labels(ax, x, y, models, [styles[m]["color"] for m in models], avoid)
    if unplaced:  # no free spot near the point: the model goes in the legend with its own marker
        extra = [Line2D([], [], ls="", marker=styles[m]["marker"], color=styles[m]["color"], label=m) for m in unplaced]
        ax.legend(handles=handles + extra, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(fig, out)
