"""wer / cer: jiwer over PocketSphinx's own decoding of real files; the text normalisation; transcripts.csv."""

import math
import shutil
import wave

import numpy as np
import pytest

from setoolkit import cards
from setoolkit.audio import read
from setoolkit.errors import MetricError, MissingExtraError
from setoolkit.metrics import asr as A

jiwer = pytest.importorskip("jiwer")


def _pocketsphinx_hypothesis(path) -> str:
    """What a PocketSphinx user writes: its default decoder over the 16-bit wav file's frames."""
    from pocketsphinx import Decoder

    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getsampwidth() == 2 and w.getnchannels() == 1
        frames = w.readframes(w.getnframes())
    decoder = Decoder(loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(frames, full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr


@pytest.mark.parametrize(
    "name", [pytest.param("p232_001", marks=pytest.mark.slow), pytest.param("p257_151", marks=pytest.mark.slow)]
)
def test_wer_equals_jiwer_over_pocketsphinx_decoding(data, name):
    clean_path, noisy_path = data / f"vbd16k/clean/{name}.wav", data / f"vbd16k/noisy/{name}.wav"
    c, sr = read(clean_path)
    n, _ = read(noisy_path)
    ref, hyp = _pocketsphinx_hypothesis(clean_path), _pocketsphinx_hypothesis(noisy_path)
    assert ref and A.normalize(ref) == ref and A.normalize(hyp) == hyp  # its output is already normal form
    assert c.shape == n.shape
    c, n = c[0], n[0]
    assert A.transcribe(c, sr) == ref and A.transcribe(n, sr) == hyp
    assert A.wer(c, n, sr) == jiwer.wer(ref, hyp)
    assert A.cer(c, n, sr) == jiwer.cer(ref, hyp)
    assert A.wer(c, c, sr) == 0.0
    A._memo.clear()
    A.transcribe(n, sr)
    A._memo.clear()
    assert A.transcribe(n, sr) == hyp  # decoded again after itself: the same (PocketSphinx alone says "poop")


def test_given_transcript_is_the_reference(data):
    path = data / "arctic/arctic_a0007.wav"
    x, sr = read(path)
    prompt = "And you always want to see it in the superlative degree."  # CMU ARCTIC prompt a0007
    hyp = _pocketsphinx_hypothesis(path)
    want = jiwer.wer("and you always want to see it in the superlative degree", hyp)
    assert A.wer(x[0], x[0], sr, transcript=prompt) == pytest.approx(want)
    assert A.wer(x[0], x[0], sr, transcript=prompt) < 0.2  # measured: 0.0 (clean read speech)


def test_other_rates_are_resampled_to_16k(data):
    x, sr = read(data / "arctic/arctic_a0007.wav")
    from setoolkit.audio import resample

    x48 = resample(x[0], sr, 48000)
    assert A.transcribe(x48, 48000).split()[:3] == A.transcribe(x[0], sr).split()[:3]


def test_normalize():
    assert A.normalize("Don't stop -- it's 12 o'clock!") == "don't stop it's 12 o'clock"
    assert A.normalize("  Hello,\tWORLD.  'Quoted' text  ") == "hello world quoted text"
    assert A.normalize("Twenty-one \u2019s  3.5%") == "twenty one s 3 5"  # numbers stay as written
    assert A.normalize("snake_case") == "snake case"
    assert A.normalize("...") == ""


def test_error_rates_on_text():
    assert A.error_rates("The cat sat.", "the cat sat") == {"wer": 0.0, "cer": 0.0}
    assert A.error_rates("the cat sat", "the bat sat")["wer"] == pytest.approx(1 / 3)
    assert A.error_rates("a b", "a b c d")["wer"] == 1.0  # two insertions over two words
    assert all(math.isnan(v) for v in A.error_rates(" ?! ", "words").values())


def test_transcripts_csv_beside_clean(tmp_path, data):
    clean = tmp_path / "myset" / "clean"
    (clean / "sub").mkdir(parents=True)
    shutil.copy(data / "arctic/arctic_a0007.wav", clean / "a.wav")
    shutil.copy(data / "arctic/arctic_a0008.wav", clean / "sub" / "b.wav")
    (tmp_path / "myset" / "transcripts.csv").write_text('file,text\na.wav,"Hello, world"\nsub/b.wav,second\n')
    assert A.transcript_for(clean / "a.wav") == "Hello, world"
    assert A.transcript_for(clean / "sub" / "b.wav") == "second"
    assert A.transcript_for(tmp_path / "elsewhere.wav") is None
    (tmp_path / "myset" / "transcripts.csv").write_text("file,words\na.wav,x\n")
    with pytest.raises(MetricError, match="transcripts.csv: .*columns file,text"):
        A.transcript_for(clean / "a.wav")
    (tmp_path / "myset" / "transcripts.csv").write_text("file,text\na.wav,x\na.wav,y\n")
    with pytest.raises(MetricError, match="line 3: 'a.wav' is listed twice"):
        A.transcript_for(clean / "a.wav")


def test_silent_reference_is_nan_and_decodes_are_memoised():
    x = np.zeros(16000)
    assert math.isnan(A.wer(x, x, 16000))
    with pytest.raises(ValueError, match="positive rate"):
        A.transcribe(x, 0)


def test_missing_extra_is_named(monkeypatch):
    found = cards._found
    monkeypatch.setattr(cards, "_found", lambda m: m != "pocketsphinx" and found(m))
    A._decoder.cache_clear()
    with pytest.raises(MissingExtraError, match=r"the wer metric \(and cer\) needs setoolkit\[asr\]"):
        A._decoder()
    A._decoder.cache_clear()
