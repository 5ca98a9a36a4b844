"""A set's written transcripts reach ``wer``/``cer`` when files are scored (evaluate, ``setoolkit score``), enter the
content key of exactly the rows they concern, and the report says what the word errors were measured against."""

import shutil
import warnings

import pandas as pd
import pytest

from setoolkit.audio import read
from setoolkit.cli import main
from setoolkit.evaluation import NOISY, evaluate, make_tasks
from setoolkit.metrics import asr as A
from setoolkit.metrics import score_pair
from setoolkit.metrics.scoring import score_files

pytest.importorskip("jiwer")
pytest.importorskip("pocketsphinx")

#: Two texts for the first two vbd16k files: any text works as a given transcript; these are not the spoken ones,
#: so a number computed against them can only come from the file.
TEXTS = {"p232_001.wav": "a given transcript of the first file", "p232_002.wav": "another written text entirely"}


def _set(data, root, texts=TEXTS):
    """The first two vbd16k pairs copied to ``root/clean``, ``root/noisy``, with ``root/transcripts.csv``."""
    for sub in ("clean", "noisy"):
        (root / sub).mkdir(parents=True)
        for name in texts:
            shutil.copy(data / "vbd16k" / sub / name, root / sub / name)
    _write_texts(root, texts)
    return root


def _write_texts(root, texts):
    rows = "".join(f'{name},"{text}"\n' for name, text in texts.items())
    (root / "transcripts.csv").write_text("file,text\n" + rows)


def _keys(root, out):
    tasks = make_tasks(["oracle-irm"], [str(root)], out, metrics=("wer", "pesq_wb"), use_dnsmos=False)
    return {(t.model, t.file): t.key for t in tasks}


def test_an_edited_transcript_line_changes_exactly_its_files_keys(tmp_path, data):
    root = _set(data, tmp_path / "set")
    base = _keys(root, tmp_path / "out")
    assert len(base) == 4  # noisy and oracle-irm rows of two files
    _write_texts(root, {**TEXTS, "p232_002.wav": "an edited line"})
    now = _keys(root, tmp_path / "out")
    assert {k for k in base if now[k] != base[k]} == {(NOISY, "p232_002.wav"), ("oracle-irm", "p232_002.wav")}
    # rows that carry no word error rate keep the key they had before annotations existed
    plain = make_tasks(["oracle-irm"], [str(root)], tmp_path / "out", metrics=("pesq_wb",), use_dnsmos=False)
    _write_texts(root, TEXTS)
    again = make_tasks(["oracle-irm"], [str(root)], tmp_path / "out", metrics=("pesq_wb",), use_dnsmos=False)
    assert [t.key for t in plain] == [t.key for t in again]


def test_score_pair_reads_the_transcript_of_the_reference_file(tmp_path, data):
    root = _set(data, tmp_path / "set")
    clean, noisy = root / "clean" / "p232_001.wav", root / "noisy" / "p232_001.wav"
    c, sr = read(clean)
    n, _ = read(noisy)
    given = score_pair(c[0], n[0], sr, metrics=["wer", "cer"], reference_path=clean)
    want = A.error_rates(TEXTS["p232_001.wav"], A.transcribe(n[0], sr))
    assert given["wer"] == pytest.approx(want["wer"]) and given["cer"] == pytest.approx(want["cer"])
    arrays = score_pair(c[0], n[0], sr, metrics=["wer"])  # arrays alone: the clean file's own recognition
    assert arrays["wer"] == pytest.approx(A.wer(c[0], n[0], sr))
    assert arrays["wer"] != given["wer"]
    rows = score_files([(clean, noisy)], metrics=["wer"], workers=1, progress=False)
    assert rows[0]["wer"] == pytest.approx(want["wer"])


@pytest.mark.slow
def test_evaluate_reads_the_sets_transcripts_and_recomputes_only_the_edited_files_rows(tmp_path, data):
    root = _set(data, tmp_path / "set")

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return evaluate(
                ["oracle-irm"],
                [str(root)],
                tmp_path / "out",
                metrics=["wer", "cer"],
                use_dnsmos=False,
                workers=1,
                progress=False,
                return_stats=True,
            )

    table, stats = run()
    assert stats.computed == 4
    for name, text in TEXTS.items():
        n, sr = read(root / "noisy" / name)
        row = table[(table.model == NOISY) & (table.file == name)].iloc[0]
        assert row["wer"] == pytest.approx(A.error_rates(text, A.transcribe(n[0], sr))["wer"])
    _write_texts(root, {**TEXTS, "p232_002.wav": "please call stella"})
    table, stats = run()
    assert stats.computed == 2 and stats.skipped == 2
    n, sr = read(root / "noisy" / "p232_002.wav")
    row = table[(table.model == NOISY) & (table.file == "p232_002.wav")].iloc[0]
    assert row["wer"] == pytest.approx(A.error_rates("please call stella", A.transcribe(n[0], sr))["wer"])


def test_the_score_command_reads_transcripts_beside_clean(tmp_path, data, capsys):
    root = _set(data, tmp_path / "set", {"p232_001.wav": TEXTS["p232_001.wav"]})
    out = tmp_path / "scores.csv"
    argv = ["score", "--clean", str(root / "clean"), "--enhanced", str(root / "noisy"), "--metrics", "wer"]
    assert main([*argv, "--csv", str(out), "--workers", "1"]) == 0
    n, sr = read(root / "noisy" / "p232_001.wav")
    got = pd.read_csv(out)["wer"].iloc[0]
    assert got == pytest.approx(A.error_rates(TEXTS["p232_001.wav"], A.transcribe(n[0], sr))["wer"])
    assert "(wer vs the written transcript)" in capsys.readouterr().out


def test_reference_note_says_what_the_word_errors_were_measured_against(tmp_path, data):
    root = _set(data, tmp_path / "set", {"p232_001.wav": "x"})
    written = str(root / "clean" / "p232_001.wav")
    bare = tmp_path / "bare" / "clean"
    bare.mkdir(parents=True)
    (bare / "a.wav").write_bytes(b"not audio: no transcript, and no shipped one for these bytes")
    assert A.reference_note([written, written]) == "vs the written transcript"
    assert A.reference_note([str(bare / "a.wav")]) == "vs the clean file's transcript"
    assert A.reference_note([]) == "vs the clean file's transcript"
    assert A.reference_note([None, float("nan")]) == "vs the clean file's transcript"  # a table without paths
    mixed = A.reference_note([written, str(bare / "a.wav")])
    assert mixed == "vs the written transcript (1 of 2 files), else the clean file's transcript"


def test_the_published_transcripts_apply_to_exactly_those_recordings(tmp_path, data):
    assert A.transcript_for(data / "vbd16k/clean/p232_001.wav") == "Please call Stella."
    assert A.transcript_for(data / "vbd48k/clean/p257_003.wav").startswith("Six spoons of fresh snow peas")
    assert A.transcript_for(data / "arctic/cmu_arctic_us_aew_a0001.wav") == (
        "Author of the danger trail, Philip Steels, etc."
    )
    assert A.transcript_for(data / "arctic/arctic_a0010.wav").startswith("I'm playing a single hand")
    every = [*(data / "vbd16k/clean").glob("*.wav"), *(data / "vbd48k/clean").glob("*.wav")]
    every += list((data / "arctic").glob("*.wav"))
    assert len(every) == 60 and all(A.transcript_for(p) for p in every)
    copy = tmp_path / "mine" / "clean" / "x.wav"  # the same bytes under another name: the same recording
    copy.parent.mkdir(parents=True)
    shutil.copy(data / "vbd16k/clean/p232_002.wav", copy)
    assert A.transcript_for(copy) == "Ask her to bring these things with her from the store."
    impostor = tmp_path / "other" / "clean" / "p232_001.wav"  # the name alone: no transcript
    impostor.parent.mkdir(parents=True)
    shutil.copy(data / "vbd16k/noisy/p232_001.wav", impostor)
    assert A.transcript_for(impostor) is None
    (impostor.parent.parent / "transcripts.csv").write_text("file,text\np232_001,the set's own text\n")
    assert A.transcript_for(impostor) == "the set's own text"  # a set's transcripts.csv comes first
    assert A.reference_note([str(p) for p in every]) == "vs the written transcript"


@pytest.mark.slow
def test_pocketsphinx_against_the_written_transcripts_of_vbd16k(data):
    """The recogniser against the VCTK text on clean VoiceBank-DEMAND speech, and the noisy input against it: the
    written reference gives the error rates a meaning (measured: mean WER 0.163 clean, 0.291 noisy on these 8 files;
    0.383 and 0.575 on all 44)."""
    clean_wer, noisy_wer = [], []
    for p in sorted((data / "vbd16k/clean").glob("*.wav"))[:8]:
        c, sr = read(p)
        n, _ = read(data / "vbd16k/noisy" / p.name)
        text = A.transcript_for(p)
        clean_wer.append(A.wer(c[0], c[0], sr, transcript=text))
        noisy_wer.append(A.wer(c[0], n[0], sr, transcript=text))
    assert sum(clean_wer) / 8 < sum(noisy_wer) / 8
    assert sum(clean_wer) / 8 < 0.5
