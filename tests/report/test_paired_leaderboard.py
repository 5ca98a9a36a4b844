"""The leaderboard's "tied" comes from a paired test over the same files, not from overlapping CIs of two means."""

import numpy as np
import pandas as pd
import pytest

from setoolkit.evaluation import summarize
from setoolkit.report import headline, leaderboard
from setoolkit.report.leaderboard import board_display, user_model_sentences
from setoolkit.report.sections.leaderboards import board_cells


def _table(shift: float, n: int = 30, seed: int = 0) -> pd.DataFrame:
    """Files with a wide spread of difficulty; model ``b`` = ``a`` minus a small, consistent ``shift``."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(1.5, 3.5, n)  # between-file spread dwarfs the shift
    rows = []
    for i, q in enumerate(base):
        for model, v in (("noisy", q - 0.6), ("gtcrn", q), ("mine", q - shift + rng.normal(0, 0.01))):
            rows.append({"dataset": "vbd16k", "model": model, "file": f"f{i}.wav", "pesq_wb": v, "rtf": 0.1})
    return pd.DataFrame(rows)


def test_consistent_small_gap_is_not_a_tie_though_the_cis_overlap():
    table = _table(shift=0.05)
    summary = summarize(table, ["pesq_wb"])
    unpaired = leaderboard(summary, "vbd16k")
    paired = leaderboard(summary, "vbd16k", table=table)
    assert unpaired.set_index("model").loc["mine", "tied"]  # the CIs of the means overlap...
    row = paired.set_index("model").loc["mine"]
    assert not row["tied"] and row["p_holm"] < 1e-4  # ...but every file says mine is worse
    assert np.isclose(row["vs_leader"], -0.05, atol=0.01)
    assert paired.attrs["paired"]
    assert "significantly ahead" in headline(paired)


def test_no_real_difference_stays_tied_and_names_the_test():
    table = _table(shift=0.0)
    board = leaderboard(summarize(table, ["pesq_wb"]), "vbd16k", table=table)
    assert board.set_index("model").loc[board.loc[1, "model"], "tied"]
    assert "paired Wilcoxon" in headline(board)


def test_your_model_gets_a_sentence_against_the_best():
    table = _table(shift=0.05)
    board = leaderboard(summarize(table, ["pesq_wb"]), "vbd16k", table=table)
    (sentence,) = user_model_sentences(table, board)  # gtcrn is a registry card, mine is not
    assert sentence.startswith("On vbd16k, mine") and "significantly worse than the best, gtcrn" in sentence


def test_in_domain_marks_models_trained_on_the_set_corpus():
    rows = [
        {"dataset": "vbd16k", "model": m, "file": f"f{i}.wav", "pesq_wb": 2.0 + i / 10 + (m != "noisy"), "rtf": 0.1}
        for m in ("noisy", "gtcrn-vctk", "gtcrn")
        for i in range(5)
    ]
    table = pd.DataFrame(rows)
    board = leaderboard(summarize(table, ["pesq_wb"]), "vbd16k", table=table).set_index("model")
    assert board.loc["gtcrn-vctk", "in_domain"] and not board.loc["gtcrn", "in_domain"]


def test_spec_names_are_shortened_for_display_unless_they_collide():
    from setoolkit.report import short_model_names

    t = pd.DataFrame({"model": ["noisy", "/a/b/mine.py:build", "gtcrn"]})
    assert list(short_model_names(t)["model"]) == ["noisy", "mine.py:build", "gtcrn"]
    t2 = pd.DataFrame({"model": ["/a/mine.py:build", "/b/mine.py:build"]})
    assert list(short_model_names(t2)["model"]) == ["/a/mine.py:build", "/b/mine.py:build"]


# --- on real evaluation rows (the shared small run: gtcrn and rnnoise on 3 VoiceBank-DEMAND pairs) ---


@pytest.mark.slow
def test_three_files_are_too_few_and_the_headline_says_so(small_run):
    _, table = small_run
    board = leaderboard(summarize(table), "vbd16k", table=table)
    other = board.iloc[1]
    assert other["status"] == "too few files" and other["tied"] and other["n_paired"] == 3
    text = headline(board)
    assert "3 common files are too few to separate any two models" in text and "0.25" in text
    assert "not significantly different" not in text


@pytest.mark.slow
def test_duplicated_rows_leave_the_leaderboard_as_it_was(small_run):
    _, table = small_run
    vbd = table[table.dataset == "vbd16k"]
    once = leaderboard(summarize(vbd), "vbd16k", table=vbd)
    with pytest.warns(UserWarning, match="collapsed"):
        twice = leaderboard(summarize(vbd), "vbd16k", table=pd.concat([vbd, vbd], ignore_index=True))
    cols = ["model", "tied", "status", "n_paired", "p_holm", "vs_leader"]
    pd.testing.assert_frame_equal(once[cols], twice[cols])


@pytest.mark.slow
def test_no_common_file_is_not_compared_on_the_board(small_run):
    _, table = small_run
    vbd = table[table.dataset == "vbd16k"].assign(model=lambda t: t.model.replace({"rnnoise": "mine"}))
    first = sorted(vbd.file.unique())[0]
    apart = vbd[~((vbd.model == "gtcrn") & (vbd.file == first)) & ~((vbd.model == "mine") & (vbd.file != first))]
    board = leaderboard(summarize(apart), "vbd16k", table=apart)
    other = board.iloc[1]
    assert other["status"] == "not compared" and not other["tied"]  # before: tied, n = 0
    assert f"{other['model']} was not compared with it (no common file)" in headline(board)
    name_cell = board_cells(board)["rows"][1]["cells"][1]
    assert name_cell["badge"] == "not compared" and "(not compared)" in board_display(board)["model"].iloc[1]
    (sentence,) = user_model_sentences(apart, board)
    assert "no common file" in sentence and "nan" not in sentence and "n = 0" not in sentence
