"""Procedural head-and-torso figures on busy backgrounds, with exact masks.

For fast tests and for teaching: no download, any number of images, deterministic.
Each figure is a (slightly tilted) head ellipse, maybe hair (short or long), a neck and a
torso with rounded shoulders that reaches the bottom edge, in random skin, hair and
clothing colours, at a random position and scale. The background mixes a colour
gradient, stripes, random discs and rectangles (some skin-coloured, as distractors) and
pixel noise. The mask is the union of head, hair, neck and torso, exactly as drawn
(no anti-aliasing); the noise is added afterwards, on figure and background alike.
"""
from __future__ import annotations


import numpy as np

from lrn.cache import sha256_text
from lrn.data.split import Split, check_size
from lrn.errors import InputError

VERSION = 1
"""Bumped whenever the drawing changes, so that ``manifest_sha256`` changes with it."""

SKIN = np.array([(255, 224, 189), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 51, 23)], float)
HAIR = np.array([(20, 15, 10), (60, 40, 25), (110, 75, 40), (200, 170, 100), (150, 150, 150), (140, 60, 30)], float)
N_SHAPES = 8
_CHUNK = 32  # images rendered at once (bounds memory at ~20 MB per float array at 224 px)


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw one image's parameters; lengths are fractions of the image side."""
    u = rng.uniform
    ry = u(0.11, 0.19)
    rx = ry * u(0.72, 0.88)
    cy = u(max(0.18, ry + 0.02), 0.42)
    return {
        # background
        "bg0": u(0, 255, 3), "bg1": u(0, 255, 3), "bg_angle": u(0, 2 * np.pi),
        "stripe_freq": u(2, 14), "stripe_angle": u(0, np.pi), "stripe_phase": u(0, 2 * np.pi),
        "stripe_amp": u(0, 70) * rng.choice([-1, 1], 3) * (rng.uniform() < 0.7),
        "shape_on": rng.uniform(size=N_SHAPES) < 0.75, "shape_disc": rng.uniform(size=N_SHAPES) < 0.5,
        "shape_x": u(-0.1, 1.1, N_SHAPES), "shape_y": u(-0.1, 1.1, N_SHAPES),
        "shape_w": u(0.03, 0.2, N_SHAPES), "shape_h": u(0.03, 0.2, N_SHAPES),
        "shape_col": np.where(rng.uniform(size=(N_SHAPES, 1)) < 0.2,
                              SKIN[rng.integers(len(SKIN), size=N_SHAPES)], u(0, 255, (N_SHAPES, 3))),
        "noise": u(2, 14),
        # head
        "cx": u(0.3, 0.7), "cy": cy, "rx": rx, "ry": ry, "tilt": u(-0.25, 0.25),
        "skin": np.clip(SKIN[rng.integers(len(SKIN))] + u(-12, 12, 3), 0, 255),
        # hair: none / short / long
        "hair_kind": rng.choice([0, 1, 2], p=[0.2, 0.5, 0.3]),
        "hair": np.clip(HAIR[rng.integers(len(HAIR))] + u(-10, 10, 3), 0, 255),
        "hair_scale": u(1.04, 1.18), "hair_lift": u(0.04, 0.18), "hairline": u(0.15, 0.45),
        # neck and torso
        "neck_w": rx * u(0.45, 0.65), "shoulder_y": cy + ry * u(0.95, 1.3),
        "torso_x": u(-0.04, 0.04), "torso_w": rx * u(2.0, 3.2), "shoulder_drop": ry * u(0.35, 0.7),
        "flare": u(0.0, 0.35),
        "cloth": u(0, 255, 3), "cloth_stripes": u(0, 60) * (rng.uniform() < 0.4), "cloth_freq": u(8, 30),
        "light": u(-0.2, 0.2),
    }


def _col(p: dict, key: str) -> np.ndarray:
    """Stack one parameter over the chunk, shaped to broadcast against (n, S, S)."""
    values = np.asarray([q[key] for q in p["all"]], dtype=np.float32)
    return values.reshape(values.shape[:1] + (1, 1) + values.shape[1:])


def _gather(colours: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Per-pixel colour lookup: colours (n, L, 3), label (n, S, S) in 0..L-1 -> (n, S, S, 3)."""
    n, n_labels = colours.shape[:2]
    flat = label.astype(np.intp) + (n_labels * np.arange(n, dtype=np.intp))[:, None, None]
    return colours.reshape(n * n_labels, 3)[flat]


def _render(chunk: list[dict], size: int, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw a chunk of images from their parameters: uint8 (n,S,S,3), bool (n,S,S).

    Shapes and figure parts are painted into small integer label maps (painter's order:
    later parts cover earlier ones); colours are then looked up once per pixel.
    """
    p = {"all": chunk}
    c = lambda k: _col(p, k)  # noqa: E731  (short local alias)
    n = len(chunk)
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size  # pixel centres in [0, 1]
    y, x = centres[None, :, None], centres[None, None, :]  # open grids: (1, S, 1), (1, 1, S)

    # background: gradient + stripes + shapes
    a = c("bg_angle")
    t = np.clip(np.cos(a) * (x - 0.5) + np.sin(a) * (y - 0.5) + 0.5, 0, 1)[..., None]
    img = c("bg0") * (1 - t) + c("bg1") * t
    sa = c("stripe_angle")
    wave = np.sin(2 * np.pi * c("stripe_freq") * (np.cos(sa) * x + np.sin(sa) * y) + c("stripe_phase"))
    img += wave[..., None] * c("stripe_amp")
    on, disc = c("shape_on"), c("shape_disc")
    sx, sy, sw, sh = c("shape_x"), c("shape_y"), c("shape_w"), c("shape_h")
    shape_label = np.zeros((n, size, size), np.int8)  # 0: none, k + 1: shape k
    for k in range(N_SHAPES):
        dx, dy = x - sx[..., k], y - sy[..., k]
        inside_disc = (dx / sw[..., k]) ** 2 + (dy / sw[..., k]) ** 2 < 1
        inside_rect = (np.abs(dx) < sw[..., k]) & (np.abs(dy) < sh[..., k])
        shape_label[np.where(disc[..., k] > 0, inside_disc, inside_rect) & (on[..., k] > 0)] = k + 1
    shape_colours = np.concatenate([np.zeros((n, 1, 3), np.float32), c("shape_col")[:, 0, 0]], axis=1)
    img = np.where(shape_label[..., None] > 0, _gather(shape_colours, shape_label), img)

    # figure
    cx, cy, rx, ry, tilt = c("cx"), c("cy"), c("rx"), c("ry"), c("tilt")
    cos_t, sin_t = np.cos(tilt), np.sin(tilt)
    u, v = cos_t * (x - cx) + sin_t * (y - cy), -sin_t * (x - cx) + cos_t * (y - cy)  # head frame
    head = (u / rx) ** 2 + (v / ry) ** 2 < 1
    hs, lift = c("hair_scale"), c("hair_lift") * ry
    hair_oval = (u / (rx * hs)) ** 2 + ((v + lift) / (ry * hs)) ** 2 < 1
    kind = c("hair_kind")
    short = hair_oval & (v < -c("hairline") * ry) & (kind > 0)
    long_hair = ((u / (rx * hs * 1.15)) ** 2 + ((v - 0.35 * ry) / (ry * 1.35)) ** 2 < 1) & (kind == 2)

    sy0, tw, drop = c("shoulder_y"), c("torso_w"), c("shoulder_drop")
    tx = x - cx - c("torso_x")
    half_w = tw * (1 + c("flare") * np.maximum(y - sy0, 0) / np.maximum(1 - sy0, 1e-3))
    rel = np.minimum(np.abs(tx) / half_w, 1)
    torso = (np.abs(tx) < half_w) & (y >= sy0 + drop * (1 - np.sqrt(1 - rel**2)))
    neck = (np.abs(x - cx) < c("neck_w")) & (y > cy) & (y < sy0 + drop)
    eyes = ((np.abs(np.abs(u) - 0.38 * rx) / (0.12 * rx)) ** 2 + ((v + 0.1 * ry) / (0.06 * ry)) ** 2 < 1) & head

    label = np.zeros((n, size, size), np.int8)
    parts = [long_hair, torso, neck, head, short, eyes & ~short]  # painter's order; label = index + 1
    for k, part in enumerate(parts):
        label[part] = k + 1
    hair, skin = c("hair")[:, 0, 0], c("skin")[:, 0, 0]
    dark = np.full_like(skin, 30.0)
    fig_colours = np.stack([np.zeros_like(skin), hair, c("cloth")[:, 0, 0], 0.9 * skin, skin, hair, dark], axis=1)
    shade = (1 + c("light") * (x - cx) / rx)[..., None]
    stripes = (c("cloth_stripes") * np.sign(np.sin(2 * np.pi * c("cloth_freq") * y)))[..., None]
    figure = (_gather(fig_colours, label) + (label == 2)[..., None] * stripes) * shade
    img = np.where(label[..., None] > 0, figure, img)

    mask = label > 0
    img += noise
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask


def synthetic(n: int, size: int = 224, seed: int = 0) -> Split:
    """Draw ``n`` synthetic portraits with exact masks.

    Deterministic: image ``i`` depends only on ``(seed, i, size)`` (each image has its own
    generator, ``numpy.random.SeedSequence(seed).spawn``), so ``synthetic(8)`` equals the
    first 8 of ``synthetic(16)``.

    Parameters
    ----------
    n : int
        Number of images, at least 1.
    size : int
        Side in pixels; a positive multiple of 32.
    seed : int
        Non-negative seed.

    Returns
    -------
    Split
        Named ``"synthetic"``; images ``(n, size, size, 3) uint8``, masks
        ``(n, size, size) bool``; ids ``"syn00000"``, ``"syn00001"``, ...;
        ``manifest_sha256`` is the sha256 of ``"lrn.data.synthetic v<VERSION> n=<n>
        size=<size> seed=<seed>"``.

    Raises
    ------
    InputError
        ``n`` < 1, bad size or seed.
    """
    size = check_size(size)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n={n!r}; expected a positive int (number of images)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r}; expected a non-negative int")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(int(n))]
    params = [_params(r) for r in rngs]
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), bool)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        noise = np.stack([
            rngs[i].standard_normal((size, size, 3), dtype=np.float32) * np.float32(params[i]["noise"])
            for i in range(start, stop)
        ])
        images[start:stop], masks[start:stop] = _render(params[start:stop], size, noise)
    tag = f"lrn.data.synthetic v{VERSION} n={n} size={size} seed={seed}"
    ids = [f"syn{i:05d}" for i in range(n)]
    return Split("synthetic", images, masks, ids, sha256_text(tag))
