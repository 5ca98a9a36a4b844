"""SEGAN+: the released checkpoint layout, the generator against an independent functional reference, whole-file
slicing with (de-)emphasis, and the no-published-hash opt-in.

The official segan+_generator.ckpt cannot be obtained on these machines: every checkpoint here has the released
key names and shapes with random values. These tests prove the loader and the computation, not the quality.
"""

import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import setoolkit
from setoolkit.errors import AssetError
from setoolkit.models.segan.network import SeganGenerator, build, de_emphasis, pre_emphasis, upstream_scale

CARD = setoolkit.get_card("segan-plus")
K = 31

#: Keys and shapes of upstream's Generator(1, [64, 128, 256, 512, 1024], 31, [4] * 5, z_dim=1024, skip_type="alpha",
#: skip_merge="concat", bias=True) -- the configuration of ckpt_segan+/train.opts -- in state_dict order.
RELEASED = OrderedDict(
    [
        (f"enc_blocks.{i}.{n}", s)
        for i, (cin, c) in enumerate([(1, 64), (64, 128), (128, 256), (256, 512), (512, 1024)])
        for n, s in [("conv.weight", (c, cin, K)), ("conv.bias", (c,)), ("act.weight", (c,))]
    ]
    + [(f"alpha_{i}.skip_k", (1, c, 1)) for i, c in enumerate([64, 128, 256, 512])]
    + [
        (f"dec_blocks.{i}.{n}", s)
        for i, (cin, c) in enumerate([(2048, 512), (1024, 256), (512, 128), (256, 64), (128, 1)])
        for n, s in [("deconv.weight", (cin, c, K)), ("deconv.bias", (c,)), ("act.weight", (c,))]
        if (i, n) != (4, "act.weight")
    ]
)  # the output block's tanh has no parameters


def _random_state(seed=0):
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in RELEASED.items():
        if key.endswith("skip_k"):
            state[key] = 1 + 0.1 * torch.randn(shape, generator=g)
        elif key.endswith("act.weight"):
            state[key] = 0.2 * torch.rand(shape, generator=g)
        else:  # upstream's init: N(0, 0.02)
            state[key] = 0.02 * torch.randn(shape, generator=g)
    return state


@pytest.fixture(scope="module")
def state():
    return _random_state()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, state):
    """Upstream Saver format: {"step": ..., "state_dict": G.state_dict()}."""
    path = tmp_path_factory.mktemp("segan") / "segan+_generator.ckpt"
    torch.save({"step": 123, "state_dict": state}, path)
    return path


@pytest.fixture(scope="module")
def model(ckpt):
    return build(CARD, checkpoint=ckpt, verify=False)


def _reference_generator(state, x, z):
    """Upstream's Generator.forward for train.opts, written out with functional ops in float64."""
    st = {k: v.double() for k, v in state.items()}
    h, skips = x.double(), []
    for i in range(5):
        a = F.conv1d(
            F.pad(h, (K // 2 - 1, K // 2), mode="reflect"),
            st[f"enc_blocks.{i}.conv.weight"],
            st[f"enc_blocks.{i}.conv.bias"],
            stride=4,
        )
        skips.append(a)
        h = F.prelu(a, st[f"enc_blocks.{i}.act.weight"])
    h = torch.cat([z.double(), h], 1)
    for i in range(5):
        if i > 0:
            h = torch.cat([h, st[f"alpha_{4 - i}.skip_k"] * skips[4 - i]], 1)
        h = F.conv_transpose1d(
            h, st[f"dec_blocks.{i}.deconv.weight"], st[f"dec_blocks.{i}.deconv.bias"], stride=4, padding=13
        )[..., :-1]
        h = torch.tanh(h) if i == 4 else F.prelu(h, st[f"dec_blocks.{i}.act.weight"])
    return h


# ------------------------------------------------------------------------------------------- layout


def test_key_layout_is_the_released_one():
    got = OrderedDict((k, tuple(v.shape)) for k, v in SeganGenerator().state_dict().items())
    assert got == RELEASED
    assert CARD.params == sum(int(np.prod(s)) for s in RELEASED.values()) == 64_770_561


@pytest.mark.parametrize("variant", ["saver", "bare", "legacy-serialization", "old-key-names"])
def test_checkpoint_formats_load_every_value(tmp_path, state, variant):
    path = tmp_path / "g.ckpt"
    if variant == "saver":
        torch.save({"step": 1, "state_dict": state, "optimizer": {"state": {}, "param_groups": []}}, path)
    elif variant == "bare":
        torch.save(state, path)
    elif variant == "legacy-serialization":  # torch < 1.6 files (upstream requires torch 0.4.1)
        torch.save({"step": 1, "state_dict": state}, path, _use_new_zipfile_serialization=False)
    else:  # the names upstream's weightG_fmt_converter.py renames
        old = {
            k.replace("enc_blocks.", "gen_enc.").replace("dec_blocks.", "gen_dec.").replace(".deconv.", ".conv."): v
            for k, v in state.items()
        }
        torch.save({"state_dict": old}, path)
    net = build(CARD, checkpoint=path, verify=False).net
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key


# ------------------------------------------------------------------------------------------ compute


def test_generator_equals_functional_reference_on_two_threads(model, state):
    """Also guards against oneDNN's multi-threaded transposed conv, wrong for these shapes in torch 2.11."""
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        g = torch.Generator().manual_seed(1)
        x, z = 0.3 * torch.randn(2, 1, 16384, generator=g), torch.randn(2, 1024, 16, generator=g)
        with torch.inference_mode():
            ours = model.net(x, z)
        ref = _reference_generator(state, x, z)
    finally:
        torch.set_num_threads(n)
    assert ours.shape == (2, 1, 16384)
    assert (ours.double() - ref).abs().max() < 1e-5
    assert ref.abs().max() > 0.05


def test_whole_file_is_sliced_emphasised_and_joined(model, data):
    from setoolkit.audio import read

    x, sr = read(data / "vbd16k/noisy/p232_013.wav")
    x = x[0][:40000]  # 2 full slices + a zero-padded third
    y = model.enhance_model_rate(x)
    assert y.shape == x.shape and y.dtype == np.float32
    # by hand: pre-emphasis of upstream's input scaling, slices, G with the model's z, join, de-emphasis
    pre = np.zeros(3 * 16384, dtype=np.float32)
    pre[:40000] = pre_emphasis(upstream_scale(x), 0.95)
    with torch.inference_mode():
        g = model.net(torch.from_numpy(pre).view(3, 1, 16384), model.z.expand(3, -1, -1))
    assert np.abs(y - de_emphasis(g.reshape(-1)[:40000].numpy(), 0.95)).max() < 1e-5
    # slices are independent and de-emphasis is causal: changing the third slice leaves the first two
    x2 = x.copy()
    x2[2 * 16384 :] = 0
    assert np.array_equal(model.enhance_model_rate(x2)[: 2 * 16384], y[: 2 * 16384])
    # deterministic (z drawn once per model), any length
    assert np.array_equal(model.enhance_model_rate(x), y)
    assert model.enhance_model_rate(x[:1000]).shape == (1000,)


def test_emphasis_helpers():
    x = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    assert np.abs(de_emphasis(pre_emphasis(x)) - x).max() < 1e-5
    assert np.allclose(upstream_scale(np.array([-32768, 0, 32767]) / 32768), [-1, 1 / 65535, 1], atol=1e-7)


def test_48k_in_16k_model_48k_out(model):
    x = 0.1 * np.random.default_rng(0).standard_normal((1, 48000)).astype(np.float32)
    y = model.enhance(x, 48000)
    assert y.shape == x.shape and np.all(np.isfinite(y))


# ------------------------------------------------------------------------------------------- errors


def test_no_published_hash_needs_explicit_opt_in(tmp_path, ckpt, monkeypatch):
    import pooch

    def no_download(*args, **kwargs):
        raise AssertionError("must not download a file it cannot verify")

    monkeypatch.setattr(pooch, "retrieve", no_download)
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(AssetError, match=r"no published sha256.*veu\.talp\.cat.*verify=False"):
        setoolkit.load("segan-plus")
    with pytest.raises(AssetError, match=re.escape(f"no published sha256, so checkpoint {ckpt} cannot be verified")):
        setoolkit.load("segan-plus", checkpoint=ckpt)
    mirror = tmp_path / "mirror"
    (mirror / "weights/segan").mkdir(parents=True)
    (mirror / "weights/segan/segan+_generator.ckpt").symlink_to(ckpt)
    assert setoolkit.load("segan-plus", mirror=mirror, verify=False).name == "segan-plus"


def test_offline_with_opt_in_names_the_url(tmp_path, monkeypatch):
    import pooch

    def offline(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch, "retrieve", offline)
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path))
    with pytest.raises(
        AssetError,
        match=r"weights/segan/segan\+_generator\.ckpt: cannot download "
        r"http://veu\.talp\.cat/seganp/release_weights/segan\+_generator\.ckpt",
    ):
        setoolkit.load("segan-plus", mirror=tmp_path / "empty", verify=False)


@pytest.mark.slow
def test_wrong_architecture_names_first_mismatching_key(tmp_path, state):
    small = OrderedDict((k, v[..., :11] if k.endswith("conv.weight") else v) for k, v in state.items())
    torch.save({"state_dict": small}, tmp_path / "k11.ckpt")
    with pytest.raises(
        AssetError,
        match=r"does not fit segan-plus.*first: key 'enc_blocks\.0\.conv\.weight': "
        r"checkpoint shape \(64, 1, 11\), model expects \(64, 1, 31\)",
    ):
        build(CARD, checkpoint=tmp_path / "k11.ckpt", verify=False)
    no_skip = OrderedDict((k, v) for k, v in state.items() if not k.startswith("alpha_"))
    torch.save(no_skip, tmp_path / "noskip.ckpt")
    with pytest.raises(AssetError, match=r"first: missing key 'alpha_0\.skip_k'"):
        build(CARD, checkpoint=tmp_path / "noskip.ckpt", verify=False)
    with_d = OrderedDict(state, **{"fc.0.weight": torch.zeros(256, 16384)})
    torch.save(with_d, tmp_path / "withd.ckpt")
    with pytest.raises(AssetError, match=r"first: unexpected key 'fc\.0\.weight'"):
        build(CARD, checkpoint=tmp_path / "withd.ckpt", verify=False)


def test_corrupt_checkpoint_fails_cleanly(tmp_path, ckpt):
    bad = tmp_path / "truncated.ckpt"
    with open(ckpt, "rb") as f:
        bad.write_bytes(f.read(1 << 20))
    with pytest.raises(AssetError, match=re.escape(f"{bad}: not a loadable torch checkpoint")):
        build(CARD, checkpoint=bad, verify=False)
