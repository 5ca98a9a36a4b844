"""The downstream section: does enhancement that lifts the quality scores hurt what an ASR or a speaker model hears?

Per paired set with ``wer``, ``cer`` or ``spk_sim`` columns: each model's change against the noisy input in the
downstream measures (:data:`DOWNSTREAM`) beside its change in the quality scores (:data:`QUALITY`: PESQ-WB,
DNSMOS OVRL, NISQA MOS), each a paired comparison on the same files (:func:`setoolkit.evaluation.paired.compare`:
mean difference, paired bootstrap 95% CI, exact Wilcoxon signed-rank p) with Holm's correction across the models of
the set per measure; which way is better comes from the metric catalogue (lower WER is better). One sentence names
every model that raises a quality score while significantly hurting word errors or speaker similarity (or says
that none does, or that the set has too few files to show it), and one figure puts the change in a quality
predictor against the change in WER (:func:`setoolkit.report.figures.quality_vs_wer`). A set without
those columns is left out; without any, the section is.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...evaluation.paired import ALPHA, COMPARED, NOISY, compare, holm, smallest_p
from ...metrics import catalog
from ...metrics.asr import reference_note
from ..escape import md_escape, url_path
from ..figures import quality_vs_wer
from ..leaderboard import is_reference, markdown_table
from .base import ReportContext, Section

#: What enhancement can damage downstream: word and character errors of an ASR, speaker similarity.
DOWNSTREAM = ("wer", "cer", "whisper_wer", "whisper_cer", "spk_sim")
#: The word error columns, whose reference text each set's heading names.
WORD_ERRORS = ("wer", "cer", "whisper_wer", "whisper_cer")
#: The quality scores set beside them: PESQ (intrusive) and the non-intrusive MOS predictors.
QUALITY = ("pesq_wb", "OVRL", "nisqa_mos")
#: The quality predictor the figure plots against WER, the first the set has.
FIGURE_QUALITY = ("OVRL", "nisqa_mos", "pesq_wb")
CHANGE_COLUMNS = ["model", "metric", "n", "difference", "ci_low", "ci_high", "p", "p_holm", "better", "significant"]


def present(table: pd.DataFrame, dataset: str, metrics: Sequence[str]) -> list[str]:
    """The ``metrics`` with at least one value on ``dataset``, in the given order."""
    t = table[table["dataset"] == dataset]
    return [m for m in metrics if m in t.columns and t[m].notna().any()]


def changes_vs_noisy(
    table: pd.DataFrame,
    dataset: str,
    metrics: Sequence[str],
    models: Sequence[str] | None = None,
    *,
    alpha: float = ALPHA,
    n_boot: int = 2000,
) -> pd.DataFrame:
    """Each model's paired change ``model - noisy`` on each of ``metrics`` over the files of ``dataset``.

    ``models``: default every model of the set but the references (noisy, oracles). Returns one row per model and
    metric: ``n`` pairs, ``difference`` (metric units) with its bootstrap ``ci_low``/``ci_high``, Wilcoxon ``p``,
    ``p_holm`` (Holm across the models on that metric, over the comparisons whose ``n`` can reach ``alpha``;
    NaN for the others), ``better`` (the mean moved the metric's better way, from the catalogue) and
    ``significant`` (``p_holm < alpha``).
    """
    t = table[table["dataset"] == dataset]
    if models is None:
        models = [m for m in dict.fromkeys(t["model"].astype(str)) if not is_reference(m)]
    rows = []
    for metric in metrics:
        comps = [compare(t, m, NOISY, metric, dataset=dataset, n_boot=n_boot) for m in models]
        adjusted = holm([c.p if c.status(alpha) == COMPARED else np.nan for c in comps])
        sign = 1.0 if catalog.higher_is_better(metric) else -1.0
        for c, q in zip(comps, adjusted):
            rows.append(
                {
                    "model": c.a,
                    "metric": metric,
                    "n": c.n,
                    "difference": c.difference,
                    "ci_low": c.ci_low,
                    "ci_high": c.ci_high,
                    "p": c.p,
                    "p_holm": q,
                    "better": bool(sign * c.difference > 0),
                    "significant": bool(q < alpha),
                }
            )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _change(r) -> str:
    return f"{catalog.label(r.metric)} {r.difference:+.{catalog.digits(r.metric)}f}"


def _reachable(changes: pd.DataFrame, alpha: float) -> bool:
    """Whether any Holm-corrected p of one metric's comparisons ``changes`` could fall below ``alpha``: the
    smallest is (comparisons) x (smallest exact Wilcoxon p over the most pairs)."""
    m = int(changes["p_holm"].notna().sum())
    return m > 0 and m * smallest_p(int(changes["n"].max())) < alpha


def tradeoff_sentence(changes: pd.DataFrame, dataset: str, *, alpha: float = ALPHA) -> str:
    """One sentence: every model that raises a quality score (:data:`QUALITY`, mean change the better way) while
    significantly hurting a downstream measure (:data:`DOWNSTREAM`, Holm-corrected), or that none does, or that
    the set has too few files for any downstream harm to reach ``alpha``."""
    quality = changes[changes["metric"].isin(QUALITY)]
    down = changes[changes["metric"].isin(DOWNSTREAM)]
    named, harm_only = [], []
    for model, d in down.groupby("model", sort=False):
        hurt = d[d["significant"] & ~d["better"]]
        if not len(hurt):
            continue
        lifted = quality[(quality["model"] == model) & quality["better"]]
        harms = ", ".join(f"{_change(r)} (Holm p {r.p_holm:.2g})" for r in hurt.itertuples())
        if len(lifted):
            named.append(f"{model} raises {_names([_change(r) for r in lifted.itertuples()])} but worsens {harms}")
        else:
            harm_only.append(f"{model} ({harms})")
    test = f"Wilcoxon vs the noisy input, Holm across models, alpha {alpha:g}"
    if named:
        text = f"On {dataset}, {'; '.join(named)} ({test})."
    elif not any(_reachable(g, alpha) for _, g in down.groupby("metric")):
        n = int(down["n"].max()) if len(down) else 0
        models = int(down["model"].nunique())
        text = (
            f"On {dataset}, no model can be shown to trade word errors or speaker similarity for quality: with "
            f"{n} files and {models} models no Holm-corrected Wilcoxon p can fall below {alpha:g}."
        )
    else:
        text = (
            f"On {dataset}, no model raises a quality score while significantly hurting word errors or speaker "
            f"similarity ({test})."
        )
    if harm_only:
        text += f" Significantly worse downstream without a quality gain: {'; '.join(harm_only)}."
    leaning = _leaning(changes, exclude={n.split(" raises ")[0] for n in named})
    if leaning:
        text += f" Not significant, in the means only: {leaning}."
    return text


def _leaning(changes: pd.DataFrame, exclude: set[str]) -> str:
    """The models whose mean change raises a quality score and worsens a downstream measure without significance
    (``"gtcrn raises a quality score but worsens WER +0.097; nsnet2 ..."``), "" for none."""
    quality = changes[changes["metric"].isin(QUALITY) & changes["better"]]
    down = changes[changes["metric"].isin(DOWNSTREAM) & ~changes["better"] & ~changes["significant"]]
    shown = [
        np.isfinite(r.difference) and round(r.difference, catalog.digits(r.metric)) != 0 for r in down.itertuples()
    ]
    down = down[np.asarray(shown, dtype=bool)] if len(down) else down
    parts = [
        f"{model} raises a quality score but worsens {', '.join(_change(r) for r in d.itertuples())}"
        for model, d in down.groupby("model", sort=False)
        if model not in exclude and model in set(quality["model"])
    ]
    return "; ".join(parts)


@dataclass
class DownstreamSet:
    """One paired set: ``columns`` (the measures, downstream first), ``rows`` (``model`` and per measure a cell
    ``{text, ci, cls, title}``; the first row is the noisy input's absolute means), the ``sentence``, the
    ``figure`` path relative to the report folder ("" without WER), ``n`` files and ``asr_reference``, what WER
    and CER were measured against ("" without them; :func:`setoolkit.metrics.asr.reference_note`)."""

    dataset: str
    columns: list[str]
    rows: list[dict]
    sentence: str
    figure: str = ""
    n: int = 0
    asr_reference: str = ""
    changes: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


@dataclass
class DownstreamView:
    sets: list[DownstreamSet]


def _signed(v: float, digits: int) -> str:
    """``+0.115``, ``-0.085``; a change that rounds to zero is ``0.000``, without a sign."""
    return f"{0.0:.{digits}f}" if round(v, digits) == 0 else f"{v:+.{digits}f}"


def _cell(r) -> dict:
    d = catalog.digits(r.metric)
    if not np.isfinite(r.difference):
        return {"text": "–", "ci": "", "cls": "", "title": "not compared (no common file)"}
    ci = f"[{r.ci_low:+.{d}f}, {r.ci_high:+.{d}f}]" if np.isfinite(r.ci_low) else ""
    cls = ("better" if r.better else "worse") if r.significant else ""
    holm_p = f", Holm p {r.p_holm:.3g}" if np.isfinite(r.p_holm) else ", too few files for alpha after Holm"
    return {"text": _signed(r.difference, d), "ci": ci, "cls": cls, "title": f"n {r.n}, Wilcoxon p {r.p:.3g}{holm_p}"}


def set_view(ctx: ReportContext, ds: str, *, alpha: float = ALPHA) -> DownstreamSet | None:
    """One set's downstream table, sentence and figure; ``None`` without noisy rows or downstream columns."""
    t = ctx.table[ctx.table["dataset"] == ds]
    down = present(t, ds, DOWNSTREAM)
    if not down or not (t["model"] == NOISY).any():
        return None
    board = ctx.boards.get(ds)
    order = list(board["model"]) if board is not None and "model" in board else list(dict.fromkeys(t["model"]))
    models = [m for m in order if not is_reference(m) and (t["model"] == m).any()]
    if not models:
        return None
    columns = down + present(t, ds, QUALITY)
    changes = changes_vs_noisy(t, ds, columns, models, alpha=alpha)
    noisy = t[t["model"] == NOISY]
    rows = [
        {
            "model": "noisy input (absolute mean)",
            "noisy": True,
            "cells": [
                {"text": f"{noisy[m].mean():.{catalog.digits(m)}f}", "ci": "", "cls": "", "title": ""} for m in columns
            ],
        }
    ]
    for m in models:
        mine = {r.metric: r for r in changes[changes["model"] == m].itertuples(index=False)}
        rows.append({"model": m, "noisy": False, "cells": [_cell(mine[c]) for c in columns]})
    figure = ""
    asr_reference = ""
    if set(WORD_ERRORS) & set(columns):
        asr_reference = reference_note(noisy["clean_path"] if "clean_path" in noisy else [])
    quality = [q for q in FIGURE_QUALITY if q in columns]
    if "wer" in columns and quality:
        path = quality_vs_wer(
            changes,
            ctx.figures_dir / f"{ctx.date}_{ds}_quality_vs_wer.png",
            quality=quality[0],
            dataset=ds,
            reference=asr_reference,
        )
        (ctx.out_dir / "figures").mkdir(exist_ok=True)
        shutil.copy(path, ctx.out_dir / "figures" / path.name)
        figure = f"figures/{path.name}"
    return DownstreamSet(
        dataset=ds,
        columns=columns,
        rows=rows,
        sentence=tradeoff_sentence(changes, ds, alpha=alpha),
        figure=figure,
        n=int(changes["n"].max()) if len(changes) else 0,
        asr_reference=asr_reference,
        changes=changes,
    )


def build(ctx: ReportContext) -> DownstreamView | None:
    sets = [s for ds in ctx.datasets if (s := set_view(ctx, ds)) is not None]
    for s in sets:
        s.changes.to_csv(ctx.out_dir / f"downstream_{s.dataset}.csv", index=False)
    return DownstreamView(sets) if sets else None


def markdown(view: DownstreamView) -> list[str]:
    md = ["## Downstream: word errors and speaker similarity", ""]
    for s in view.sets:
        header = ["model", *[f"Δ {catalog.label(c)}" for c in s.columns]]
        body = [[r["model"], *[(c["text"] + ("*" if c["cls"] else "")) for c in r["cells"]]] for r in s.rows]
        md += [f"### {md_escape(s.dataset)}", "", md_escape(s.sentence), ""]
        if s.asr_reference:
            md += [f"WER and CER {md_escape(s.asr_reference)}.", ""]
        md += [markdown_table(pd.DataFrame(body, columns=header)), ""]
        if s.figure:
            md += [f"![{md_escape(Path(s.figure).stem)}]({url_path(s.figure)})", ""]
    md += ["\\* significant against the noisy input (Wilcoxon, Holm across models, alpha 0.05)", ""]
    return md


HTML = """\
  <h2>Downstream: word errors and speaker similarity</h2>
  <p class="legend">Enhancement that lifts PESQ or a MOS predictor can still damage what an ASR or a speaker model
    hears. Each cell is a model's mean change against the noisy input on the same files, with its paired bootstrap
    95% CI; <span class="better">green</span> and <span class="worse">red</span> cells differ from the noisy input
    significantly (exact Wilcoxon signed-rank, Holm across the set's models, alpha 0.05) the better or the worse
    way; hover a cell for its p-values. WER and CER are fractions of the reference's words and characters (lower is
    better; pocketsphinx's absolute WER is high, read the change), against the written transcript where the set
    has one (its transcripts.csv, or the published texts of VoiceBank-DEMAND and CMU ARCTIC), else the clean file's
    own transcript: each set's heading says which. Speaker similarity is the cosine of Resemblyzer embeddings of the
    output and the clean file.</p>
  {% for s in view.sets %}
  <h3>{{ s.dataset }} <small class="legend">({{ s.n }} files{% if s.asr_reference %}; WER and CER
    {{ s.asr_reference }}{% endif %})</small></h3>
  <p class="versus">{{ s.sentence }}</p>
  <div class="wide"><table class="small downstream">
    <thead><tr><th>model</th>{% for c in s.columns %}<th>Δ {{ label(c) }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for r in s.rows %}<tr{% if r.noisy %} class="noisy"{% endif %}><td class="name">{{ r.model }}</td>
      {% for c in r.cells %}<td class="num {{ c.cls }}" title="{{ c.title }}">{{ c.text }}
        {%- if c.ci %}<small>{{ c.ci }}</small>{% endif %}</td>{% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table></div>
  {% if s.figure %}<div class="figs one"><a href="{{ url(s.figure) }}">
    <img src="{{ url(s.figure) }}" alt="{{ s.figure }}" loading="lazy"></a></div>{% endif %}
  {% endfor %}
"""

SECTION = Section(id="downstream", nav="Downstream", build=build, html=HTML, markdown=markdown)
