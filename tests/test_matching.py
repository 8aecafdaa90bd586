"""First-frame matching: the scores find the object, the decoder reads them, training and the video
session feed the reference frame, and weights that predate matching still load."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segflow_cli.errors import WeightsError
from segflow_cli.models import LiteConfig, build_model, model_config_dict, segflow_lite
from segflow_cli.models.lite.matching import MATCH_CHANNELS, make_memory, match


def _embedding(obj_box, h=12, w=16):
    """(1, 2, h, w) unit vectors: [0, 1] inside obj_box (y0, y1, x0, x1), [1, 0] elsewhere."""
    e = torch.zeros(1, 2, h, w)
    e[:, 0] = 1
    y0, y1, x0, x1 = obj_box
    e[:, :, y0:y1, x0:x1] = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1)
    return e


def test_scores_find_the_object_where_it_moved():
    ref = _embedding((2, 6, 2, 6))
    mask = torch.zeros(1, 1, 12, 16)
    mask[..., 2:6, 2:6] = 1
    memory = make_memory(ref, mask)
    cur = _embedding((5, 9, 9, 13))  # the same object, elsewhere in the current frame
    scores = match(memory, cur, topk=3)
    assert scores.shape == (1, MATCH_CHANNELS, 12, 16)
    diff = scores[0, 2]
    inside = torch.zeros(12, 16, dtype=torch.bool)
    inside[5:9, 9:13] = True
    assert torch.allclose(diff[inside], torch.ones(16)) and torch.allclose(diff[~inside], -torch.ones(176))  # cos 1 vs 0
    assert torch.allclose(scores[0, 2], scores[0, 0] - scores[0, 1])


def test_grouped_memory_equals_masked_matching():
    """Matching on label-grouped columns gives exactly the masked top-k over all columns."""
    torch.manual_seed(0)
    ref, cur = F.normalize(torch.randn(2, 8, 6, 10), dim=1), F.normalize(torch.randn(2, 8, 6, 10), dim=1)
    ids = torch.randint(0, 3, (2, 1, 6, 10))
    masks = torch.cat([(ids == 1), (ids == 2)], 1).float()
    scores = match(make_memory(ref, masks), cur, topk=4).reshape(2, 2, MATCH_CHANNELS, 60)
    sim = torch.einsum("bcn,bcm->bnm", cur.flatten(2), ref.flatten(2))
    for o in range(2):
        inside = masks[:, o].flatten(1)[:, None, :] > 0.5
        fg = sim.masked_fill(~inside, -1).topk(4, dim=-1).values.mean(-1)
        bg = sim.masked_fill(inside, -1).topk(4, dim=-1).values.mean(-1)
        assert torch.allclose(scores[:, o, 0], fg, atol=1e-6) and torch.allclose(scores[:, o, 1], bg, atol=1e-6)


def test_objects_fold_into_the_batch_in_prior_order():
    ref = _embedding((2, 6, 2, 6))
    masks = torch.zeros(1, 2, 12, 16)
    masks[:, 0, 2:6, 2:6] = 1  # object 1: the [0, 1] patch
    masks[:, 1, 8:12, 10:16] = 1  # object 2: a piece of the [1, 0] background
    scores = match(make_memory(ref, masks), ref, topk=3)
    assert scores.shape == (2, MATCH_CHANNELS, 12, 16)
    assert scores[0, 2, 3, 3] > 0.5 and scores[1, 2, 3, 3] < 0  # patch pixel: object 1's, not object 2's


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return segflow_lite(trunk_pretrained=False).eval()


def test_new_matching_layers_start_silent_and_are_wired(model):
    a, b = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
    prior = torch.rand(1, 2, 64, 96)
    reference = model.encode_reference(b, (prior > 0.5).float())
    with torch.no_grad():
        plain = model(a, b, prior=prior).seg_logits
        silent = model(a, b, prior=prior, reference=reference).seg_logits
    assert torch.equal(plain, silent)  # zero-initialised: adding matching changes nothing yet
    moved = segflow_lite(trunk_pretrained=False).eval()
    moved.load_state_dict(model.state_dict())
    moved.seg_decoder.match_gain.data.fill_(0.1)  # the direct logit term alone changes the output
    with torch.no_grad():
        ref_moved = moved.encode_reference(b, (prior > 0.5).float())
        skip_only = moved(a, b, prior=prior, reference=ref_moved).seg_logits
    assert not torch.allclose(skip_only, plain)
    for conv in moved.seg_decoder.match_enc.values():
        torch.nn.init.normal_(conv.weight, std=0.5)
    moved.seg_decoder.head[-1].weight.data.normal_()
    with torch.no_grad():
        used = moved(a, b, prior=prior, reference=ref_moved).seg_logits
        without = moved(a, b, prior=prior).seg_logits
    assert not torch.allclose(used, without) and not torch.allclose(used, skip_only)
    with pytest.raises(ValueError, match="2 objects"):
        moved(a, b, prior=prior[:, :1], reference=reference)


def test_cards_without_the_field_describe_nets_without_matching(model):
    old = model_config_dict(model)
    old.pop("reference_matching")
    net = build_model("segflow-lite", config={**old, "trunk_pretrained": False})
    assert not net.config.reference_matching and len(net.seg_decoder.match_enc) == 0
    assert net.seg_decoder.match_gain is None
    assert LiteConfig().reference_matching and len(model.seg_decoder.match_enc) == 3
    assert model.seg_decoder.match_gain is not None  # part of the decoder, so the seg phase trains it


def test_init_from_weights_without_matching(tmp_path, build_from_init):
    """--init from weights that predate matching keeps their tensors and adds fresh matching layers."""
    from segflow_cli.train import TrainConfig
    from segflow_cli.train.loop import build
    from segflow_cli.weights import save_weights

    old, net = build_from_init(seed=1, reference_matching=False)
    assert torch.equal(net.seg_decoder.head[0][0].weight, old.seg_decoder.head[0][0].weight)
    assert all(c.weight.abs().sum() == 0 for c in net.seg_decoder.match_enc.values())
    assert net.seg_decoder.match_gain.item() == 0.0
    bad = segflow_lite(trunk_pretrained=False, decoder_channels=32)
    save_weights(bad, tmp_path / "bad.safetensors", half=False)
    with pytest.raises(WeightsError, match="does not fit"):
        build(TrainConfig(out=tmp_path / "run", init=str(tmp_path / "bad.safetensors")))


def test_init_keeps_the_warm_start_its_flow_branch_was_trained_on(tmp_path, monkeypatch):
    """--init from weights with another warm start (flow_init) trains on that warm start, and the
    export says so: the loop's transform is the init's (a run from "dis-fine" weights on DIS-medium
    inputs would fit the flow residual to the wrong warm start)."""
    from segflow_cli.models import transform_for
    from segflow_cli.train import TrainConfig
    from segflow_cli.train.loop import build
    from segflow_cli.weights import save_weights

    import segflow_cli.models as models

    monkeypatch.setattr(models, "segflow_lite", lambda **kw: segflow_lite(trunk_pretrained=False, **kw))
    for flow_init in ("dis-fine", "none"):
        path = tmp_path / f"{flow_init}.safetensors"
        save_weights(segflow_lite(trunk_pretrained=False, flow_init=flow_init), path, half=False)
        net = build(TrainConfig(out=tmp_path / "run", init=str(path)))
        assert net.config.flow_init == flow_init and transform_for(net).flow_init == flow_init
    assert build(TrainConfig(out=tmp_path / "run")).config.flow_init == "dis"  # no init: the default
    # The gates' settings come with the init too (the shipped card's, not today's defaults).
    path = tmp_path / "gates.safetensors"
    save_weights(segflow_lite(trunk_pretrained=False, flow_gate=5.0, memory_gate_focus=2.0, memory_frame_max=False,
                              memory_flow_windows=False, memory_long_penalty=0.03, flow_select_radius=3, flow_select_max=9.0),
                 path, half=False)
    net = build(TrainConfig(out=tmp_path / "run", init=str(path)))
    assert (net.config.flow_gate, net.config.memory_gate_focus) == (5.0, 2.0)
    assert (net.config.flow_select_radius, net.config.flow_select_max) == (3, 9.0)  # the flow selection too
    # ... and the memory readout's rules (the shipped card reads its windows in place)
    assert (net.config.memory_frame_max, net.config.memory_flow_windows) == (False, False)
    assert net.config.readout.long_window_penalty == 0.03  # the card's penalty reaches the readout
    from segflow_cli.models.lite.config import LiteConfig

    assert LiteConfig.from_dict({}).readout.long_window_penalty == 0.0  # old cards: the plain global read


def test_init_of_the_paper_network_keeps_its_config(tmp_path):
    """The paper network has no flow_init field (a property: it takes no warm start); --init with its
    weights loads them instead of failing on that field."""
    import torch

    from segflow_cli.models import segflow_paper
    from segflow_cli.train import TrainConfig
    from segflow_cli.train.loop import build
    from segflow_cli.weights import save_weights

    path = tmp_path / "paper.safetensors"
    model = segflow_paper(trunk_pretrained=False)
    save_weights(model, path, half=False)
    net = build(TrainConfig(out=tmp_path / "run", model="paper", init=str(path)))
    assert net.config == model.config
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), model.state_dict().values()))


def test_training_pairs_carry_the_reference_of_the_same_object():
    from segflow_cli.data import SceneConfig, SyntheticScenes
    from segflow_cli.train.samples import TrainPairs

    clips = SyntheticScenes(SceneConfig(size=(96, 64), frames=4, tracking=True), length=4, seed=3)
    pairs = TrainPairs(clips, seed=0)  # the default transform: no warm start
    for i in range(4):
        item, clip = pairs[i], clips[i]
        assert item["ref_image"].shape == (3, 64, 96) and torch.equal(item["ref_image"], clip["frames"][3])
        if item["has_seg"]:
            oid = int(clip["masks"][0][item["target"][0] > 0.5][0])
            assert torch.equal(item["ref_mask"][0], (clip["masks"][3] == oid).float())


def test_session_matches_against_the_annotated_frame(monkeypatch):
    """The session builds the reference memory once from the first frame and passes it every step."""
    from segflow_cli.inference import PairRunner, VideoSession

    runner = PairRunner(segflow_lite(trunk_pretrained=False), device="cpu", max_size=96)
    seen = []
    run = runner.run
    monkeypatch.setattr(runner, "run", lambda *a, **kw: seen.append(kw.get("reference")) or run(*a, **kw))
    frames = [np.random.default_rng(i).integers(0, 255, (64, 96, 3), dtype=np.uint8) for i in range(3)]
    mask = np.zeros((64, 96), np.uint8)
    mask[10:30, 10:40], mask[40:60, 50:90] = 1, 2
    list(VideoSession(runner, method="segflow").propagate(frames, first_mask=mask))
    assert len(seen) == 2 and seen[0] is seen[1] and seen[0].objects == 2
    first = runner.prepare(frames[0], (96, 64))[1]
    expected = runner.model.encode_reference(first, torch.stack([torch.from_numpy(mask == i).float() for i in (1, 2)])[None])
    assert torch.equal(seen[0].bounds, expected.bounds) and torch.allclose(seen[0].emb, expected.emb, atol=1e-5)
    cells = F.adaptive_avg_pool2d(torch.stack([torch.from_numpy(mask == i).float() for i in (1, 2)]), (8, 12))
    owned = [int((cells[i] > 0.5).sum()) for i in (0, 1)]  # cells of the 12x8 stride-8 grid each object owns
    assert seen[0].bounds[0].diff().tolist() == [96 - sum(owned), *owned] and min(owned) > 0


def test_lost_priors_really_lose_the_object():
    """Hard training priors (lose_mask) overlap the object by less than half: the prior alone cannot
    give the answer, so the network must take it from the reference."""
    from segflow_cli.data.priors import lose_mask

    mask = np.zeros((64, 96), np.uint8)
    mask[20:40, 30:60] = 1
    rng = np.random.default_rng(0)
    for _ in range(30):
        p = lose_mask(mask, rng) > 0.5
        inter, union = (p & (mask > 0)).sum(), (p | (mask > 0)).sum()
        assert inter / union < 0.5 and p.shape == mask.shape
