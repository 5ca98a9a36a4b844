"""The report's listening section (issue 31): the same model identity as the leaderboard (a user's model spec
stays in the agreement), exact Spearman p for small n, cautions when listeners or items are too few, a
truncated results file named and skipped while the report is still written, tables styled like the board."""

import shutil

import numpy as np
from conftest import synthetic_table

from setoolkit.evaluation.agreement import spearman_exact_p
from setoolkit.listening import build_test, listening_section, save_result, simulate_results
from setoolkit.listening.analysis import metric_agreement, ratings_frame
from setoolkit.listening.results import result_path
from setoolkit.report import build_report


def test_exact_spearman_p_for_four_systems():
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 3.5, 9.0])
    assert abs(spearman_exact_p(x, y) - 2 / 24) < 1e-12  # rho = 1 with n = 4: p = 0.083, not 0.000
    assert spearman_exact_p(x, np.array([2.0, 1.0, 4.0, 3.0])) > 0.3


def test_agreement_p_is_exact_for_a_few_systems(mushra, table):
    _, test = mushra
    r = ratings_frame(simulate_results(test, 6, effects={"sysA": 80, "sysB": 60, "noisy": 30}, seed=1), test)
    a = metric_agreement(r, table).query("level == 'system' and metric == 'pesq_wb'").iloc[0]
    assert a["n"] == 3 and a["spearman"] == 1.0 and abs(a["spearman_p"] - 2 / 6) < 1e-12


def test_a_user_model_spec_keeps_its_place_in_the_agreement(tmp_path):
    spec = "my-model"  # a user's model as the engine names it (setoolkit.model_refs: its name=, never its path)
    table = synthetic_table(tmp_path / "data", n_paired=3, n_blind=0)
    table["model"] = table["model"].replace({"sysB": spec})
    report = tmp_path / "report"
    folder = report / "listening_tests" / "mushra"
    test = build_test(table, folder, kind="mushra", n_items=2, seed=1, max_seconds=1.0, training=False)
    assert spec in test.systems
    for r in simulate_results(test, 4, effects={"sysA": 80, spec: 60, "noisy": 30}, seed=2):
        save_result(folder / "results", r, test)
    build_report(table.assign(rtf=0.1), report, date="2026-12-06", figures_dir=tmp_path / "figs", examples=0)
    md = (report / "report.md").read_text()
    section = md[md.index("## Listening tests") :]
    rows = [line for line in section.splitlines() if line.startswith("| PESQ-WB |")]
    assert rows and rows[0].split("|")[2].strip() == "3"  # noisy, sysA and the user's model: n 3, not 2
    assert "my-model" in section and str(tmp_path) not in section.split("[Take the test")[0]


def test_too_few_listeners_and_a_truncated_file(mushra, table, tmp_path):
    folder, test = mushra
    results = tmp_path / "results"
    for r in simulate_results(test, 3, seed=5):
        save_result(results, r, test)
    s = listening_section(results, folder, table)
    assert "Only 3 listeners and 3 items: too few for the 95% CIs" in s.markdown and "listening-caution" in s.html
    bad = result_path(results, test.id, "L03")
    bad.write_text(bad.read_text()[:100])
    shutil.copy(result_path(results, test.id, "L02"), results / f"{test.id}__L02 (1).json")
    s = listening_section(results, folder, table)
    assert f"skipped {bad}" in s.markdown and "'L02' has 2 results files" in s.markdown
    assert "2 listeners" in s.markdown
    (results / f"{test.id}__L02 (1).json").unlink()
    result_path(results, test.id, "L02").unlink()
    s = listening_section(results, folder, table)
    assert "no confidence interval can be estimated" in s.markdown and s.scores["lo"].isna().all()
    assert '<table class="board listening-table">' in s.html and '<td class="num">' in s.html
