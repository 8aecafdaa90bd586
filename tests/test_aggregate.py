import numpy as np
import torch

from segflow_cli.inference.aggregate import channel_argmax, ids_to_onehot, probs_to_ids, soft_aggregate


def test_channel_argmax_matches_argmax_including_ties():
    x = torch.rand(4, 30, 40)
    x[2, :5] = x[1, :5]  # ties: the first channel wins, as with argmax
    labels = [0, 3, 5, 9]
    expected = torch.tensor(labels, dtype=torch.uint8)[x.argmax(0)]
    assert torch.equal(channel_argmax(x, labels), expected)


def test_soft_aggregate_normalises_and_keeps_ids():
    mask = np.zeros((20, 30), np.uint8)
    mask[2:8, 3:9], mask[10:18, 10:25] = 4, 7
    allp = soft_aggregate(ids_to_onehot(mask, [4, 7]))
    assert torch.allclose(allp.sum(0), torch.ones(20, 30), atol=1e-5)
    ids, alpha = probs_to_ids(allp, [4, 7], 30, 20)
    assert np.array_equal(ids, mask) and alpha.shape == (20, 30)
    assert alpha[mask > 0].min() > 0.9 and alpha[mask == 0].max() < 0.1
