"""segflow-paper: ResNet-101 FCN-8s + FlowNetS with the official model's bidirectional fusion."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from segflow_cli.errors import WeightsError
from segflow_cli.models import segflow_paper
from segflow_cli.models.paper import PaperConfig, SegFlowPaper
from segflow_cli.models.paper.flownets import DIV_FLOW, FlowNetS, normalize_pair
from segflow_cli.models.paper.fusion import pool_and_crop
from segflow_cli.models.paper.resnet_fcn import ResNetTrunk
from segflow_cli.ops import InputPadder


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.fixture(scope="module")
def model() -> SegFlowPaper:
    torch.manual_seed(0)
    return segflow_paper().eval()


def _pair(b: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(b, 3, h, w, generator=g), torch.rand(b, 3, h, w, generator=g)


def test_parameter_count_matches_the_paper_model(model):
    total = _count(model)
    assert abs(total - 81.0e6) / 81.0e6 < 0.02, total
    assert abs(_count(model.trunk) - 42.5e6) < 0.1e6  # torchvision resnet101 without avgpool/fc
    assert abs(_count(model.flownet) - 38.68e6) < 0.05e6  # standard FlowNetS
    assert isinstance(model.config, PaperConfig) and dataclasses.is_dataclass(model.config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.flow_residual = False  # type: ignore[misc]


@pytest.mark.parametrize("shape", [(2, 3, 64, 96), (1, 3, 70, 100)])
@torch.no_grad()
def test_forward_shapes_pad_and_unpad(model, shape):
    b, _, h, w = shape
    im1, im2 = _pair(b, h, w)
    out = model(im1, im2)
    hp, wp = InputPadder(shape, stride=64).padded_size
    assert out.seg_logits.shape == (b, 1, h, w)
    assert out.flow.shape == (b, 2, h, w)
    assert [tuple(f.shape[-2:]) for f in out.flow_preds] == [(hp // s, wp // s) for s in (64, 32, 16, 8, 4, 1)]
    assert [tuple(s.shape) for s in out.seg_preds] == [(b, 1, hp // s, wp // s) for s in (32, 16, 8)]
    assert torch.isfinite(out.seg_logits).all() and torch.isfinite(out.flow).all()
    # The returned flow is the padded full-size prediction cropped back, not resized.
    padder = InputPadder(shape, stride=64)
    assert torch.equal(padder.unpad(out.flow_preds[-1]), out.flow)


@torch.no_grad()
def test_flow_preds_are_flownet_outputs_in_pixels(model):
    im1, im2 = _pair(1, 64, 128)  # already a multiple of 64: no padding
    out = model(im1, im2)
    raw, _ = model.flownet(normalize_pair(im1, im2))
    for pred, r in zip(out.flow_preds[:-1], raw):
        torch.testing.assert_close(pred, r * DIV_FLOW)
    # flow_residual: the final flow is flow2 upsampled plus the fused head's correction.
    up = F.interpolate(out.flow_preds[-2], size=(64, 128), mode="bilinear", align_corners=False)
    fused = model.fusion(model.trunk(im1), model.flownet(normalize_pair(im1, im2))[1])
    torch.testing.assert_close(out.flow, up + model.flow_head(fused, size=(64, 128)))
    assert torch.equal(model.flow(im1, im2), out.flow)  # the flow alone is the forward pass's


@torch.no_grad()
def test_prior_folds_objects_and_untrained_injection_is_neutral(model):
    im1, im2 = _pair(2, 64, 96)
    prior = torch.zeros(2, 2, 64, 96)
    prior[:, 0, 10:40, 20:60] = 1.0
    base = model(im1, im2).seg_logits
    out = model(im1, im2, prior=prior)
    assert out.seg_logits.shape == (2, 2, 64, 96)
    torch.testing.assert_close(out.seg_logits, base.expand(-1, 2, -1, -1))  # zero-initialised injection
    conv = model.prior_injection.convs["8"]
    try:
        conv.weight.normal_(std=1.0)  # a trained injection must make the objects differ
        out = model(im1, im2, prior=prior).seg_logits
        assert (out[:, 0] - out[:, 1]).abs().max() > 1e-3
        prev = model(im1, im2, prev_probs=prior).seg_logits
        assert prev.shape == (2, 2, 64, 96) and (prev - base).abs().max() > 1e-3
    finally:
        conv.weight.zero_()


def test_shape_and_argument_errors(model):
    a = torch.rand(1, 3, 480, 854)
    with pytest.raises(ValueError, match=r"\(1, 3, 480, 854\).*\(1, 3, 480, 853\)"):
        model(a, torch.rand(1, 3, 480, 853))
    im1, im2 = _pair(1, 64, 64)
    with pytest.raises(ValueError, match="prior"):
        model(im1, im2, prior=torch.rand(1, 1, 32, 64))
    with pytest.raises(ValueError, match="flow_init"):
        model(im1, im2, flow_init=torch.zeros(1, 2, 64, 64))
    with pytest.raises(ValueError, match="not both"):
        model(im1, im2, prior=torch.rand(1, 1, 64, 64), prev_probs=torch.rand(1, 1, 64, 64))
    with pytest.raises(ValueError, match="multiples of 64"):
        FlowNetS()(torch.rand(1, 6, 64, 96))


def test_pool_and_crop_matches_the_target_grid():
    like = torch.zeros(1, 1, 3, 5)
    assert pool_and_crop(torch.rand(1, 4, 6, 10), like).shape == (1, 4, 3, 5)
    assert pool_and_crop(torch.rand(1, 4, 8, 8), like).shape == (1, 4, 3, 5)  # crop h, pad w


def test_pretrained_trunk_without_cached_weights_is_a_weights_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(WeightsError, match="trunk_pretrained=False"):
        ResNetTrunk(pretrained=True)


def test_config_names_the_pretrained_trunk_as_lite_does():
    """One name (trunk_pretrained) in both configs; a config written with the old name still reads."""
    assert PaperConfig().trunk_pretrained is False and "trunk_pretrained" in PaperConfig().to_dict()
    assert PaperConfig.from_dict({"pretrained_trunk": True, "flow_residual": False}) == PaperConfig(
        trunk_pretrained=True, flow_residual=False)


def test_training_step_crosses_both_branches():
    torch.manual_seed(0)
    m = segflow_paper().train()
    im1, im2 = _pair(2, 64, 64)
    target = (torch.rand(2, 1, 64, 64) > 0.5).float()
    gt_flow = torch.randn(2, 2, 64, 64)

    def losses():
        out = m(im1, im2)
        seg = F.binary_cross_entropy_with_logits(out.seg_logits, target)
        flow = sum(torch.linalg.vector_norm(F.interpolate(f, size=(64, 64), mode="bilinear") - gt_flow, dim=1).mean()
                   for f in out.flow_preds)
        return seg, flow

    trunk_first = m.trunk.stem[0].weight  # the very first ResNet conv
    flow_first = m.flownet.encoder.conv1[0].weight  # the very first FlowNetS conv
    seg, flow = losses()
    (g_trunk,) = torch.autograd.grad(flow, trunk_first, retain_graph=True)
    assert g_trunk.abs().sum() > 0  # flow loss -> segmentation trunk
    (g_flow,) = torch.autograd.grad(seg, flow_first)
    assert g_flow.abs().sum() > 0  # segmentation loss -> flow encoder

    watched = {
        "trunk": trunk_first, "flow encoder": flow_first, "flow decoder": m.flownet.decoder.predict_flow2.weight,
        "seg head": m.seg_head.score["32"].weight, "flow head": m.flow_head.head.score["8"].weight,
    }
    before = {k: p.detach().clone() for k, p in watched.items()}
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    opt.zero_grad()
    seg, flow = losses()
    (seg + flow).backward()
    opt.step()
    for k, p in watched.items():
        assert not torch.equal(before[k], p.detach()), f"{k} did not change"


@pytest.mark.slow
@torch.no_grad()
def test_full_size_davis_frame(model):
    im1, im2 = _pair(1, 480, 854)
    out = model(im1, im2)
    assert out.seg_logits.shape == (1, 1, 480, 854) and out.flow.shape == (1, 2, 480, 854)
    assert out.flow_preds[-1].shape[-2:] == (512, 896)
    assert torch.isfinite(out.seg_logits).all() and torch.isfinite(out.flow).all()
