import pytest
import torch

from segflow_cli.errors import SegflowError
from segflow_cli.ops import InputPadder
from segflow_cli.policy import autocast, check_precision, resolve_device


def test_auto_device_is_usable():
    dev = resolve_device("auto")
    assert torch.zeros(1, device=dev).device.type == dev.type
    assert resolve_device("cpu").type == "cpu"


def test_unavailable_device_is_a_one_line_error():
    if not torch.cuda.is_available():
        with pytest.raises(SegflowError, match="no CUDA"):
            resolve_device("cuda")
    with pytest.raises(SegflowError, match="unknown device"):
        resolve_device("tpu")


def test_precision_policy():
    cpu = torch.device("cpu")
    with pytest.raises(SegflowError, match="fp16"):
        check_precision("fp16", cpu)
    with pytest.raises(SegflowError, match="unknown precision"):
        check_precision("fp8", cpu)
    import segflow_cli.policy as policy

    policy._warned.clear()
    with pytest.warns(policy.PrecisionWarning, match="bf16 on the CPU"):  # about 8x slower there: fp32 instead
        assert check_precision("bf16", cpu) == "fp32"
    with autocast(cpu, "bf16"):
        y = torch.nn.functional.linear(torch.rand(2, 4), torch.rand(3, 4))
    assert y.dtype == torch.float32
    with autocast(cpu, "fp32"):
        assert torch.nn.functional.linear(torch.rand(2, 4), torch.rand(3, 4)).dtype == torch.float32


@pytest.mark.parametrize("h,w,stride", [(480, 854, 32), (33, 47, 8), (64, 64, 32), (1, 1, 64)])
def test_pad_unpad_round_trip(h, w, stride):
    x = torch.rand(2, 3, h, w)
    p = InputPadder(x.shape, stride=stride)
    (y,) = p.pad(x)
    assert y.shape[-2] % stride == 0 and y.shape[-1] % stride == 0
    assert torch.equal(p.unpad(y), x)


def test_padder_checks_sizes():
    p = InputPadder((1, 3, 480, 854), stride=32)
    with pytest.raises(ValueError, match="padder built for"):
        p.pad(torch.rand(1, 3, 480, 850))
    with pytest.raises(ValueError, match="unpad expects"):
        p.unpad(torch.rand(1, 3, 480, 854))
