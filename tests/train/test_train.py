"""Fine-tuning GTCRN from its real checkpoint: learning signal, checkpoint round trip, resume, determinism."""

import numpy as np
import pytest
import torch

import setoolkit
from setoolkit import assets
from setoolkit.train import MixingDataset, finetune
from setoolkit.train.adapters import adapter_for
from setoolkit.train.protocol import SeedStudy


@pytest.fixture(scope="module")
def data(mirror):
    clean = assets.dataset_files("arctic", mirror=mirror)[:4]
    noise = assets.dataset_files("noise", mirror=mirror)
    return MixingDataset(clean, noise, seconds=1.0, seed=0)


def test_mixing_hits_the_drawn_snr(data):
    noisy, clean = data[3]
    assert noisy.shape == clean.shape == (16000,)
    snr = 10 * np.log10(np.sum(clean**2) / np.sum((noisy - clean) ** 2))
    assert data.snr_db[0] - 0.1 <= snr <= data.snr_db[1] + 0.1
    assert np.array_equal(data[3][0], noisy)  # a pure function of (seed, index)
    assert not np.array_equal(data[4][0], noisy)


class OneBatch:
    """The same batch every step: the loss on it must go down if learning works."""

    def __init__(self, data):
        self.fixed = data.batch(0, 2)

    def batch(self, step, batch_size):
        return self.fixed


@pytest.mark.slow
def test_loss_decreases_and_checkpoint_reloads_identically(tmp_path, data):
    from setoolkit.models.gtcrn.network import Gtcrn

    model = setoolkit.load("gtcrn")
    adapter = adapter_for(model)
    x = data[100][0]
    with torch.no_grad():  # the differentiable torch framing computes what inference computes
        assert (
            np.abs(adapter.forward(torch.from_numpy(np.stack([x, x])))[1].numpy() - model.enhance_model_rate(x)).max()
            < 1e-5
        )
    result = finetune(adapter, OneBatch(data), tmp_path, steps=12, batch_size=2, lr=1e-3, save_every=6, progress=False)
    assert np.mean(result.losses[-3:]) < np.mean(result.losses[:3]) - 0.2, result.losses
    reloaded = Gtcrn(model.card, str(result.checkpoint))  # the family's own loader reads it back
    x = data[100][0]
    assert np.array_equal(reloaded.enhance_model_rate(x), model.enhance_model_rate(x))
    assert (tmp_path / "log.csv").read_text().count("\n") == 13


def _state(model):
    return {k: v.clone() for k, v in model.net.state_dict().items()}


@pytest.mark.slow
def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, data):
    straight = setoolkit.load("gtcrn")
    finetune(adapter_for(straight), data, tmp_path / "a", steps=6, batch_size=2, lr=5e-4, save_every=3, progress=False)
    interrupted = setoolkit.load("gtcrn")
    finetune(
        adapter_for(interrupted), data, tmp_path / "b", steps=3, batch_size=2, lr=5e-4, save_every=3, progress=False
    )
    resumed = setoolkit.load("gtcrn")  # a new process would start from the official weights again
    result = finetune(
        adapter_for(resumed), data, tmp_path / "b", steps=6, batch_size=2, lr=5e-4, save_every=3, progress=False
    )
    assert result.step == 6 and len(result.losses) == 6
    a, b = _state(straight), _state(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    again = setoolkit.load("gtcrn")
    finetune(adapter_for(again), data, tmp_path / "c", steps=6, batch_size=2, lr=5e-4, save_every=3, progress=False)
    assert all(torch.equal(a[k], v) for k, v in _state(again).items())  # same seed, same result


def test_seed_study_table_states_significance():
    rng = np.random.default_rng(0)
    before = rng.normal(10, 2, size=(20, 1))
    after = np.stack([before + 1.0 + rng.normal(0, 0.2, size=before.shape) for _ in range(3)])
    table = SeedStudy(("si_sdr",), (0, 1, 2), before, after, 0.0).table()
    row = table.iloc[0]
    assert row["verdict"].startswith("significant improvement") and row["ci95_lo"] > 0.5
    flat = np.stack([before + rng.normal(0, 0.5, size=before.shape) for _ in range(3)])
    assert "chance" in SeedStudy(("si_sdr",), (0, 1, 2), before, flat, 0.0).table().iloc[0]["verdict"]


@pytest.mark.slow
def test_demucs_finetunes_and_its_checkpoint_stays_a_plain_state_dict(tmp_path, data):
    """Demucs releases are plain state dicts; the official files are not on this machine, so a checkpoint
    written in exactly that format (random weights) stands in for the loader and the training loop."""
    from fake_checkpoints import random_demucs

    from setoolkit.models.demucs.enhancer import build
    from setoolkit.models.demucs.resampling import sinc_kernel

    card = setoolkit.get_card("denoiser-dns48")
    start = random_demucs("denoiser-dns48", tmp_path / "dns48.th")
    model = build(card, checkpoint=start, verify=False)
    sinc_kernel.cache_clear()
    model.enhance_model_rate(data[7][0])  # inference first (as in a notebook): its cached kernels must still train
    result = finetune(
        adapter_for(model),
        OneBatch(data),
        tmp_path / "run",
        steps=4,
        batch_size=2,
        lr=1e-3,
        save_every=2,
        progress=False,
    )
    assert result.losses[-1] < result.losses[0]
    reloaded = build(card, checkpoint=result.checkpoint, verify=False)  # the family loader reads it back
    x = data[7][0]
    assert np.array_equal(reloaded.enhance_model_rate(x), model.enhance_model_rate(x))
    resumed = build(card, checkpoint=start, verify=False)
    assert (
        finetune(
            adapter_for(resumed), OneBatch(data), tmp_path / "run", steps=4, batch_size=2, lr=1e-3, progress=False
        ).step
        == 4
    )  # nothing left to do: resumed at step 4


@pytest.mark.parametrize("name", ["dpcrn-dns3-torch", "dpcrn-base-h5"])
def test_dpcrn_h5_conversion_inverts_exactly(name):
    from setoolkit.models.dpcrn.config import load_h5
    from setoolkit.models.dpcrn.enhancer import h5_asset
    from setoolkit.models.dpcrn.torch_convert import from_h5, to_h5_weights

    card = setoolkit.get_card(name)
    cfg = setoolkit.load(name).cfg
    released = load_h5(assets.fetch(h5_asset(card)), cfg)
    back = to_h5_weights(from_h5(released, cfg))
    assert list(back) == list(released)
    assert all(np.array_equal(a, b) for k in released for a, b in zip(released[k], back[k]))


@pytest.mark.slow
def test_dpcrn_port_finetunes_and_saves_a_keras_h5(tmp_path, data):
    """The DPCRN port converted from the official h5 fine-tunes; its checkpoint is a Keras h5 again that the
    port's loader and the TF-native model both read."""
    from setoolkit.models.dpcrn.config import read_h5
    from setoolkit.models.dpcrn.enhancer import build_keras, build_torch

    model = setoolkit.load("dpcrn-dns3-torch")
    adapter = adapter_for(model)
    x = data[7][0]
    with torch.no_grad():
        y = adapter.forward(torch.from_numpy(x)[None])[0].numpy()
    assert np.abs(y - model.enhance_model_rate(x)).max() < 1e-5  # the differentiable path = inference
    result = finetune(
        adapter, OneBatch(data), tmp_path / "run", steps=8, batch_size=2, lr=1e-3, save_every=4, progress=False
    )
    assert np.mean(result.losses[-2:]) < np.mean(result.losses[:2]) - 1.0, result.losses
    assert list(read_h5(result.checkpoint)) == list(read_h5(assets.fetch(model.card.weights[0])))
    reloaded = build_torch(model.card, checkpoint=result.checkpoint)
    tuned = model.enhance_model_rate(x)
    assert np.array_equal(reloaded.enhance_model_rate(x), tuned)
    keras = build_keras(setoolkit.get_card("dpcrn-dns3"), checkpoint=result.checkpoint)
    assert np.abs(keras.enhance_model_rate(x) - tuned).max() < 1e-4
    assert all(p.requires_grad is not name.endswith(".hh.bias") for name, p in model.torch_model.named_parameters())


def test_dtln_port_finetunes_and_saves_a_keras_h5(tmp_path, data):
    """DTLN's PyTorch port (from the official h5): the h5 conversion inverts exactly, the differentiable path
    equals inference, the loss falls, and the checkpoint (a Keras h5 again) reloads to identical outputs."""
    from setoolkit.models.dtln.network import build, h5_layers, to_h5_weights

    model = setoolkit.load("dtln")
    released = h5_layers(str(assets.fetch(model.card.weights[0])))
    back = to_h5_weights(model.backend.net, str(assets.fetch(model.card.weights[0])))
    assert list(back) == list(released)
    assert all(np.array_equal(a, b) for k in released for a, b in zip(released[k], back[k]))
    adapter = adapter_for(model)
    x = data[7][0]
    with torch.no_grad():
        assert np.abs(adapter.forward(torch.from_numpy(x)[None])[0].numpy() - model.enhance_model_rate(x)).max() < 1e-5
    result = finetune(
        adapter, OneBatch(data), tmp_path / "run", steps=6, batch_size=2, lr=1e-3, save_every=3, progress=False
    )
    assert np.mean(result.losses[-2:]) < np.mean(result.losses[:2]) - 1.0, result.losses
    assert list(h5_layers(str(result.checkpoint))) == list(released)
    assert np.array_equal(
        build(model.card, checkpoint=result.checkpoint).enhance_model_rate(x), model.enhance_model_rate(x)
    )


def test_non_torch_family_is_refused():
    from setoolkit.errors import ModelError

    with pytest.raises(ModelError, match="fine-tuning supports the PyTorch families"):
        adapter_for("nsnet2")
    with pytest.raises(ModelError, match="float PyTorch port"):
        adapter_for("dpcrn-quant")
    with pytest.raises(ModelError, match="PyTorch port of the h5"):
        adapter_for("dtln-onnx")
