"""The JupyterLab comparison player (anywidget) over a real evaluation table."""

import base64

import pytest

from setoolkit.report.widgets import ComparisonPlayer


def _decode(url):
    head, data = url.split(",", 1)
    return head, base64.b64decode(data)


def test_player_signals_follow_file_and_model_choice(small_run):
    _, table = small_run
    p = ComparisonPlayer(table, dataset="vbd16k")
    assert p.labels == ["noisy", "clean", "gtcrn", "rnnoise"]
    assert "export default" in str(p._esm)  # the component the report inlines too
    for s in p.signals:
        head, wav = _decode(s["audio"])
        assert head == "data:audio/wav;base64" and wav[:4] == b"RIFF" and len(wav) > 10000
        assert _decode(s["spec"])[1][:4] == b"\x89PNG"
    assert p.signals[2]["metrics"]["PESQ-WB"] and p.metric_names[0] == "PESQ-WB"
    assert p.duration > 1
    p.selected = ["rnnoise"]
    assert p.labels == ["noisy", "clean", "rnnoise"]
    first = p.title
    p.file = p.files[-1]
    assert p.title != first and p.labels == ["noisy", "clean", "rnnoise"]


def test_player_on_unpaired_set_and_errors(small_run):
    _, table = small_run
    p = ComparisonPlayer(table, dataset="dns3_blind", models=["gtcrn"])
    assert p.labels == ["noisy", "gtcrn"] and p.metric_names[0] == "DNSMOS OVRL"
    with pytest.raises(ValueError, match="not in the table"):
        ComparisonPlayer(table, models=["dpcrn-quant"])
