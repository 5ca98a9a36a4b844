"""The report section: None without results; escaped HTML, Markdown, a figure, a link to the page."""

import html

import pytest

from setoolkit.listening import listening_section, save_result, simulate_results


def test_none_without_results(mushra, tmp_path):
    folder, _ = mushra
    assert listening_section(tmp_path / "nothing", folder) is None


@pytest.mark.parametrize("kind", ["mushra", "p835", "ccr"])
def test_section(kind, request, table, tmp_path):
    folder, test = request.getfixturevalue(kind)
    results = tmp_path / "results"
    for r in simulate_results(test, 9, careless=1 if kind == "mushra" else 0, seed=2):
        save_result(results, r, test)
    s = listening_section(results, folder, table)
    assert s.figure_png[:8] == b"\x89PNG\r\n\x1a\n" and s.figure_name.endswith(".png")
    assert s.page == (folder / "listening_test.html").resolve() and s.page.as_uri() in s.html
    assert s.title in s.markdown and html.escape(s.title) in s.html
    assert "<script" not in s.html
    if kind == "mushra":
        assert "1 excluded" in s.markdown and "C01" in s.markdown and s.screening["excluded"].sum() == 1
        assert {"SIG", "pesq_wb"} <= set(s.agreement.metric)
    if kind == "ccr":
        assert {"a", "b"} <= set(s.scores.columns)
    path = s.write_figure(tmp_path / "report")
    assert path.read_bytes() == s.figure_png and path.name in s.markdown


def test_names_escaped(mushra, table, tmp_path):
    folder, test = mushra
    for r in simulate_results(test, 4, careless=1, seed=1):
        r["listener"] = "<img src=x onerror=alert(1)>" + r["listener"]
        save_result(tmp_path, r, test)
    s = listening_section(tmp_path, folder, table)
    assert "&lt;img src=x onerror=alert(1)&gt;C01" in s.html  # the excluded listener, named and escaped
    assert "<img src=x" not in s.html
