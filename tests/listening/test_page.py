"""The offline page: self-contained, every name escaped, embedded JSON safe inside <script>."""

import json
import re
from html.parser import HTMLParser

from conftest import synthetic_table

from setoolkit.listening import build_test
from setoolkit.listening.page import script_json

EVIL = "<!--<script>x.wav"


def test_script_json_escapes_and_round_trips():
    obj = {"name": "</script><!--<script>&\u2028\u2029", "n": [1, 2.5, None]}
    text = script_json(obj)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == obj


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self._in = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append([self._in, ""])

    def handle_data(self, data):
        if self._in is not None:
            self.scripts[-1][1] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None


def test_evil_stimulus_name_does_not_break_the_page(tmp_path):
    table = synthetic_table(tmp_path / "data", n_paired=3, n_blind=0, names=[EVIL, "b&b.wav", "plain.wav"])
    test = build_test(table, tmp_path / "test", kind="mushra", n_items=2, seed=0, title='A <b>"title"</b>')
    assert EVIL in {t.file for t in test.trials}
    page = (tmp_path / "test" / "listening_test.html").read_text()
    parser = _Scripts()
    parser.feed(page)
    kinds = [a.get("type") for a, _ in parser.scripts]
    assert kinds == ["application/json", "module"]  # nothing closed a script early or opened another
    data = json.loads(parser.scripts[0][1])
    assert data["test"]["id"] == test.id
    assert EVIL in {t.file for t in test.trials} and "x.wav" not in page  # item names stay in the test folder
    assert "<title>A &lt;b&gt;&quot;title&quot;&lt;/b&gt;</title>" in page
    assert "<!--" not in page and "<b>" not in page
    # self-contained: every sound referenced relatively, inside the folder
    for url in data["audio"].values():
        assert not re.match(r"^[a-z]+:|^/|\.\.", url) and (tmp_path / "test" / url).exists()


def test_page_rules_come_from_the_type_and_the_definition(mushra, tmp_path, table):
    from setoolkit.listening import public_test

    _, test = mushra
    assert public_test(test)["rules"] == {"play": "any", "require_max": True}
    assert public_test(test)["widget"] == "sliders" and "rate at least one 100" in public_test(test)["instructions"]
    relaxed = build_test(table, tmp_path / "relaxed", kind="mushra", n_items=1, seed=0, max_seconds=1.0,
                         training=False, rules={"require_max": False})  # fmt: skip
    assert public_test(relaxed)["rules"] == {"play": "any", "require_max": False}
    page = (tmp_path / "relaxed" / "listening_test.html").read_text()
    assert '"require_max":false' in page
