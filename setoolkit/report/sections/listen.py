"""The listen section: per dataset the hardest and a typical input, every signal playable on one timeline with its
spectrogram and metric row (the player of :mod:`setoolkit.report.widgets`); the audio is copied into the report."""

from __future__ import annotations

from dataclasses import dataclass

from ..leaderboard import is_reference, pick_examples
from ..players import listening_players
from .base import ReportContext, Section


@dataclass
class ListenView:
    """``players``: the player data (JSON-ready dicts), hardest and typical file per dataset."""

    players: list[dict]


def build(ctx: ReportContext) -> ListenView:
    players = []
    for ds in ctx.datasets:
        if ctx.examples:
            models = [m for m in ctx.boards[ds]["model"] if not is_reference(m)]
            picks = pick_examples(ctx.table, ds, ctx.examples)
            players += listening_players(ctx.table, ctx.out_dir, ds, models, picks)
    return ListenView(players)


HTML = """\
  <h2>Listen</h2>
  <p>Per dataset the hardest and a typical input. All signals share one timeline: pick a row (or press 1–9)
  while playing to switch without losing the position; drag on the spectrogram to loop a region.</p>
  {% for p in view.players %}
  <div class="se-player-mount"><script type="application/json">{{ json(p) | safe }}</script></div>
  {% endfor %}
"""

SECTION = Section(id="listen", nav="Listen", build=build, html=HTML)
