"""The daily report and what it is built from: leaderboards (pure functions over DataFrames,
:mod:`.leaderboard`), the listening players (:mod:`.players`, shared with the JupyterLab widget in
:mod:`.widgets`), the figures (:mod:`.figures`), the report's sections (:mod:`.sections`, one module each, in
one registry) and :func:`build_report` (:mod:`.daily`), which builds them and hands them to :mod:`.writers`.

Examples
--------
>>> from setoolkit.report import build_report, headline, leaderboard
>>> board = leaderboard(summarize(table), "vbd16k")
>>> build_report(table, "reports/2026-01-02", date="2026-01-02")
"""

from .daily import build_report
from .leaderboard import (
    CHANGE_THRESHOLDS,
    PAIRED_METRICS,
    PAPER_METRICS,
    SET_ORDER,
    UNPAIRED_METRICS,
    best_by_group,
    best_under,
    board_display,
    changes_since,
    headline,
    html_table,
    is_reference,
    latency_class,
    leaderboard,
    markdown_table,
    model_info,
    paper_table,
    pick_examples,
    primary_metric,
    read_speed,
    short_model_names,
    size_class,
    snr_pivot,
)
from .players import listening_players, metric_text, player_signals
from .sections.papers import published_table

__all__ = [
    "CHANGE_THRESHOLDS",
    "PAIRED_METRICS",
    "PAPER_METRICS",
    "SET_ORDER",
    "UNPAIRED_METRICS",
    "best_by_group",
    "best_under",
    "board_display",
    "build_report",
    "changes_since",
    "headline",
    "html_table",
    "is_reference",
    "latency_class",
    "leaderboard",
    "listening_players",
    "markdown_table",
    "metric_text",
    "model_info",
    "paper_table",
    "pick_examples",
    "player_signals",
    "primary_metric",
    "published_table",
    "read_speed",
    "short_model_names",
    "size_class",
    "snr_pivot",
]
