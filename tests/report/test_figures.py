"""Figures are readable: family colours, sorted bars, and no two texts overlapping, even for crowded data."""

import numpy as np
import pandas as pd
import pytest

from setoolkit.registry import CARDS
from setoolkit.report import figures

# every available card: several share a latency (32 ms) and near-equal scores, the worst case for labels
MODELS = [c.name for c in CARDS.values() if c.available and c.params]


def _summary(dataset="vbd16k", seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        {
            "dataset": dataset,
            "model": "noisy",
            "n": 44,
            "pesq_wb": 1.97,
            "pesq_wb_lo": 1.85,
            "pesq_wb_hi": 2.1,
            "stoi": 0.92,
            "si_sdr": 8.4,
            "OVRL": 2.7,
            "rtf": np.nan,
        }
    ]
    for i, m in enumerate(MODELS):
        p = 2.5 + 0.03 * (i % 6) + rng.normal(0, 0.02)
        rows.append(
            {
                "dataset": dataset,
                "model": m,
                "n": 44,
                "pesq_wb": p,
                "pesq_wb_lo": p - 0.12,
                "pesq_wb_hi": p + 0.12,
                "stoi": 0.93 + 0.002 * i,
                "si_sdr": 16 + 0.2 * i,
                "OVRL": 3.1 + 0.01 * i,
                "rtf": 0.01 * (1 + i % 4),
            }
        )
    for m in ("stoi", "si_sdr", "OVRL"):
        for r in rows:
            r[f"{m}_lo"], r[f"{m}_hi"] = r[m] * 0.97, r[m] * 1.03
    return pd.DataFrame(rows)


@pytest.fixture
def overlaps(monkeypatch):
    """Each figure's overlapping text pairs, checked on the drawn figure just before it is saved."""
    found = {}
    save = figures._save

    def checking_save(fig, out):
        found[str(out)] = figures.text_overlaps(fig)
        found[str(out) + ":texts"] = [t for t, _ in figures.text_boxes(fig)]
        found[str(out) + ":yticks"] = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        return save(fig, out)

    monkeypatch.setattr(figures, "_save", checking_save)
    return found


def test_quality_vs_cost_labels_never_overlap(tmp_path, overlaps):
    s = _summary()
    sizes = {c.name: c.params / 1e6 for c in CARDS.values() if c.params}
    lat = {c.name: c.latency_ms for c in CARDS.values() if c.latency_ms}
    outs = [
        figures.quality_vs_size(s, sizes, tmp_path / "size.png"),
        figures.quality_vs_latency(s, lat, tmp_path / "lat.png"),
        figures.quality_vs_rtf(s, tmp_path / "rtf.png", threads=1),
    ]
    for out in outs:
        assert out.stat().st_size > 10000
        assert overlaps[str(out)] == [], overlaps[str(out)]
        texts = overlaps[str(out) + ":texts"]
        # every model is named once: next to its point or, where no free place exists, in the legend
        for m in s["model"][1:]:
            if str(out).endswith("lat.png") and m not in lat:
                continue
            assert m in texts, (out.name, m)
        assert "Pareto front" in texts and "noisy input" in texts


def test_metric_bars_sorted_horizontal_with_noisy_reference(tmp_path, overlaps):
    s = _summary()
    out = figures.metric_bars(s, tmp_path / "bars.png", dataset="vbd16k")
    assert overlaps[str(out)] == []
    texts = overlaps[str(out) + ":texts"]
    assert "noisy input" in texts and "noisy" not in texts  # a reference line, not a bar
    names = overlaps[str(out) + ":yticks"]
    best_first = list(s[s.model != "noisy"].sort_values("pesq_wb", ascending=False)["model"])
    assert names[::-1] == best_first  # barh draws bottom-up: best on top


def test_snr_curves_have_readable_legend(tmp_path, overlaps):
    rows = [
        {"dataset": "vbd16k", "band": b, "model": m, "n": 11, "pesq_wb": 2 + 0.1 * b / 5 + 0.01 * i}
        for i, m in enumerate(["noisy", *MODELS])
        for b in (2.5, 7.5, 12.5, 17.5)
    ]
    out = figures.snr_curves(pd.DataFrame(rows), tmp_path / "snr.png", dataset="vbd16k")
    assert overlaps[str(out)] == []


def test_one_colour_per_family_variants_by_marker():
    styles = figures.model_styles(MODELS)
    for m, st in styles.items():
        assert st["color"] == figures.FAMILY_COLOURS[CARDS[m].family]
    fams = {}
    for st in styles.values():
        fams.setdefault(st["family"], []).append(st["marker"])
    assert all(len(set(v)) == len(v) for v in fams.values())  # variants differ by marker
    assert len({figures.FAMILY_COLOURS[f] for f in fams}) == len(fams)  # families differ by colour


def test_pareto_front():
    idx = figures.pareto_front(np.array([1.0, 2.0, 3.0, 0.5, 2.5]), np.array([2.0, 3.0, 2.5, 1.0, 3.5]))
    assert list(idx) == [3, 0, 1, 4]


def test_overlap_detector_finds_overlaps(tmp_path):
    plt = figures._plt()
    fig, ax = plt.subplots()
    ax.text(0.5, 0.5, "one label")
    ax.text(0.5, 0.5, "another")
    assert ("one label", "another") in figures.text_overlaps(fig)
    plt.close(fig)
