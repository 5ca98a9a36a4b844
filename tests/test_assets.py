"""The asset registry covers every real file, verifies checksums and fails clearly offline."""

import re
import shutil

import pytest

from setoolkit import assets
from setoolkit.errors import AssetError
from setoolkit.models.common.checkpoints import load_torch_checkpoint


def _manifest_files(mirror, kind):
    lines = (mirror / kind / "SHA256SUMS").read_text().splitlines()
    return {f"{kind}/{l.split(maxsplit=1)[1].lstrip('*')}": l.split()[0] for l in lines if l.strip()}


@pytest.mark.parametrize("kind", ["weights", "data"])
def test_registry_covers_every_mirrored_file_with_its_hash(mirror, kind):
    reg = assets.registry()
    listed = _manifest_files(mirror, kind)
    assert listed, kind
    for name, sha in listed.items():
        assert name in reg, f"{name} missing from setoolkit/assets.tsv"
        assert reg[name].sha256 == sha
        assert reg[name].license


def test_registry_covers_files_the_weights_manifest_names(mirror):
    text = (mirror / "weights" / "MANIFEST.md").read_text()
    named = set(re.findall(r"^\| ([\w/.+-]+) \|", text, flags=re.M)) - {"file"}
    assert named and all(f"weights/{n}" in assets.registry() for n in named)


def test_official_urls_for_not_mirrored_checkpoints():
    reg = assets.registry()
    dns64 = reg["weights/denoiser/dns64-a7761ff99a7d5bb6.th"]
    assert dns64.url.startswith("https://dl.fbaipublicfiles.com/") and dns64.sha256 == "a7761ff99a7d5bb6"
    assert reg["weights/dpcrn_base/dpcrn_quant.tflite"].url.startswith("https://github.com/")


def test_fetch_from_mirror_verifies(mirror):
    path = assets.fetch("weights/dpcrn_base/dpcrn_quant.tflite", mirror=mirror)
    assert path == mirror / "weights/dpcrn_base/dpcrn_quant.tflite"


def test_tampered_and_truncated_files_are_refused(tmp_path, mirror):
    name = "weights/dpcrn_base/dpcrn_quant.tflite"
    fake = tmp_path / name
    fake.parent.mkdir(parents=True)
    shutil.copy(mirror / name, fake)
    with open(fake, "r+b") as f:  # flip one byte
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(AssetError, match="checksum mismatch.*dpcrn_quant.tflite"):
        assets.fetch(name, mirror=tmp_path)
    fake.write_bytes((mirror / name).read_bytes()[:5000])
    with pytest.raises(AssetError, match="5000 bytes, expected 1268448"):
        assets.fetch(name, mirror=tmp_path)


def test_offline_without_mirror_names_file_and_url(tmp_path, monkeypatch):
    monkeypatch.setenv("SETOOLKIT_MIRROR", "")
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(AssetError) as err:
        assets.fetch("weights/denoiser/dns48-11decc9d8e3f0998.th", download=False)
    assert "dns48-11decc9d8e3f0998.th" in str(err.value) and "dl.fbaipublicfiles.com" in str(err.value)
    with pytest.raises(AssetError, match="no stable download URL"):
        assets.fetch("data/vbd16k/clean/p232_001.wav")


def test_failed_download_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("SETOOLKIT_MIRROR", "")
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    import pooch

    def offline(*a, **k):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(AssetError, match="cannot download https://github.com/.*dpcrn_quant.tflite.*SETOOLKIT_MIRROR"):
        assets.fetch("weights/dpcrn_base/dpcrn_quant.tflite")


def test_download_goes_to_cache_and_is_verified(tmp_path, monkeypatch, mirror):
    """pooch is given the official URL and the sha256; a file it brings that fails the hash is deleted."""
    monkeypatch.setenv("SETOOLKIT_MIRROR", "")
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    import pooch

    seen = {}

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        seen.update(url=url, known_hash=known_hash)
        target = tmp_path / "cache" / "weights/dpcrn_base" / fname
        shutil.copy(mirror / "weights/dpcrn_base/dpcrn_quant.tflite", target)
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    path = assets.fetch("weights/dpcrn_base/dpcrn_quant.tflite")
    assert path.is_relative_to(tmp_path / "cache")
    assert seen["known_hash"] == "sha256:" + assets.get("weights/dpcrn_base/dpcrn_quant.tflite").sha256
    # second call finds it in the cache without downloading
    monkeypatch.setattr(pooch, "retrieve", None)
    assert assets.fetch("weights/dpcrn_base/dpcrn_quant.tflite") == path


def test_unknown_asset_suggests_names():
    with pytest.raises(AssetError, match="did you mean weights/dpcrn_base/dpcrn_quant.tflite"):
        assets.get("weights/dpcrn_base/dpcrn_quant.tfl")


def test_dataset_pairs(mirror):
    pairs = assets.dataset_pairs("vbd16k", mirror=mirror)
    assert len(pairs) == 44 and all(c.name == n.name for c, n in pairs)
    with pytest.raises(AssetError, match="known datasets"):
        assets.dataset_files("nope")


def test_torch_checkpoints_load_weights_only(tmp_path, mirror):
    import torch

    sd = load_torch_checkpoint(mirror / "weights/gtcrn/model_trained_on_dns3.tar")
    assert "model" in sd and all(isinstance(v, torch.Tensor) for v in sd["model"].values())

    class Evil:
        def __reduce__(self):
            return (print, ("code ran",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(AssetError, match="not a loadable torch checkpoint"):
        load_torch_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"garbage" * 10)
    with pytest.raises(AssetError, match="corrupt.pt"):
        load_torch_checkpoint(tmp_path / "corrupt.pt")
