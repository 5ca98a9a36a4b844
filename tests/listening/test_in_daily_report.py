"""The daily report shows a listening-test section from a results folder and links the test page."""

import shutil
from html.parser import HTMLParser

from setoolkit.listening import save_result, simulate_results
from setoolkit.report import build_report


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])


def test_report_has_a_listening_section_when_results_exist(mushra, table, tmp_path):
    folder, test = mushra
    copy = tmp_path / "report" / "listening_tests" / "mushra"  # found inside the report folder, unnamed
    shutil.copytree(folder, copy)
    for r in simulate_results(test, 6, careless=1, seed=3):
        save_result(copy / "results", r, test)
    table = table.assign(rtf=table.get("rtf", 0.1))
    out = build_report(table, tmp_path / "report", date="2026-12-02", figures_dir=tmp_path / "figs", examples=0)
    page = (out / "report.html").read_text()
    parser = _Sections()
    parser.feed(page)
    assert "listening-tests" in parser.ids
    assert "listening_tests/mushra/listening_test.html" in parser.links  # relative: the folder travels
    md = (out / "report.md").read_text()
    assert "## Listening tests" in md and "1 excluded" in md
    figure = next((out / "figures").glob("listening_mushra_*.png"))
    assert f"figures/{figure.name}" in md


def test_no_section_without_results(mushra, table, tmp_path):
    folder, _ = mushra
    table = table.assign(rtf=table.get("rtf", 0.1))
    out = build_report(
        table, tmp_path / "report", date="2026-12-02", figures_dir=tmp_path / "figs", examples=0, listening=[folder]
    )
    assert 'id="listening-tests"' not in (out / "report.html").read_text()


def test_a_truncated_results_file_does_not_stop_the_report(mushra, table, tmp_path):
    """Issue 31: one truncated results file made the report exit with a raw JSONDecodeError naming no file."""
    from setoolkit.listening.results import result_path

    folder, test = mushra
    copy = tmp_path / "report" / "listening_tests" / "mushra"
    shutil.copytree(folder, copy)
    for r in simulate_results(test, 4, seed=3):
        save_result(copy / "results", r, test)
    bad = result_path(copy / "results", test.id, "L04")
    bad.write_text(bad.read_text()[:150])
    table = table.assign(rtf=table.get("rtf", 0.1))
    out = build_report(table, tmp_path / "report", date="2026-12-02", figures_dir=tmp_path / "figs", examples=0)
    md = (out / "report.md").read_text()
    assert "## Listening tests" in md and f"skipped {bad}" in md and "3 listeners" in md
