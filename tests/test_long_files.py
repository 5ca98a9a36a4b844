"""Long files are enhanced block by block (setoolkit.blockwise): the output equals the whole-file path, the file
is read in bounded blocks, and the memory held does not grow with the file."""

import tracemalloc
import warnings

import numpy as np
import pytest
import soundfile as sf

import setoolkit
from setoolkit import blockwise
from setoolkit.audio import InputWarning, read, write
from setoolkit.chunking import process_in_chunks
from setoolkit.errors import AudioError
from setoolkit.models.common import base
from setoolkit.streaming import FrameBlocks, offline_frames

SR, SECONDS = 48000, 40.0
#: Streamed output vs whole-file output, full scale = 1 (measured: 0.0, bit-identical, for all three models).
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def long_files(tmp_path_factory):
    """40 s of 48 kHz stereo noise + tones (the right channel with a 0.03 DC offset, removed before the model),
    as 32-bit float wav and 16-bit flac."""
    d = tmp_path_factory.mktemp("long")
    n = int(SECONDS * SR) + 123
    t = np.arange(n) / SR
    rng = np.random.default_rng(0)
    x = np.stack(
        [
            0.1 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n),
            0.2 * np.sin(2 * np.pi * 220 * t) + 0.03 * rng.standard_normal(n) + 0.03,
        ]
    ).astype(np.float32)
    sf.write(d / "in.wav", x.T, SR, subtype="FLOAT")
    sf.write(d / "in.flac", x.T, SR, subtype="PCM_16")
    return d


@pytest.fixture(autouse=True)
def _stream_beyond_5_s(monkeypatch):
    """Models without chunks stream signals over WHOLE_CHANNEL_SECONDS (120 s); here the files are 40 s, so the
    threshold comes down to 5 s to exercise the streamed path."""
    monkeypatch.setattr(base, "WHOLE_CHANNEL_SECONDS", 5.0)


def test_short_signal_of_a_stream_model_is_one_offline_call(monkeypatch):
    monkeypatch.setattr(base, "WHOLE_CHANNEL_SECONDS", 120.0)
    model = setoolkit.load("speex")
    assert type(model.block_processor(int(100 * model.sample_rate))).__name__ == "WholeChannel"
    assert type(model.block_processor(int(200 * model.sample_rate))).__name__ == "StreamRunner"


def _whole_file(model, src, dst, *, downmix=False):
    """The path ``enhance_file`` replaced: read everything, enhance everything, write everything."""
    audio, sr = read(src)
    return write(dst, model.enhance(audio, sr, downmix=downmix, name=str(src)), sr, subtype=sf.info(str(src)).subtype)


@pytest.mark.parametrize(
    "name, src, downmix, processor",
    [
        ("spectral-gating", "in.flac", True, "ChunkJoiner"),  # 10 s chunks, crossfaded; 16-bit in and out, downmix
        ("nsnet2", "in.wav", False, "FrameBlocks"),  # blocks of 1024 STFT frames, state carried
        ("speex", "in.wav", False, "StreamRunner"),  # a causal stream, latency removed
    ],
)
def test_streamed_file_equals_whole_file_path(long_files, tmp_path, name, src, downmix, processor):
    model = setoolkit.load(name)
    src = long_files / src
    assert type(model.block_processor(int(SECONDS * model.sample_rate))).__name__ == processor
    with warnings.catch_warnings(record=True) as streamed_warnings:
        warnings.simplefilter("always")
        out = model.enhance_file(src, tmp_path / f"streamed{src.suffix}", downmix=downmix)
    with warnings.catch_warnings(record=True) as whole_warnings:
        warnings.simplefilter("always")
        ref = _whole_file(model, src, tmp_path / f"whole{src.suffix}", downmix=downmix)
    y, sr = read(out)
    r, _ = read(ref)
    assert sr == SR and y.shape == r.shape == (1 if downmix else 2, int(SECONDS * SR) + 123)
    assert np.abs(y - r).max() <= TOLERANCE
    assert sf.info(str(out)).subtype == sf.info(str(src)).subtype
    assert [str(w.message) for w in streamed_warnings if w.category is InputWarning] == [
        str(w.message) for w in whole_warnings if w.category is InputWarning
    ]
    if not downmix:  # the DC offset of the right channel is reported once, and removed, as the whole path does
        assert any("DC offset +0.0300 (channel 2)" in str(w.message) for w in streamed_warnings)


def test_file_is_read_in_bounded_blocks_and_memory_does_not_follow_its_length(long_files, tmp_path, monkeypatch):
    model = setoolkit.load("speex")
    src = long_files / "in.wav"
    reads, calls = [], []
    real_read = sf.SoundFile.read
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, frames=-1, *a, **k: reads.append(frames) or real_read(self, frames, *a, **k)
    )
    real_process = type(model.stream()).process
    monkeypatch.setattr(type(model.stream()), "process", lambda self, x: calls.append(len(x)) or real_process(self, x))
    model.enhance(np.full((2, SR), 1e-3, np.float32), SR)  # warm: model state, imports
    reads.clear(), calls.clear()
    tracemalloc.start()
    model.enhance_file(src, tmp_path / "out.wav")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    frames = sf.info(str(src)).frames
    assert all(0 < f <= blockwise.BLOCK_FRAMES for f in reads)  # never the whole file at once
    assert len(reads) >= 2 * -(-frames // blockwise.BLOCK_FRAMES)  # two passes: facts, then the audio
    assert max(calls) <= blockwise.BLOCK_FRAMES and len(calls) > 2 * 10  # the model sees blocks too
    input_bytes = frames * 2 * 4  # 15 MB of float32
    assert peak < input_bytes / 4, f"traced peak {peak / 2**20:.1f} MB"  # measured 2.6 MB (whole path: 54 MB)


def test_chunked_model_sees_the_whole_path_chunks(long_files, tmp_path, monkeypatch):
    """A chunked model is called on exactly the chunks ``process_in_chunks`` cuts from the whole signal."""
    model = setoolkit.load("spectral-gating")
    seen = {"streamed": [], "whole": []}
    real = model.enhance_model_rate
    for key, run in (
        ("streamed", lambda: model.enhance_file(long_files / "in.flac", tmp_path / "s.flac", downmix=True)),
        ("whole", lambda: _whole_file(model, long_files / "in.flac", tmp_path / "w.flac", downmix=True)),
    ):
        monkeypatch.setattr(model, "enhance_model_rate", lambda x, key=key: seen[key].append(x.copy()) or real(x))
        run()
    assert len(seen["streamed"]) == len(seen["whole"]) == 5  # 40 s in 10 s chunks, 0.5 s overlap
    for a, b in zip(seen["streamed"], seen["whole"]):
        assert np.array_equal(a, b)


def test_bad_samples_are_refused_before_any_output(tmp_path):
    x = np.zeros((3 * SR, 2), np.float32)
    x[SR, 1] = np.nan
    sf.write(tmp_path / "nan.wav", x, SR, subtype="FLOAT")
    model = setoolkit.load("speex")
    with pytest.raises(AudioError, match=r"nan.wav: 1 of 288000 samples are NaN or Inf"):
        model.enhance_file(tmp_path / "nan.wav", tmp_path / "out" / "nan.wav")
    with pytest.raises(AudioError, match=r"nan.wav: 1 of 288000 samples are NaN or Inf"):
        read(tmp_path / "nan.wav")
    assert not list((tmp_path / "out").glob("*"))


def _in_pieces(proc, x, sizes):
    """Feed ``x`` to a block processor in pieces cycling through ``sizes``; the concatenated output."""
    out, i, k = [], 0, 0
    while i < len(x):
        out.append(proc.push(x[i : i + sizes[k % len(sizes)]]))
        i, k = i + sizes[k % len(sizes)], k + 1
    return np.concatenate([*out, proc.finish()])


@pytest.mark.parametrize("n", [777, 16000 * 3, 16000 * 10, 16000 * 10 + 1, 16000 * 31 + 5])
def test_chunk_joiner_is_process_in_chunks_in_pieces(n):
    """Any length (one chunk, exactly one, just over, many) and any piece sizes: bit-identical."""
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)

    def fn(seg):  # depends on where a chunk starts (its running sum): a wrong boundary changes the output
        return (np.cumsum(seg) * 1e-3 + seg**2).astype(np.float32)

    whole = process_in_chunks(fn, x, 16000)
    for sizes in ([65536], [1, 4999, 160000], [16000 * 11]):
        streamed = _in_pieces(blockwise.ChunkJoiner(fn, n, 16000), x, sizes)
        assert streamed.shape == (n,) and np.array_equal(streamed, whole), sizes


@pytest.mark.parametrize("n", [100, 16000 * 3 + 17, 16000 * 40 + 3])
def test_frame_blocks_are_offline_frames_in_pieces(n):
    model = setoolkit.load("gtcrn")
    x = (0.1 * np.random.default_rng(n).standard_normal(n)).astype(np.float32)
    whole = offline_frames(model, x)
    for sizes in ([65536], [1, 3333]):
        streamed = _in_pieces(FrameBlocks(model, n), x, sizes)
        assert np.array_equal(streamed, whole), sizes


def test_short_file_in_one_chunk(long_files, tmp_path):
    """A file shorter than one chunk (3 s): the model runs once, as in the whole-file path."""
    x, sr = read(long_files / "in.wav")
    write(tmp_path / "short.wav", x[:, : 3 * sr], sr, subtype="FLOAT")
    model = setoolkit.load("spectral-gating")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        y, _ = read(model.enhance_file(tmp_path / "short.wav", tmp_path / "out" / "short.wav"))
        r, _ = read(_whole_file(model, tmp_path / "short.wav", tmp_path / "whole.wav"))
    assert np.abs(y - r).max() <= TOLERANCE and y.shape == (2, 3 * sr)
