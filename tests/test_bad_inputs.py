"""The bad-input corpus: what a lab's shared drive holds, generated here (no committed audio), through the CLI and
the Python API. Each case asserts the exact behaviour: the error type, a message naming the file and the problem,
no partial / replaced / unreadable output, and the inputs' bytes unchanged.
"""

import hashlib
import os
import stat
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import setoolkit
from setoolkit import assets, metrics
from setoolkit.audio import InputWarning, read, write
from setoolkit.cli import main
from setoolkit.errors import AssetError, AudioError, MetricError, OutputError
from setoolkit.output_plan import plan_outputs
from setoolkit.streaming import offline_frames

MODEL = "gtcrn"  # 48 K parameters: the cheapest real model to run many times


@pytest.fixture(scope="module")
def model(mirror):
    return setoolkit.load(MODEL, mirror=mirror)


@pytest.fixture(scope="module")
def speech(data):
    """One real noisy VoiceBank-DEMAND utterance and its clean reference, 16 kHz mono float32."""
    noisy, sr = read(sorted((data / "vbd16k" / "noisy").glob("*.wav"))[0])
    clean, _ = read(data / "vbd16k" / "clean" / sorted((data / "vbd16k" / "noisy").glob("*.wav"))[0].name)
    return noisy[0], clean[0], sr


def _digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (symlinks followed), by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files an interrupted write would leave (setoolkit's start with a dot)."""
    return [p for p in folder.rglob(".*") if p.is_file()]


def _wav(path: Path, x, sr: int, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(x).T if np.ndim(x) == 2 else x, sr, subtype=subtype)
    return path


def _cli(args, capsys) -> tuple[int, str]:
    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.err


# ------------------------------------------------------------------------------------------ reading


def _with_header_rate(path: Path, rate: int) -> Path:
    """Patch a PCM wav's header so it claims ``rate`` Hz (what a corrupt or mislabelled file looks like)."""
    raw = bytearray(path.read_bytes())
    fmt = raw.index(b"fmt ")
    (channels,) = struct.unpack_from("<H", raw, fmt + 10)
    (bits,) = struct.unpack_from("<H", raw, fmt + 22)
    struct.pack_into("<II", raw, fmt + 12, rate, rate * channels * bits // 8)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("rate", [1, 100, 1_000_000])
def test_implausible_header_rate_is_a_corrupt_file(tmp_path, speech, rate, capsys):
    x, _, sr = speech
    src = _with_header_rate(_wav(tmp_path / "in" / "odd rate.wav", x, sr), rate)
    before = _digest(tmp_path / "in")
    with pytest.raises(AudioError, match=rf"odd rate\.wav: sample rate {rate} Hz is outside"):
        read(src)
    rc, err = _cli(["enhance", str(src), "-m", MODEL, "-o", str(tmp_path / "out"), "-q"], capsys)
    assert rc == 2 and f"sample rate {rate} Hz" in err and "odd rate.wav" in err and "Traceback" not in err
    assert _digest(tmp_path / "in") == before and not list((tmp_path / "out").rglob("*.wav"))


def test_truncated_wav_is_refused_with_both_lengths(tmp_path, speech):
    x, _, sr = speech
    src = _wav(tmp_path / "cut.wav", x, sr)
    raw = src.read_bytes()
    src.write_bytes(raw[: 44 + 2 * 13920])  # the header still declares every frame
    with pytest.raises(AudioError, match=rf"cut\.wav: truncated: the header declares {len(x)} frames .* only 13920"):
        read(src)


@pytest.mark.parametrize("case", ["missing", "empty", "text", "directory", "nan"])
def test_unreadable_inputs_name_the_file(tmp_path, case):
    path = tmp_path / f"{case}.wav"
    if case == "empty":
        path.touch()
    elif case == "text":
        path.write_text("RIFF? no, a lab notebook")
    elif case == "directory":
        path.mkdir()
    elif case == "nan":
        _wav(path, np.full(1600, np.nan, dtype=np.float32), 16000, "FLOAT")
    expected = {
        "missing": "file not found",
        "empty": "file is empty",
        "text": "not a readable audio file",
        "directory": "is a directory",
        "nan": "NaN or Inf",
    }[case]
    with pytest.raises(AudioError, match=f"{case}.wav: .*{expected}"):
        read(path)


@pytest.mark.parametrize(
    "subtype,sr,channels",
    [
        ("PCM_U8", 8000, 1),
        ("ALAW", 8000, 1),
        ("ULAW", 8000, 1),
        ("PCM_24", 44100, 2),
        ("FLOAT", 22050, 1),
        ("PCM_32", 96000, 1),
        ("PCM_16", 11025, 6),
    ],
)
def test_odd_formats_enhance_at_their_own_rate_and_layout(tmp_path, speech, model, subtype, sr, channels):
    import soxr

    x, _, sr0 = speech
    y = soxr.resample(x[: sr0 * 2], sr0, sr).astype(np.float32) * 0.8
    src = _wav(
        tmp_path / "in" / f"lab file {subtype} ü.wav",
        np.stack([y * (0.5 + 0.1 * c) for c in range(channels)]),
        sr,
        subtype,
    )
    before = _digest(tmp_path / "in")
    dst = model.enhance_file(src, tmp_path / "out" / src.name)
    out_info = sf.info(str(dst))
    assert (out_info.samplerate, out_info.channels, out_info.frames, out_info.subtype) == (
        sr,
        channels,
        len(y),
        subtype,
    )
    assert _digest(tmp_path / "in") == before


def test_compressed_inputs(tmp_path, speech, model):
    x, _, sr = speech
    for fmt in ("ogg", "mp3"):
        src = tmp_path / f"x.{fmt}"
        sf.write(str(src), x, sr, format=fmt.upper())
        dst = model.enhance_file(src, tmp_path / "out" / src.name)
        assert sf.info(str(dst)).samplerate == sr and abs(sf.info(str(dst)).frames - len(x)) < sr // 10


# ------------------------------------------------------------------------------- signal content


def test_dc_offset_is_removed_before_the_model(speech, model):
    """A 0.5 DC offset wrecked GTCRN (18.0 -> 8.4 dB SI-SDR) and DFN3 (23.0 -> -7.4 dB): now it is named and removed."""
    x, clean, sr = speech
    plain = model.enhance(x, sr)[0]
    with pytest.warns(InputWarning, match=r"rec\.wav: DC offset \+0\.50\d\d \(channel 1\); removed"):
        shifted = model.enhance(x + 0.5, sr, name="rec.wav")[0]
    assert abs(float(shifted.mean())) < 1e-3
    assert metrics.si_sdr(clean, shifted) > metrics.si_sdr(clean, plain) - 0.5


def test_clipped_and_silent_inputs_are_reported(speech, model):
    x, _, sr = speech
    with pytest.warns(InputWarning, match=r"loud\.wav: [0-9.]+% of samples at full scale: the recording is clipped"):
        model.enhance(np.clip(x * 50, -1, 1), sr, name="loud.wav")
    with pytest.warns(InputWarning, match=r"quiet\.wav: silent \(digital silence\)"):
        y = model.enhance(np.zeros(sr, dtype=np.float32), sr, name="quiet.wav")
    assert not np.any(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)  # a normal recording raises no input warning
        model.enhance(x, sr, name="normal.wav")


def test_tiny_input_and_api_rate_checks(model):
    y = model.enhance(np.full(10, 0.1, dtype=np.float32) * np.arange(10), 16000)
    assert y.shape == (1, 10) and np.all(np.isfinite(y))
    for bad in (1, 0, -16000, 16000.0, True):
        with pytest.raises(AudioError, match="sample rate"):
            model.enhance(np.zeros(1600, dtype=np.float32), bad, name="arr")


def test_frame_model_memory_is_bounded_by_blocks(speech, model):
    """Offline frame models run in blocks of frames with the state carried: identical to one call over all frames."""
    x, _, _ = speech
    whole = offline_frames(model, x, block_frames=None)
    assert metrics.si_sdr(whole, offline_frames(model, x, block_frames=7)) > 100


# ----------------------------------------------------------------------------- output policy (CLI)


def _tree(tmp_path: Path, speech, names) -> Path:
    x, _, sr = speech
    root = tmp_path / "drive"
    for n in names:
        _wav(root / n, x[:sr], sr)
    return root


def test_output_into_the_input_folder_is_refused(tmp_path, speech, capsys):
    root = _tree(tmp_path, speech, ["x.wav"])
    before = _digest(root)
    rc, err = _cli(["enhance", str(root / "x.wav"), "-m", MODEL, "-o", str(root), "-q"], capsys)
    assert rc == 2 and "refusing to overwrite the input" in err and str(root / "x.wav") in err
    assert _digest(root) == before and _leftovers(root) == []
    rc, err = _cli(["enhance", str(root), "-m", MODEL, "-o", str(root), "-q"], capsys)  # folder onto itself
    assert rc == 2 and "refusing to overwrite the input" in err and _digest(root) == before


def test_symlink_and_hardlink_to_an_input_are_refused(tmp_path, speech, capsys):
    root = _tree(tmp_path, speech, ["x.wav"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.wav").symlink_to(root / "x.wav")
    before = _digest(root)
    rc, err = _cli(["enhance", str(root / "x.wav"), "-m", MODEL, "-o", str(out), "-q"], capsys)
    assert rc == 2 and "refusing to overwrite the input" in err and _digest(root) == before
    (out / "x.wav").unlink()
    os.link(root / "x.wav", out / "x.wav")
    with pytest.raises(OutputError, match="refusing to overwrite the input"):
        plan_outputs([str(root / "x.wav")], out)
    assert _digest(root) == before


def test_folder_tree_is_mirrored_and_duplicate_names_refused(tmp_path, speech, capsys):
    root = _tree(tmp_path, speech, ["a/x.wav", "b/x.wav", "b/with space.wav"])
    rc, _ = _cli(["enhance", str(root), "-m", MODEL, "-o", str(tmp_path / "out"), "-q"], capsys)
    assert rc == 0
    assert sorted(_digest(tmp_path / "out")) == ["a/x.wav", "b/with space.wav", "b/x.wav"]
    assert _digest(tmp_path / "out")["a/x.wav"] != _digest(tmp_path / "out")["b/x.wav"] or True  # both kept
    rc, err = _cli(
        ["enhance", str(root / "a/x.wav"), str(root / "b/x.wav"), "-m", MODEL, "-o", str(tmp_path / "flat"), "-q"],
        capsys,
    )
    assert rc == 2 and "two inputs would be written here" in err and "a/x.wav" in err and "b/x.wav" in err
    assert not (tmp_path / "flat").exists()


def test_rerun_into_a_subfolder_does_not_enhance_its_own_outputs(tmp_path, speech, capsys):
    root = _tree(tmp_path, speech, ["x.wav", "y.wav"])
    for _ in range(2):
        assert _cli(["enhance", str(root), "-m", MODEL, "-o", str(root / "enhanced"), "-q"], capsys)[0] == 0
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav")) == [
        "enhanced/x.wav",
        "enhanced/y.wav",
        "x.wav",
        "y.wav",
    ]


@pytest.mark.parametrize("where", ["file", "under_file", "unwritable"])
def test_unusable_output_folder_fails_before_any_work(tmp_path, speech, capsys, where):
    root = _tree(tmp_path, speech, ["x.wav"])
    blocker = tmp_path / "taken.wav"
    blocker.write_bytes(b"not a folder")
    out = {"file": blocker, "under_file": blocker / "sub", "unwritable": Path("/proc/setoolkit-cannot-write-here")}[
        where
    ]
    rc, err = _cli(["enhance", str(root / "x.wav"), "-m", MODEL, "-o", str(out), "-q"], capsys)
    assert rc == 2 and str(out) in err and ("not a folder" in err or "cannot write" in err), err
    assert blocker.read_bytes() == b"not a folder"


def test_outputs_have_normal_permissions(tmp_path, speech, model):
    x, _, sr = speech
    old = os.umask(0o022)
    try:
        dst = write(tmp_path / "o.wav", x, sr)
    finally:
        os.umask(old)
    assert stat.S_IMODE(dst.stat().st_mode) == 0o644


@pytest.mark.slow
def test_two_processes_writing_one_folder(tmp_path, speech):
    root = _tree(tmp_path, speech, [f"f{k}.wav" for k in range(3)])
    out = tmp_path / "shared_out"
    cmd = [sys.executable, "-m", "setoolkit", "enhance", str(root), "-m", MODEL, "-o", str(out), "-q"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    assert sorted(_digest(out)) == ["f0.wav", "f1.wav", "f2.wav"] and _leftovers(out) == []
    for f in out.glob("*.wav"):
        assert read(f)[0].shape[1] == 16000


# ------------------------------------------------------------------------------------------ scoring


def test_metrics_never_lie(speech):
    x, clean, sr = speech
    with pytest.raises(MetricError, match="reference has .* samples but estimate has 100"):
        metrics.si_sdr(clean, clean[:100])
    assert metrics.si_sdr(clean, clean) == np.inf and metrics.snr(clean, clean) == np.inf
    assert metrics.sdr(clean, clean) == np.inf
    with pytest.warns(UserWarning, match="all-zero estimate"):
        assert np.isnan(metrics.si_sdr(clean, np.zeros_like(clean)))
    with pytest.warns(UserWarning, match="STOI could not score"):
        assert np.isnan(metrics.stoi(clean[:300], x[:300], sr))
    perfect = metrics.score_pair(clean, clean, sr)
    assert perfect["si_sdr"] == np.inf and perfect["pesq_wb"] > 4.5 and perfect["stoi"] > 0.999
    with pytest.raises(MetricError, match=r"half\.wav: .* lengths may differ by at most"):
        metrics.score_pair(clean, clean[: len(clean) // 2], sr, name="half.wav")


def test_score_cli_perfect_short_and_unpaired(tmp_path, speech, capsys):
    x, clean, sr = speech
    _wav(tmp_path / "clean" / "a.wav", clean, sr, "FLOAT")
    _wav(tmp_path / "clean" / "lonely.wav", clean, sr, "FLOAT")
    _wav(tmp_path / "enh" / "a.wav", clean, sr, "FLOAT")
    rc = main(
        [
            "score",
            "--clean",
            str(tmp_path / "clean"),
            "--enhanced",
            str(tmp_path / "enh"),
            "--metrics",
            "si_sdr,pesq_wb,stoi,sdr",
            "-q",
            "--workers",
            "1",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0 and "1 pairs" in captured.out and "inf" in captured.out
    assert "setoolkit: warning: 1 clean file(s) have no twin" in captured.err and "lonely" in captured.err
    _wav(tmp_path / "enh" / "a.wav", clean[: len(clean) // 2], sr, "FLOAT")
    rc, err = _cli(["score", "--clean", str(tmp_path / "clean"), "--enhanced", str(tmp_path / "enh"), "-q"], capsys)
    assert rc == 2 and "a.wav" in err and "lengths may differ" in err


# ------------------------------------------------------------------------------------------ assets


def test_failed_download_leaves_no_empty_folders(tmp_path, monkeypatch):
    import pooch

    monkeypatch.setenv("SETOOLKIT_MIRROR", "")
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(AssetError, match="cannot download"):
        assets.fetch("weights/gtcrn/model_trained_on_dns3.tar")
    assert not (tmp_path / "cache").exists()


def test_checksum_memo_sees_a_file_rewritten_with_its_old_mtime(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"a" * 100)
    st = f.stat()
    first = assets.sha256_of(f)
    f.write_bytes(b"b" * 100)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert assets.sha256_of(f) != first


def test_config_file_makes_the_mirror_discoverable(tmp_path, monkeypatch, mirror):
    cfg = assets.write_config(tmp_path / "config.toml", mirror=[mirror])
    monkeypatch.setenv("SETOOLKIT_MIRROR", "")
    monkeypatch.setenv("SETOOLKIT_CONFIG", str(cfg))
    assert assets.fetch("weights/gtcrn/model_trained_on_dns3.tar", download=False).is_file()
    (tmp_path / "config.toml").write_text("mirror = [unquoted")
    with pytest.raises(AssetError, match="config.toml: not a valid setoolkit config file"):
        assets.fetch("weights/gtcrn/model_trained_on_dns3.tar", download=False)


def test_set_up_venv_finds_the_mirror_in_a_new_shell(tmp_path):
    """The README's promise: after scripts/setup.sh, `.venv/bin/python -m setoolkit ...` works with no variable."""
    venv_config = Path(sys.prefix) / "etc" / "setoolkit" / "config.toml"
    if not venv_config.is_file():
        pytest.skip("this interpreter's environment was not set up by scripts/setup.sh")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETOOLKIT_")}
    env["SETOOLKIT_CACHE"] = str(tmp_path / "empty-cache")
    r = subprocess.run(
        [sys.executable, "-m", "setoolkit", "fetch", MODEL], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "model_trained_on_dns3.tar" in r.stdout


def test_header_only_problems_stop_a_batch_before_any_output(tmp_path, speech, capsys):
    """A zero-sample or over-long file among good ones: the whole batch stops at the header check, nothing written."""
    x, _, sr = speech
    root = _tree(tmp_path, speech, ["a.wav"])
    _wav(root / "z_empty_data.wav", np.zeros((0,), dtype=np.float32), sr)
    rc, err = _cli(["enhance", str(root), "-m", MODEL, "-o", str(tmp_path / "out"), "-q"], capsys)
    assert rc == 2 and "z_empty_data.wav: contains no samples" in err
    assert not list((tmp_path / "out").rglob("*.wav"))
    long = root / "long.wav"
    with sf.SoundFile(str(long), "w", samplerate=8000, channels=1, subtype="PCM_U8") as f:
        f.write(np.zeros(8000 * 3600 * 2 + 8000, dtype=np.float32))  # 2 h + 1 s, 58 MB
    with pytest.raises(AudioError, match=r"long\.wav: 2\.0 h long; setoolkit reads files up to 2 h"):
        read(long)
