"""Weights files: nothing wrong gets in silently. A diverged run's NaNs, integer
tensors for float parameters (export would truncate them) and pickles (never
unpickled: that runs code) are refused, naming the file and the tensors; a file
that loads changes nothing about the module's names or values."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import save_file  # noqa: E402

from archc.runtime.weights import WeightsError, load_weights, save_weights  # noqa: E402


def _module() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


def test_a_saved_module_loads_back_exactly(tmp_path):
    source, target = _module(), _module()
    torch.nn.init.normal_(source[0].weight)
    save_weights(source, tmp_path / "w.safetensors")
    load_weights(target, tmp_path / "w.safetensors")
    for k, v in source.state_dict().items():
        assert torch.equal(v, target.state_dict()[k])


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensors(tmp_path, value):
    state = _module().state_dict()
    state["0.weight"] = torch.full_like(state["0.weight"], value)
    save_file(state, tmp_path / "diverged.safetensors")
    target = _module()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(WeightsError, match=r"diverged.safetensors: NaN or infinite .*0\.weight"):
        load_weights(target, tmp_path / "diverged.safetensors")
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())


def test_integer_tensors_for_float_parameters_are_refused(tmp_path):
    state = _module().state_dict()
    state["1.running_mean"] = state["1.running_mean"].to(torch.int32)
    save_file(state, tmp_path / "ints.safetensors")
    with pytest.raises(WeightsError, match=r"integer tensors .*1\.running_mean \(torch\.int32"):
        load_weights(_module(), tmp_path / "ints.safetensors")


@pytest.mark.parametrize("zipped", [True, False])
def test_a_pickle_is_refused_without_being_read(tmp_path, zipped):
    path = tmp_path / "model.pt"
    torch.save(_module().state_dict(), path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(WeightsError, match=r"model\.pt: a pickle or torch\.save file; archc reads"):
        load_weights(_module(), path)


def _with_header_length(tmp_path, length: int):
    """A valid safetensors file whose header is `length` bytes long (padded with metadata)."""
    from safetensors.torch import save

    module = _module()
    for pad in range(length):
        data = save(module.state_dict(), metadata={"pad": "x" * pad})
        if int.from_bytes(data[:8], "little") == length:
            path = tmp_path / "w.safetensors"
            path.write_bytes(data)
            return module, path
    raise AssertionError(f"no padding gives a header of {length} bytes")


@pytest.mark.parametrize("length", [0x280, 0x380, 0x480, 0x580])
def test_a_safetensors_header_length_that_starts_like_a_pickle_loads(tmp_path, length):
    """A header of 640 bytes starts the file with 0x80 0x02, a pickle's first two
    bytes: the file is still read as the safetensors file it is."""
    source, path = _with_header_length(tmp_path, length)
    target = _module()
    load_weights(target, path)
    for k, v in source.state_dict().items():
        assert torch.equal(v, target.state_dict()[k])
