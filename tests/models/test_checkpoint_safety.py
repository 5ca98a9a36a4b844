"""``load_torch_checkpoint`` loads tensors and plain values and refuses code, on torch 1.13 (its own restricted
unpickler: torch 1.13's weights-only one lacks BINFLOAT, which GTCRN's released ``.tar`` uses) and on torch 2.x."""

import os

import pytest
import torch

from setoolkit.errors import AssetError
from setoolkit.models.common.checkpoints import load_torch_checkpoint

pytestmark = pytest.mark.torch_compat


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this checkpoint ran code",))


@pytest.mark.parametrize("zipped", [True, False])
def test_code_in_a_checkpoint_is_refused(tmp_path, zipped):
    path = tmp_path / "evil.pt"
    torch.save({"x": _RunsCode()}, path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(AssetError, match="evil.pt: not a loadable torch checkpoint"):
        load_torch_checkpoint(path)


@pytest.mark.parametrize("zipped", [True, False])
def test_tensors_floats_and_dicts_load(tmp_path, zipped):
    path = tmp_path / "ok.pt"
    torch.save({"model": {"w": torch.arange(3.0)}, "epoch": 7, "lr": 0.5}, path, _use_new_zipfile_serialization=zipped)
    ckpt = load_torch_checkpoint(path)
    assert ckpt["epoch"] == 7 and ckpt["lr"] == 0.5 and torch.equal(ckpt["model"]["w"], torch.arange(3.0))


def test_released_gtcrn_checkpoint_loads(mirror):
    ckpt = load_torch_checkpoint(mirror / "weights/gtcrn/model_trained_on_dns3.tar")
    assert {"model", "epoch"} <= set(ckpt) and all(torch.is_tensor(v) for v in ckpt["model"].values())
