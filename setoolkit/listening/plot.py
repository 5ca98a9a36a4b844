"""The listening-test figure: mean rating with its 95 % CI per system (per scale for P.835, per pair for CCR).

Colours carry meaning: the hidden reference dark grey, the anchors light grey, the unprocessed input
orange, systems under test blue; for CCR green/red when the CI is entirely above/below 0 (the second
system better/worse), grey when it includes 0.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure

from .anchors import ANCHORS
from .kinds import NOISY, REFERENCE, test_type

COLOURS = {
    REFERENCE: "#333333",
    NOISY: "#e67e22",
    "anchor": "#b0b0b0",
    "system": "#2a72c4",
    "better": "#2e8b57",
    "worse": "#c0392b",
    "tie": "#8a8a8a",
}
NAMES = {
    REFERENCE: "hidden reference",
    "anchor_3.5k": "anchor (3.5 kHz LP)",
    "anchor_7k": "mid-anchor (7 kHz LP)",
    NOISY: "noisy (unprocessed)",
}


def _colour(system: str) -> str:
    return COLOURS["anchor"] if system in ANCHORS else COLOURS.get(system, COLOURS["system"])


def _points(ax, s: pd.DataFrame, colours: list[str], labels: list[str], fmt: str) -> None:
    y = range(len(s))
    lo, hi = (s["mean"] - s["lo"]).fillna(0).clip(lower=0), (s["hi"] - s["mean"]).fillna(0).clip(lower=0)
    for i, (m, low, h, c) in enumerate(zip(s["mean"], lo, hi, colours)):
        ax.errorbar(m, i, xerr=[[low], [h]], fmt="o", color=c, ecolor=c, elinewidth=2, capsize=4, ms=7)
        ax.annotate(format(m, fmt), (m + h, i), xytext=(5, 4), textcoords="offset points", fontsize=8, color="#333")
    ax.set_yticks(list(y), labels)
    ax.set_ylim(len(s) - 0.5, -0.6)
    ax.grid(axis="x", color="#e5e5e5")
    ax.set_axisbelow(True)


def ratings_figure(scores: pd.DataFrame, kind: str, *, title: str = "", n_listeners: int | None = None) -> bytes:
    """PNG bytes of the ratings figure for ``scores`` (:func:`.analysis.system_scores` output) of a test of
    ``kind``; ``title`` on top, ``n_listeners`` in the x label. The axis (range, ticks, bands, label) is the
    test type's :attr:`.kinds.TestType.axis`; pairwise types plot one point per pair, several scales one
    panel per scale."""
    who = f" ({n_listeners} listeners, mean and 95% CI)" if n_listeners else " (mean and 95% CI)"
    ktype = test_type(kind)
    axis = ktype.axis
    scales = [s for s in dict.fromkeys(scores["scale"])] if "scale" in scores else [""]
    if ktype.pairwise:
        s = scores.sort_values("mean", ascending=False).reset_index(drop=True)
        colours = [
            COLOURS["better"] if lo > 0 else COLOURS["worse"] if hi < 0 else COLOURS["tie"]
            for lo, hi in zip(s["lo"], s["hi"])
        ]
        fig = Figure(figsize=(7.5, 0.5 * len(s) + 1.5))
        ax = fig.subplots()
        _points(ax, s, colours, [f"{b} vs {a}" for a, b in zip(s["a"], s["b"])], axis["fmt"])
        ax.axvline(0, color="#555", lw=1)
        ax.set_xlim(*axis["xlim"])
        ax.set_xlabel(axis["label"] + who)
    elif len(scales) > 1:
        scales = [s for s in ktype.scale.get("order", scales) if s in scales]
        order = scores[scores["scale"] == scales[-1]].sort_values("mean", ascending=False)["system"].tolist()
        fig = Figure(figsize=(3.2 * len(scales) + 1.2, 0.5 * len(order) + 1.6))
        axes = fig.subplots(1, len(scales), sharey=True, squeeze=False)
        for ax, sc in zip(axes[0], scales):
            s = scores[scores["scale"] == sc].set_index("system").loc[order].reset_index()
            _points(ax, s, [_colour(x) for x in s["system"]], [NAMES.get(x, x) for x in s["system"]], axis["fmt"])
            ax.set_xlim(*axis["xlim"])
            ax.set_xticks(axis["ticks"])
            ax.set_title(f"{sc} MOS", fontsize=10)
        axes[0][len(scales) // 2].set_xlabel(axis["label"] + who)
    else:
        s = scores.sort_values("mean", ascending=False).reset_index(drop=True)
        fig = Figure(figsize=(7.5, 0.45 * len(s) + 1.6))
        ax = fig.subplots()
        bands = axis.get("bands", [])
        for k, (lo, name) in enumerate(bands):
            ax.axvspan(lo, lo + 20, color="#f4f6f9" if k % 2 else "#ffffff", zorder=0)
            ax.text(lo + 10, -0.9, name, ha="center", va="bottom", fontsize=8, color="#777")
        _points(ax, s, [_colour(x) for x in s["system"]], [NAMES.get(x, x) for x in s["system"]], axis["fmt"])
        if bands:
            ax.set_ylim(len(s) - 0.5, -1.2)
        ax.set_xlim(*axis["xlim"])
        ax.set_xticks(axis["ticks"])
        ax.set_xlabel(axis["label"] + who)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()
