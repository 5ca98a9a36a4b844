"""Names from the file system are text in every report: a hostile set folder or file name never becomes markup in
report.md or report.html, and never breaks the players' data (issue #21)."""

import json
import shutil
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

from setoolkit import assets
from setoolkit.evaluation import evaluate
from setoolkit.report import build_report
from setoolkit.report.escape import md_escape, script_json, url_path

HOSTILE_SET = "x<img src=x onerror=alert(1)>"
HOSTILE_FILES = ("<!--<script>.wav", "a&b<b>|*c*.wav")


def test_script_json_cannot_close_or_comment_out_its_element():
    data = {"title": "</script><!--<script>\u2028&", "nan": float("nan"), "n": [1.5, float("inf")]}
    text = script_json(data)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"title": data["title"], "nan": None, "n": [1.5, None]}


def test_md_escape_leaves_no_markup():
    text = md_escape("x<img src=x onerror=alert(1)>|*a*_[l](u)`c`\\\nnext")
    assert "<" not in text and ">" not in text and "\n" not in text
    assert text == r"x&lt;img src=x onerror=alert(1)&gt;\|\*a\*\_\[l\](u)\`c\`\\ next"
    assert url_path("a b/#x?.png") == "a%20b/%23x%3F.png"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.mounts, self.scripts, self._in_mount_script, self.data = [], 0, 0, False, []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "div" and "se-player-mount" in (dict(attrs).get("class") or ""):
            self.mounts += 1
        if tag == "script":
            self.scripts += 1
            self._in_mount_script = dict(attrs).get("type") == "application/json"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_mount_script = False

    def handle_data(self, data):
        if self._in_mount_script:
            self.data.append(data)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory, mirror):
    root = tmp_path_factory.mktemp("hostile")
    folder = root / HOSTILE_SET
    for (clean, noisy), name in zip(assets.dataset_pairs("vbd16k", mirror=mirror), HOSTILE_FILES):
        for sub, src in (("clean", clean), ("noisy", noisy)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy(src, folder / sub / name)
    table = evaluate(
        ["nsnet2"],
        [folder],
        root / "run",
        metrics=("pesq_wb", "stoi", "si_sdr"),
        use_dnsmos=False,
        workers=1,
        limit=2,
        progress=False,
        mirror=mirror,
    )
    assert set(table["file"]) == set(HOSTILE_FILES) and set(table["dataset"]) == {HOSTILE_SET}
    out = build_report(table, root / "report", date="2026-01-02", figures_dir=root / "figures")
    return out


def test_hostile_names_stay_text_in_report_html(hostile_report):
    page = (hostile_report / "report.html").read_text()
    parser = _Tags()
    parser.feed(page)
    assert not [t for t, a in parser.tags if "onerror" in a], "a name became an element"
    assert parser.mounts == 2 and parser.scripts == 3  # two players' data + the module script: nothing swallowed
    players = [json.loads(d) for d in parser.data]
    titles = " ".join(p["title"] for p in players)
    assert all(name in titles for name in HOSTILE_FILES)  # the names arrive unchanged in the player
    for p in players:
        for s in p["signals"]:  # every link points at a file inside the report folder
            assert (hostile_report / unquote(s["audio"])).resolve().is_file()
            assert hostile_report.resolve() in (hostile_report / unquote(s["audio"])).resolve().parents
    assert HOSTILE_SET.replace("<", "&lt;").replace(">", "&gt;") in page


def test_hostile_names_stay_text_in_report_md(hostile_report):
    md = (hostile_report / "report.md").read_text()
    assert "<img" not in md and "<!--" not in md and "<script" not in md
    assert md_escape(HOSTILE_SET) in md
