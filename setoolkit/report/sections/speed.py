"""The speed section: the timing pass's RTF and per-hop latency (timing.csv) with the machine's load during the
pass, the runtime variants (variants.csv) and where the main job's time went (profile.csv)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..leaderboard import BUSY_MARK, html_table
from .base import ReportContext, Section


@dataclass
class SpeedView:
    """``timing``: ``text`` (the pass in one sentence), ``short`` (the leaderboard legend's form), ``table``
    (HTML); ``variants``: HTML table; ``profile``: ``text`` and ``table``. Each ``None`` without its file."""

    timing: dict | None
    variants: str | None
    profile: dict | None


def load_sentence(timing) -> str:
    """One sentence on the machine's load during the timing pass (timing.csv ``load1, steal_pct, other_cpu,
    other_top, busy``); empty for a table without them."""
    if "other_cpu" not in timing or not timing["other_cpu"].notna().any():
        return ""
    load1, other = timing["load1"].dropna(), timing["other_cpu"].dropna()
    steal = timing["steal_pct"].dropna() if "steal_pct" in timing else other * np.nan
    busy = timing.loc[timing["busy"].fillna(False).astype(bool), "model"].tolist() if "busy" in timing else []
    worst = timing.loc[timing["other_cpu"].idxmax()]
    text = (
        f"Machine load during the pass: load average {load1.min():.1f}-{load1.max():.1f}, other processes "
        f"{other.min():.0f}-{other.max():.0f}% of a core (busiest: {worst.get('other_top') or '-'}), "
        f"CPU steal up to {steal.max() if len(steal) else 0:.0f}%. "
    )
    if busy:
        return text + (
            f"{len(busy)} of {len(timing)} models were timed again and stayed contended "
            f"({', '.join(busy)}; {BUSY_MARK} beside their RTF): their RTF is an upper bound."
        )
    return text + "Every model was timed with the machine to itself (other processes under half a core)."


def timing_summary(timing) -> dict | None:
    """``text`` and ``short`` sentences and the HTML ``table`` of the timing pass; ``None`` without one."""
    if timing is None or not len(timing):
        return None
    cpus = ", ".join(str(c) for c in dict.fromkeys(timing.get("cpu", []))) or "CPU not recorded"
    threads = ", ".join(str(t) for t in dict.fromkeys(timing.get("threads", []))) or "?"
    busy = timing["busy"].fillna(False).astype(bool).any() if "busy" in timing else False
    return {
        "text": f"RTF and per-hop latency from the dedicated timing pass: {threads} thread(s) "
        f"on {cpus}, warmed up, after the evaluation workers finished. {load_sentence(timing)}".strip(),
        "short": f"timing pass, {threads} thread(s) on {cpus}"
        + (f"; {BUSY_MARK} = timed while the machine was busy" if busy else ""),
        "table": html_table(timing.round(4)),
    }


def build(ctx: ReportContext) -> SpeedView:
    variants, profile = ctx.speed["variants"], ctx.speed["profile"]
    prof: dict[str, Any] | None = None
    if profile is not None and len(profile):
        stages = profile["stage"].astype(str)
        top = profile[~stages.str.contains(":") & (stages != "total")]
        total = (
            float(profile.loc[stages == "total", "seconds"].iloc[0])
            if (stages == "total").any()
            else float(top["seconds"].sum())
        )
        share = (profile["seconds"] / total).map("{:.0%}".format) if total > 0 else "–"
        biggest = top.sort_values("seconds", ascending=False).head(3)
        prof = {
            "text": f"{total:.0f} s in all; most in "
            + ", ".join(f"{r.stage} ({r.seconds:.0f} s)" for r in biggest.itertuples(index=False)),
            "table": html_table(profile.assign(share=share).round(2)),
        }
    return SpeedView(
        timing=timing_summary(ctx.speed["timing"]),
        variants=html_table(variants.round(4)) if variants is not None and len(variants) else None,
        profile=prof,
    )


HTML = """\
  <h2>Speed</h2>
  {% if view.timing %}
  <p>{{ view.timing.text }}</p>
  <details><summary>timing.csv</summary>{{ view.timing.table | safe }}</details>
  {% else %}
  <p>No timing pass in this folder (timing.csv): RTF is shown as –. The evaluation workers share the cores, so
  their times measure contention, not the models.</p>
  {% endif %}
  {% if view.variants %}<h3>Runtime variants</h3><p>Same weights, another runtime: parity against the
  representative (dB) and speed.</p>{{ view.variants | safe }}{% endif %}
  {% if view.profile %}<h3>Where the main job's time went</h3><p>{{ view.profile.text }}</p>
  <details><summary>profile.csv (seconds per stage; "evaluate: ..." summed over the worker processes)</summary>{{ view.profile.table | safe }}</details>{% endif %}
"""  # noqa: E501

SECTION = Section(id="speed", nav="Speed", build=build, html=HTML)
