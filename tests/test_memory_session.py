"""The session's space-time memory: bounded, re-finds a hidden object, trains, and old cards still run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segflow_cli.data.reentry import reentry_clip
from segflow_cli.eval.davis_metrics import region_similarity
from segflow_cli.inference import create_session
from segflow_cli.inference.memory import SpaceTimeMemory


@pytest.fixture(scope="module")
def shipped():
    from segflow_cli.weights import load_model

    return load_model("segflow-lite")[0]


def test_memory_is_bounded_in_video_length():
    from segflow_cli.models.memory import ReadoutConfig, readout

    mem = SpaceTimeMemory(frames=6, every=2)
    key, value = torch.nn.functional.normalize(torch.ones(8, 4, 5), dim=0), torch.zeros(2, 4, 5)
    mem.add_long_term(key, value)
    sizes = {}
    for t in range(1, 1001):
        mem.consider(t, key, value)
        mem.set_positions(mem.state().positions + 0.0)
        readout(key, mem.state(), config=ReadoutConfig(radius=1, tile=2))  # fills the frames' layout caches
        if t in (20, 1000):
            s = mem.state()
            cached = sum(len(c) for c in s.caches)  # the readout's layouts live and go with their frames
            sizes[t] = (len(mem), tuple(s.keys.shape), tuple(s.positions.shape), s.long_keys.shape[1], cached)
    assert sizes[20] == sizes[1000] == (7, (6, 8, 4, 5), (6, 2, 4, 5), 20, 12)  # two layouts a frame


@pytest.mark.parametrize("every,near,kept", [(1, 0, [25, 26, 27, 28, 29, 30]), (3, 0, [15, 18, 21, 24, 27, 30]),
                                              (3, 2, [18, 21, 24, 27, 29, 30]), (3, 6, [25, 26, 27, 28, 29, 30])])
def test_memory_keeps_the_nearest_frames_and_every_few_before_them(every, near, kept):
    """frames=6: the last ``near`` frames whatever their index, before them the frames whose index is a
    multiple of ``every``; each kept frame keeps its own window centres (rows of positions) and its value."""
    mem = SpaceTimeMemory(frames=6, every=every, near=near)
    key = torch.nn.functional.normalize(torch.ones(8, 4, 5), dim=0)
    mem.add_long_term(key, torch.zeros(2, 4, 5))
    for t in range(1, 31):
        mem.consider(t, key, torch.full((2, 4, 5), float(t)))
        # tag every held frame's window centres with its frame index, as the flow would move them
        if mem._recent:  # (every 3, near 0: frames 1 and 2 are not kept)
            mem.set_positions(torch.stack([torch.full((2, 4, 5), float(i)) for _, _, i, _ in mem._recent]))
    s = mem.state()
    assert [i for _, _, i, _ in mem._recent] == kept and len(mem) == 7
    assert s.positions[:, 0, 0, 0].tolist() == kept  # the centres stayed with their frames
    assert s.values[:, 0, 0, 0].tolist() == kept  # and so did their values
    with pytest.raises(ValueError, match="near"):
        SpaceTimeMemory(frames=2, near=3)


def test_memory_power_sharpens_predicted_values_and_leaves_annotated_ones(shipped):
    """memory_power=2: a predicted frame's (background, object) values join the memory squared and
    renormalised (0.6/0.4 -> 0.69/0.31); the annotated frame and power 1 keep them as given; a session
    hands its memory_power to its memory."""
    key = torch.nn.functional.normalize(torch.ones(8, 4, 5), dim=0)
    value = torch.stack([torch.full((4, 5), 0.6), torch.full((4, 5), 0.4)])
    for power, want in ((1.0, 0.4), (2.0, 0.16 / 0.52)):
        mem = SpaceTimeMemory(frames=2, power=power)
        mem.add_long_term(key, value)
        mem.consider(1, key, value)
        s = mem.state()
        assert torch.allclose(s.values[0, 1], torch.full((4, 5), want)) and torch.allclose(s.values[0].sum(0), torch.ones(4, 5))
        assert torch.allclose(s.long_values[1], torch.full((20,), 0.4))
    with pytest.raises(ValueError, match="power"):
        SpaceTimeMemory(power=0.0)
    frames, masks = reentry_clip(size=(96, 64), visible=3, hidden=0, after=0)
    session = create_session(method="propagate", model=shipped, max_size=96, compute_flow=False, memory_power=2.0)
    list(session.propagate(list(frames), first_mask=masks[0]))
    assert session.memory.power == 2.0


def test_session_memory_stays_bounded_and_keeps_the_annotated_frame(shipped):
    frames, masks = reentry_clip(size=(96, 64), visible=30, hidden=0, after=0)
    session = create_session(method="segflow", model=shipped, max_size=96, compute_flow=False, memory_frames=4)
    held = []
    for res in session.propagate(list(frames), first_mask=masks[0]):
        held.append(len(session.memory))
    # the annotated frame from the start; 4 recent frames once the spacing (every 3 after the last 2) fills
    assert held[0] == 1 and held[10] == 5 and max(held) == 5 == held[-1]


def _j_after(session, frames, masks, start):
    res = [r.mask for r in session.propagate(list(frames), first_mask=masks[0])]
    return float(np.mean([region_similarity(masks[i] == 1, res[i] == 1) for i in range(start, len(frames))]))


def test_an_object_hidden_for_25_frames_is_found_again_where_it_reappears(shipped):
    """Flow warping loses it for good; the memory's annotated frame brings it back (J >= 0.6)."""
    frames, masks = reentry_clip(visible=6, hidden=25, after=10, seed=0)
    ours = _j_after(create_session(method="segflow", model=shipped, max_size=192, compute_flow=False), frames, masks, 31)
    warp = _j_after(create_session(method="dis-warp", max_size=192, compute_flow=False), frames, masks, 31)
    assert ours >= 0.6 and warp < 0.2, (ours, warp)


def test_propagate_baseline_reads_the_memory_alone(shipped):
    frames, masks = reentry_clip(visible=6, hidden=25, after=10, seed=1)
    session = create_session(method="propagate", model=shipped, max_size=192, compute_flow=False)
    assert _j_after(session, frames, masks, 31) >= 0.6


def test_training_with_memory_trains_the_warp_input_and_lowers_the_loss():
    """A seg step reads a two-frame memory per sample; the flow-warped prior's encoder learns."""
    from segflow_cli.train import TrainConfig
    from segflow_cli.train.data import train_pairs
    from segflow_cli.models import transform_for
    from segflow_cli.train.loop import build, make_optimizer, set_phase, step_loss

    torch.manual_seed(0)
    cfg = TrainConfig(out="unused", size=(64, 64), batch_size=2, workers=0, train_samples=2, warmup=1, lr=2e-3, steps=12)
    model = build(cfg)
    assert model.config.memory_decoder and model.config.memory_prior == "readout"
    ds = train_pairs(cfg, transform=transform_for(model))  # the DIS warm start, as training gives it
    batch = {k: torch.stack([ds[i][k] for i in range(2)]) for k in ds[0]}
    opt, _ = make_optimizer(model, cfg)
    set_phase(model, "seg")
    losses = []
    for _ in range(12):
        loss, _ = step_loss(model, batch, "seg")
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3]), losses
    # zero-initialised, it learns once the (zero-initialised) head passes gradients back
    assert all(c.weight.abs().sum() > 0 for c in model.seg_decoder.warp_enc.values())


def test_weights_from_before_the_memory_decoder_load_and_run_with_memory():
    from segflow_cli.models import build_model
    from segflow_cli.models import LiteConfig

    old = {k: v for k, v in LiteConfig().to_dict().items() if not k.startswith("memory_")}
    old["trunk_pretrained"] = False
    model = build_model("segflow-lite", config=old)
    assert not model.config.memory_decoder and not model.seg_decoder.warp_enc
    frames, masks = reentry_clip(size=(96, 64), visible=5, hidden=0, after=0)
    out = list(create_session(method="segflow", model=model.eval(), max_size=96, compute_flow=False).propagate(
        list(frames), first_mask=masks[0]))
    assert len(out) == 5 and out[-1].mask.shape == (64, 96)


def test_an_object_added_by_a_mask_at_frame_10_is_followed(shipped):
    """Cutie's convention: a mask at a later frame adds the objects that enter there."""
    from segflow_cli.data.reentry import two_object_clip

    frames, masks = two_object_clip(size=(256, 160), frames=40, enters=8)
    first = (masks[0] == 1).astype(np.uint8)
    later = {10: (masks[10] == 2).astype(np.uint8) * 2}
    session = create_session(method="segflow", model=shipped, max_size=256, compute_flow=False)
    res = [r.mask for r in session.propagate(list(frames), first_mask=first, masks=later)]
    assert not (res[9] == 2).any() and session.object_ids == [1, 2]
    for oid in (1, 2):
        j = np.mean([region_similarity(masks[t] == oid, res[t] == oid) for t in range(20, 40)])
        assert j >= 0.6, (oid, j)


def test_across_a_hard_cut_nothing_bleeds_and_the_object_is_found_when_its_shot_returns(shipped):
    from segflow_cli.data.reentry import cut_clip

    frames, masks = cut_clip(shot=10)
    session = create_session(method="segflow", model=shipped, max_size=192, compute_flow=False)
    res = list(session.propagate(list(frames), first_mask=masks[0]))
    assert session.cuts == [10, 20] and [r.index for r in res if r.cut] == [10, 20]
    assert max((r.mask != 0).mean() for r in res[10:20]) <= 0.02
    assert np.mean([region_similarity(masks[t] == 1, res[t].mask == 1) for t in range(20, 30)]) >= 0.6


def test_propagate_is_the_default_and_still_gives_the_networks_flow(shipped):
    frames, masks = reentry_clip(size=(96, 64), visible=3, hidden=0, after=0)
    session = create_session(model=shipped, max_size=96)
    assert session.method == "propagate"
    assert shipped.config.memory_gate and shipped.seg_decoder.gate is not None  # the shipped network has its gate
    res = list(session.propagate(list(frames), first_mask=masks[0]))
    assert res[1].flow is not None and res[1].flow.shape == (64, 96, 2)
    import pytest

    from segflow_cli.errors import SegflowError

    with pytest.raises(SegflowError, match="method segflow"):
        create_session(model=shipped, method="propagate", finetune_steps=3)


def test_flow_and_embedding_equal_the_full_forward_pass(shipped):
    """propagate's flow output comes from one trunk pass without the decoder, and is the same flow."""
    from segflow_cli.inference import PairRunner

    runner = PairRunner(shipped, device="cpu")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)
    pa, pb = runner.prepare(a, (96, 64)), runner.prepare(np.roll(a, 3, 1), (96, 64))
    depths = []  # how deep the trunk ran on each pass (the stride-32 stage feeds only the decoder)
    hook = shipped.trunk.register_forward_hook(lambda mod, args, out: depths.append(len(out)))
    flow, emb = runner.flow_and_embedding(pa, pb)
    full = runner.run(pa, pb)
    assert torch.equal(flow, full.flow)
    assert torch.equal(runner.flow(pa, pb), full.flow)  # the flow alone (segflow flow): no decoder, same flow
    hook.remove()
    assert depths == [3, 4, 3]  # strides 4-16 for flow (+ key), 4-32 for the full pass
    # The key alone (propagate without flow) comes from the key encoder: the same key.
    assert torch.equal(runner.embed(pa), emb)
    # Without a memory the forward pass does not run the key encoder (flow and --no-memory need no key).
    assert full.embedding is None


def _gated_from(shipped, bias: float, focus: float = 0.0):
    """The shipped network with a fresh (untrained) output gate of the given bias (and gate focus)."""
    from segflow_cli.models import LiteConfig, SegFlowLite

    model = SegFlowLite(config=LiteConfig(trunk_pretrained=False, memory_gate_focus=focus))
    model.load_state_dict(shipped.state_dict(), strict=False)
    with torch.no_grad():
        model.seg_decoder.gate.bias.fill_(bias)
    return model.eval()


def test_with_its_gate_closed_the_network_is_the_readout_alone(shipped):
    """output = logit(readout) + gate * correction: closed, segflow and propagate give the same masks
    (two objects, so the aggregation has to keep the readout's joint distribution). Edge refinement
    off in both: it filters propagate's readout but segflow's clamped probabilities (tests/test_guided.py)."""
    from segflow_cli.data.reentry import two_object_clip

    frames, masks = two_object_clip(size=(160, 96), frames=8, enters=0)
    gated = create_session(method="segflow", model=_gated_from(shipped, -30.0), max_size=160, compute_flow=False,
                           edge_radius=0)
    alone = create_session(method="propagate", model=shipped, max_size=160, compute_flow=False, edge_radius=0)
    a = [r.mask for r in gated.propagate(list(frames), first_mask=masks[0])]
    b = [r.mask for r in alone.propagate(list(frames), first_mask=masks[0])]
    assert len(np.unique(masks[0])) == 3
    assert max(float(np.mean(x != y)) for x, y in zip(a, b)) < 0.01
    # an open gate lets the decoder change them
    opened = create_session(method="segflow", model=_gated_from(shipped, 30.0), max_size=160, compute_flow=False,
                            edge_radius=0)
    c = [r.mask for r in opened.propagate(list(frames), first_mask=masks[0])]
    assert max(float(np.mean(x != y)) for x, y in zip(c, b)) > 0.01


def test_gate_focus_keeps_a_confident_readout_as_read(shipped):
    """memory_gate_focus: the correction is scaled by (1 - |2 r - 1|)^focus, so with the gate wide open
    the output still equals the readout's own logit where the readout is sure, and only there."""
    from segflow_cli.data.reentry import two_object_clip
    from segflow_cli.models.lite.model import READOUT_EPS

    assert shipped.config.memory_gate_focus == 2.0  # the shipped setting (stop 24)
    frames, masks = two_object_clip(size=(160, 96), frames=4, enters=0)
    outs = {}
    for focus in (0.0, 2.0):
        session = create_session(method="segflow", model=_gated_from(shipped, 30.0, focus), max_size=160,
                                 compute_flow=False, edge_radius=0)
        session.start(frames[0], masks[0])
        session.step(frames[1])
        runner, cur = session.runner, session.runner.prepare(frames[2], session.size)
        outs[focus] = runner.run(cur, session._prev, prev_probs=session._probs[None], reference=session._reference,
                                 memory=session.memory.state())
    change = {}
    for focus, out in outs.items():  # each against its own readout (frame 1's output differed, so its memory)
        r = out.readout_full[0, 1:]
        sure = (1 - (2 * r - 1).abs()) ** 2 < 1e-4
        assert sure.float().mean() > 0.3
        diff = (out.seg_logits[0] - torch.logit(r.clamp(READOUT_EPS, 1 - READOUT_EPS))).abs()
        change[focus] = (float(diff[sure].max()), float(diff[~sure].max()))
    assert change[2.0][0] < 0.05 and change[2.0][1] > 0.1, change  # sure pixels kept, unsure ones corrected
    assert change[0.0][0] > 1.0, change  # without the focus the open gate moves sure pixels too


def test_readout_aggregate_is_the_readout_when_uncorrected_and_the_sigmoid_for_one_object():
    from segflow_cli.inference.aggregate import readout_aggregate

    torch.manual_seed(0)
    read = torch.softmax(torch.randn(3, 5, 6) * 2, 0).clamp(0.02, 0.98)
    read = read / read.sum(0, keepdim=True)
    logits = torch.logit(read[1:])
    assert torch.allclose(readout_aggregate(logits, read, eps=1e-6), read, atol=1e-5)
    one = torch.cat([1 - read[1:2], read[1:2]])
    z = torch.randn(1, 5, 6)
    assert torch.allclose(readout_aggregate(z, one, eps=1e-6)[1], torch.sigmoid(z[0]), atol=1e-5)


def test_a_frozen_trunk_keeps_the_memory_keys_while_the_gate_learns(seg_training):
    """trunk_lr_scale=0: seg steps train the decoder and its gate, the trunk (the keys) stays put."""
    model, _, steps = seg_training(trunk_lr_scale=0.0)
    trunk0 = {k: v.clone() for k, v in model.trunk.state_dict().items()}
    gate0 = model.seg_decoder.gate.weight.clone()
    steps(3, train_trunk=False)
    assert all(torch.equal(v, trunk0[k]) for k, v in model.trunk.state_dict().items())
    assert not torch.equal(model.seg_decoder.gate.weight, gate0)


def test_segflow_windows_follow_the_flow_or_stay_in_place(shipped):
    """memory_flow_windows: the segflow method's recent-frame windows are moved by its flow (True, and
    cards written before the field) or read in place like propagate's (False)."""
    import copy
    import dataclasses

    from segflow_cli.models.lite.config import LiteConfig
    from segflow_cli.models.memory import MemoryState, identity_positions

    c, h, w = 152, 6, 8
    key = torch.nn.functional.normalize(torch.randn(c, h, w), dim=0)
    mem = MemoryState(long_keys=key.reshape(c, -1), long_values=torch.ones(2, h * w) / 2, keys=key[None],
                      values=torch.ones(1, 2, h, w) / 2, positions=identity_positions(h, w)[None])
    flow = torch.zeros(2, h * 8, w * 8)
    flow[0] = 16.0  # every pixel came from two cells to the right
    model = copy.deepcopy(shipped)  # the module fixture stays as loaded
    model.config = dataclasses.replace(model.config, memory_flow_windows=True)
    _, moved = model._read_memory(mem, key, flow)
    assert torch.allclose(moved[0, 0, :, :5], identity_positions(h, w)[0, :, :5] + 2)
    model.config = dataclasses.replace(model.config, memory_flow_windows=False)
    _, kept = model._read_memory(mem, key, flow)
    assert torch.equal(kept, mem.positions)
    assert LiteConfig.from_dict({}).memory_flow_windows  # old cards: windows follow the flow, as before
    assert not shipped.config.memory_flow_windows  # the shipped card reads them in place (stop 25)


def test_long_term_frames_are_laid_out_once_until_they_change():
    """The annotated frames' keys are joined (and laid out as rows by the readout) once, not every frame;
    a new annotated frame or a new object rebuilds them."""
    from segflow_cli.models.memory import ReadoutConfig, readout

    key = torch.nn.functional.normalize(torch.rand(8, 4, 5), dim=0)
    mem = SpaceTimeMemory(frames=2, long_stride=1)  # every cell (the sparse lattice: the test below)
    mem.add_long_term(key, torch.stack([torch.ones(4, 5), torch.zeros(4, 5)]))
    mem.consider(1, key, torch.stack([torch.ones(4, 5), torch.zeros(4, 5)]))
    first = mem.state()
    readout(key, first, config=ReadoutConfig(radius=1, tile=2))
    again = mem.state()
    assert again.long_keys is first.long_keys and again.long_values is first.long_values
    assert again.table is first.table and again.table.shape == (20 + 2 * 20, 8)  # the long rows, then 2 slots
    mem.grow(3)
    grown = mem.state()
    assert grown.long_values.shape[0] == 3 and grown.long_values is not first.long_values  # rebuilt
    mem.add_long_term(key, torch.zeros(3, 4, 5))
    assert mem.state().long_keys.shape == (8, 40) and mem.state().table.shape == (40 + 2 * 20, 8)


def test_the_row_table_gives_the_readout_the_same_keys_as_the_frames():
    """The memory's row table (one slot per recent frame, reused as frames leave) gives the same readout
    as gathering the frames' keys one by one, through frames joining and leaving, a new annotated frame
    and a cleared memory; its size stays bounded."""
    import dataclasses

    from segflow_cli.models.memory import ReadoutConfig, readout

    gen = torch.Generator().manual_seed(3)
    unit = lambda: torch.nn.functional.normalize(torch.rand(8, 6, 7, generator=gen) - 0.5, dim=0)  # noqa: E731
    value = lambda: torch.softmax(torch.rand(2, 6, 7, generator=gen) * 4, 0)  # noqa: E731
    cfg = ReadoutConfig(radius=2, tile=2, topk=5, frame_max=True)
    mem = SpaceTimeMemory(frames=3, every=2, near=1)  # shipped settings (soft values everywhere: every cell kept)
    mem.add_long_term(unit(), value())
    for i in range(1, 12):
        if i == 7:
            mem.add_long_term(unit(), value())
        if i == 9:
            mem.clear_recent()
        query = unit()
        state = mem.state()
        plain = dataclasses.replace(state, table=None, slots=None)  # the frames one by one
        assert torch.allclose(readout(query, state, config=cfg), readout(query, plain, config=cfg), atol=1e-6), i
        if state.recent:
            assert sorted(state.slots) == sorted(set(state.slots)) and max(state.slots) < 3
            assert state.table.shape == (state.long_keys.shape[1] + 3 * 42, 8)
        mem.consider(i, query, value())


def test_finetuning_a_memory_network_trains_the_gated_readout_the_video_runs_through(shipped):
    """Online fine-tuning of the shipped (gated-readout) network reads the annotated frame's memory, two
    objects together, so the decoder's gate, which only the memory path uses, is trained; without the
    memory it would get no gradient at all (stop 38)."""
    import copy

    from segflow_cli.data.reentry import two_object_clip

    frames, masks = two_object_clip(size=(160, 96), frames=3, enters=0)
    model = copy.deepcopy(shipped)  # fine-tuning changes the session's network in place
    gate = {k: v.clone() for k, v in model.seg_decoder.gate.state_dict().items()}
    seen = []
    forward = model.forward

    def spy(*args, **kw):
        out = forward(*args, **kw)
        if torch.is_grad_enabled():
            seen.append((kw.get("memory") is not None, out.readout_full is not None, out.seg_logits.shape[1]))
        return out

    model.forward = spy
    session = create_session(method="segflow", model=model, max_size=160, compute_flow=False, finetune_steps=2)
    session.start(frames[0], masks[0])
    assert seen == [(True, True, 2)] * 2
    assert any(not torch.equal(gate[k], v) for k, v in session.runner.model.seg_decoder.gate.state_dict().items())


def test_the_annotated_frame_keeps_its_object_whole_and_a_weighted_lattice_elsewhere():
    """Every cell within long_margin of the object is kept; elsewhere one cell in long_stride x long_stride,
    standing for the left-out cells of its block (the masses cover the frame once); long_stride=1 keeps
    the frame as it was."""
    from segflow_cli.models.memory import ReadoutConfig, readout

    h, w = 12, 18
    key = torch.nn.functional.normalize(torch.rand(8, h, w) - 0.5, dim=0)
    obj = torch.zeros(h, w)
    obj[4:6, 7:10] = 1.0
    value = torch.stack([1 - obj, obj])
    mem = SpaceTimeMemory(frames=2, long_stride=3, long_margin=1)
    mem.add_long_term(key, value)
    state = mem.state()
    cells = state.long_cells
    near = torch.zeros(h, w, dtype=torch.bool)
    near[3:7, 6:11] = True
    assert set(torch.nonzero(near.reshape(-1))[:, 0].tolist()) <= set(cells.tolist())
    far = [c for c in cells.tolist() if not near.reshape(-1)[c]]
    assert far and all((c // w) % 3 == 1 and (c % w) % 3 == 1 for c in far)  # the lattice, one cell per block
    assert len(cells) < h * w // 2 and float(state.long_mass.sum()) == h * w
    assert torch.equal(state.long_keys, key.reshape(8, -1)[:, cells]) and torch.equal(state.long_values, value.reshape(2, -1)[:, cells])
    read = readout(key, state, config=ReadoutConfig(radius=2, tile=2))
    assert (read[1] > 0.5).reshape(-1)[obj.reshape(-1) > 0].all()  # the object is still read where it is
    dense = SpaceTimeMemory(frames=2, long_stride=1)
    dense.add_long_term(key, value)
    assert dense.state().long_cells is None and dense.state().long_keys.shape == (8, h * w)


def test_predicted_frames_kept_for_the_global_read_refind_a_look_the_annotated_frame_never_had():
    """keep_frames=2, keep_every=10: frames 10, 20, 30 ... join the global read, the last two only, and only
    when every object wins at least KEEP_MIN_CELLS cells. An object that took a new look after the annotated
    frame, left the recent frames and came back far from where it was is read as object only with them;
    clear_recent (an annotation, a scene cut) drops them with the recent frames, and so does an annotated frame
    added directly."""
    from segflow_cli.models.memory import ReadoutConfig, readout

    h, w, c = 12, 30, 4
    looks = torch.eye(c)  # 0: background, 1: the annotated look, 2: the object's later look
    def frame(look_at: dict) -> tuple[torch.Tensor, torch.Tensor]:
        key = looks[0][:, None, None].repeat(1, h, w)
        obj = torch.zeros(h, w)
        for (y, x), look in look_at.items():
            key[:, y:y + 3, x:x + 3] = looks[look][:, None, None]
            obj[y:y + 3, x:x + 3] = 1.0
        return key, torch.stack([1 - obj, obj])

    cfg = ReadoutConfig(radius=2, tile=2, topk=5, null_similarity=None, long_window_penalty=0.03)
    reads = {}
    for keep in (0, 2):
        mem = SpaceTimeMemory(frames=2, long_stride=1, keep_frames=keep, keep_every=10)
        mem.add_long_term(*frame({(4, 2): 1}))
        for t in range(1, 36):
            if t <= 20:
                key, value = frame({(4, 2 + t // 10): 2})  # the new look, near where it started
            else:
                key, value = frame({})  # gone: the recent frames hold background only
            mem.consider(t, key, value)
        assert len(mem._kept) == (2 if keep else 0) and [i for _, _, i in mem._kept] == ([10, 20] if keep else [])
        query, _ = frame({(4, 24): 2})  # it comes back with its new look, far from everywhere it was
        reads[keep] = readout(query, mem.state(), config=cfg)[1, 5, 25]
        if keep:
            m = mem.state().long_keys.shape[1]
            assert m == 3 * h * w  # the annotated frame and the two kept ones, whole (long_stride=1)
            mem.clear_recent()
            assert not mem._kept and mem.state().long_keys.shape[1] == h * w
    assert reads[0] < 0.5 < reads[2]
    mem = SpaceTimeMemory(frames=2, keep_frames=2, keep_every=10)
    mem.add_long_term(*frame({(4, 2): 1}))
    mem.consider(10, *frame({}))  # the object is lost in frame 10: not kept
    assert not mem._kept
    mem.consider(20, *frame({(4, 9): 2}))
    assert len(mem._kept) == 1
    mem.add_long_term(*frame({(4, 9): 2}))  # an annotated frame supersedes the predicted ones
    assert not mem._kept and mem.state().long_keys.shape[1] == mem.state().long_cells.shape[0]
    with pytest.raises(ValueError, match="keep_every"):
        SpaceTimeMemory(keep_every=0)


def test_resume_rebuilds_the_frames_kept_for_the_global_read(shipped, monkeypatch):
    """With predicted frames kept for the global read (KEEP_FRAMES), --resume embeds every frame the memory
    may keep, not only the recent ones, so the resumed memory keeps the same frames as the run it continues."""
    import segflow_cli.inference.memory as smem

    monkeypatch.setattr(smem, "KEEP_FRAMES", 2)
    monkeypatch.setattr(smem, "KEEP_EVERY", 3)
    frames, masks = reentry_clip(size=(192, 128), visible=10, hidden=0, after=0)
    kw = dict(method="propagate", model=shipped, max_size=192, compute_flow=False, memory_frames=1, memory_every=1,
              memory_near=0)  # the recent memory reaches one frame back: only the kept frames need the older ones
    full = create_session(**kw)
    done = {r.index: r.mask for r in full.propagate(list(frames), first_mask=masks[0]) if r.index}
    again = create_session(**kw)
    list(again.resume(list(frames), masks[0], done))
    assert [i for _, _, i in full.memory._kept] == [i for _, _, i in again.memory._kept] == [6, 9]
