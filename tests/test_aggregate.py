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


def test_threshold_scales_the_background_only_and_half_is_the_argmax():
    """A pixel shows the likeliest object where its probability against the background's exceeds the
    threshold; 0.5 is the plain argmax, the alpha does not depend on it, and values outside (0, 1) fail."""
    import pytest

    allp = torch.tensor([[0.55, 0.50, 0.70, 0.20],    # background
                         [0.45, 0.30, 0.30, 0.20],    # object 4
                         [0.00, 0.20, 0.00, 0.60]])[:, None, :]  # object 7; (3, 1, 4)
    labels = [4, 7]
    plain, alpha = probs_to_ids(allp, labels, 4, 1)
    assert np.array_equal(plain[0], [0, 0, 0, 7])
    assert np.array_equal(probs_to_ids(allp, labels, 4, 1, threshold=0.5)[0], plain)
    # 0.45 / (0.45 + 0.55) = 0.45 > 0.4; 0.3 / 0.8 = 0.375 < 0.4 (object 7 is not likelier than 4 there)
    assert np.array_equal(probs_to_ids(allp, labels, 4, 1, threshold=0.4)[0][0], [4, 0, 0, 7])
    assert np.array_equal(probs_to_ids(allp, labels, 4, 1, threshold=0.35)[0][0], [4, 4, 0, 7])
    assert np.array_equal(probs_to_ids(allp, labels, 4, 1, threshold=0.7)[0][0], [0, 0, 0, 7])  # 0.6 / 0.8 = 0.75
    assert np.array_equal(probs_to_ids(allp, labels, 4, 1, threshold=0.8)[0][0], [0, 0, 0, 0])
    assert np.allclose(probs_to_ids(allp, labels, 4, 1, threshold=0.3)[1], alpha)
    for bad in (0.0, 1.0, -0.2):
        with pytest.raises(ValueError, match="threshold"):
            probs_to_ids(allp, labels, 4, 1, threshold=bad)
