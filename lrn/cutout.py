"""The paper's purpose: a photo of a person on a plain white background.

``segment`` predicts the person's probability at the model's input size, resizes the map
back to the photo's own resolution and, optionally, cleans it (one person, no holes) and
refines its edges with the photo as guide (:mod:`lrn.refine`). ``alpha`` turns that into an
opacity; ``compose`` puts the person on a colour, on transparency, or gives the mask alone;
``cut_out`` does all of it for one photo. ``lrn whiten`` and :func:`lrn.segment` share
these functions, so the command and the API give the same result for the same options.

A *model* here is a ``keras.Model`` written by ``lrn`` or an :class:`lrn.lite.LiteModel`
(a converted model, run without TensorFlow): :func:`load` picks the fastest that is there.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from lrn import fastforward, imageops, letterbox, lite, postprocess, refine
from lrn.errors import InputError

WHITE = (255, 255, 255)
FITS = ("squash", "pad")
"""How a photo enters the model's square input: resized ignoring its aspect ratio (how
``lrn train``'s models are trained), or letterboxed with its aspect ratio kept
(:mod:`lrn.letterbox`; the shipped model's way is on its card, :func:`lrn.shipped.fit`)."""
EDGE_FRACTION = 0.02  # soft-edge band kept around the person, as a share of the photo's diagonal
MODES = ("white", "colour", "transparent", "mask")
"""What ``compose`` makes: the person on white (the paper's goal), on another colour, on
transparency (RGBA), or the mask alone (8-bit grey: 255 = person)."""


@dataclass(frozen=True)
class Refinement:
    """Settings of the guided filter (:func:`lrn.refine.guided_filter`): the radius as a share
    of the photo's shorter side and the fit's resolution as the length of its shorter side,
    so that a 600x800 and a 3000x4000 photo get the same look for about the same work, and
    ``eps`` (smoothing)."""

    radius_fraction: float = 0.04
    eps: float = 1e-3
    fit_side: int = 150

    def radius(self, shape) -> int:
        """Radius in the photo's pixels."""
        return max(1, int(round(self.radius_fraction * min(shape[:2]))))

    def subsample(self, shape) -> int:
        """How much the photo is shrunk for the fit (4 for a 600x800 photo)."""
        return max(1, min(shape[:2]) // self.fit_side)

    def apply(self, photo: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """The refined matte of ``prob`` with ``photo`` as guide."""
        return refine.guided_filter(photo, prob, self.radius(photo.shape), self.eps, self.subsample(photo.shape))


DEFAULT_REFINEMENT = Refinement()
"""What ``lrn whiten`` refines with: chosen on EG1800's validation photos (:func:`lrn.edges.best_option`)."""


def clean_probability(prob: np.ndarray) -> np.ndarray:
    """Keep one person: the largest region of ``prob > 0.5`` with its holes filled.

    Far from that region the probability becomes 0 (stray blobs vanish); in a band around
    it (2 % of the diagonal) it is kept, so the cut-out keeps its soft edge; holes inside
    become 1.
    """
    keep = postprocess.largest_component_filled(prob > 0.5)
    if not keep.any():
        return np.zeros_like(prob)
    band = max(1, int(round(EDGE_FRACTION * np.hypot(*prob.shape))))
    near = ndimage.binary_dilation(keep, iterations=band)
    cleaned = np.where(near, prob, 0.0).astype(np.float32)
    cleaned[keep & (prob <= 0.5)] = 1.0
    return cleaned


def input_size(model) -> tuple[int, int]:
    """``(height, width)`` a model takes: a ``LiteModel``'s, or a Keras model's input shape."""
    if isinstance(model, lite.LiteModel):
        return model.input_size
    _, h, w, _ = model.input.shape
    return int(h), int(w)


def segment(model, photo: np.ndarray, clean: bool = False, forward=None,
            refinement: Refinement | None = None, fit: str | None = None) -> np.ndarray:
    """Probability of "person" at every pixel of ``photo``.

    Parameters
    ----------
    model : keras.Model or lrn.lite.LiteModel
        An ``lrn`` model (LRN: its last output s6 is used; U-Net: its only output).
    photo : uint8 array (H, W, 3), any H and W (read it upright: :func:`lrn.imageops.read_photo`).
    clean : bool
        Keep only the largest person region, holes filled (:func:`clean_probability`).
    forward : callable, optional
        ``x (1, h, w, 3) float32 -> finest map (1, h, w, 1)`` in place of the model's own
        (a ``LiteModel`` is its own forward; a Keras model's is ``predict_on_batch``).
    refinement : Refinement, optional
        Refine the edges with the photo as guide (after cleaning); ``None``: no refinement.
    fit : {"squash", "pad"}, optional
        How the photo enters the model (:data:`FITS`): the way the model was trained. Default:
        the model's own ``lrn_fit`` attribute (set on the shipped model by
        :func:`lrn.pretrained` and :func:`load`), else ``"squash"`` (models of ``lrn train``).

    Returns
    -------
    float32 array (H, W) in [0, 1] at the photo's own resolution (bilinear resize back,
    then cleaning and refinement as asked).
    """
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise InputError(f"photo must be an H x W x 3 uint8 array, got {photo.shape} {photo.dtype}")
    fit = getattr(model, "lrn_fit", "squash") if fit is None else fit
    if fit not in FITS:
        raise InputError(f"fit={fit!r}; expected one of {', '.join(FITS)}")
    size = input_size(model)
    if fit == "pad" and size[0] != size[1]:
        raise InputError(f"fit='pad' needs a square model input; this model takes {size[0]}x{size[1]}")
    if fit == "pad":
        small, box = letterbox.letterbox_photo(photo, size[0])
    else:
        small = imageops.resize_photo(photo, size)
    if forward is None:
        forward = model if isinstance(model, lite.LiteModel) else fastforward.keras_forward(model)
    fine = np.asarray(forward(small[np.newaxis].astype(np.float32)))[0, ..., 0]
    back = letterbox.unletterbox(fine, box) if fit == "pad" else imageops.resize_prob(fine, photo.shape[:2])
    prob = np.clip(back, 0.0, 1.0)
    if clean:
        prob = clean_probability(prob)
    if refinement is not None:
        prob = refinement.apply(photo, prob)
    return prob


def edge_alpha(prob: np.ndarray, low: float = 0.3, high: float = 0.7) -> np.ndarray:
    """Opacity of the photo: 0 below ``low``, 1 above ``high``, a smooth ramp between (soft edge)."""
    if not 0 <= low < high <= 1:
        raise InputError(f"need 0 <= low < high <= 1 for the soft edge, got low={low}, high={high}")
    t = np.clip((prob - low) / (high - low), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)  # smoothstep: no visible seam where the ramp starts or ends


def parse_colour(text: str) -> tuple[int, int, int]:
    """``"#RRGGBB"``, ``"RRGGBB"``, ``"R,G,B"`` (0-255) or a few names -> an RGB triple."""
    names = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128), "gray": (128, 128, 128),
             "red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255)}
    value = text.strip().lower()
    if value in names:
        return names[value]
    try:
        if "," in value:
            rgb = tuple(int(v) for v in value.split(","))
        else:
            digits = value.lstrip("#")
            if len(digits) != 6:
                raise ValueError
            rgb = tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise InputError(f"cannot read the colour {text!r}: use #RRGGBB, R,G,B (0-255) or one of "
                         f"{', '.join(sorted(names))}")
    return rgb


def alpha(prob: np.ndarray, refined: bool, low: float = 0.3, high: float = 0.7) -> np.ndarray:
    """Opacity in [0, 1]: a refined matte is an alpha already; a raw map gets the soft ramp."""
    return np.clip(prob, 0.0, 1.0) if refined else edge_alpha(prob, low, high)


def compose(photo: np.ndarray, opacity: np.ndarray, mode: str = "white",
            colour: tuple[int, int, int] = WHITE) -> np.ndarray:
    """The output image of one mode (:data:`MODES`).

    ``white`` / ``colour``: ``opacity * photo + (1 - opacity) * colour``, uint8 ``(H, W, 3)``;
    ``transparent``: the photo with ``opacity`` as its alpha channel, uint8 ``(H, W, 4)``;
    ``mask``: ``opacity`` as 8-bit grey, uint8 ``(H, W)``.
    """
    if opacity.shape != photo.shape[:2]:
        raise InputError(f"probability map {opacity.shape} does not match the photo {photo.shape[:2]}")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    a8 = np.clip(np.rint(opacity * 255.0), 0, 255).astype(np.uint8)
    if mode == "mask":
        return a8
    if mode == "transparent":
        return np.dstack([photo, a8])
    background = np.asarray(WHITE if mode == "white" else colour, np.float32)
    out = opacity[..., np.newaxis] * photo.astype(np.float32) + (1.0 - opacity[..., np.newaxis]) * background
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def cut_out(model, photo: np.ndarray, mode: str = "white", colour=WHITE, clean: bool | None = None,
            refinement: Refinement | None = DEFAULT_REFINEMENT, low: float = 0.3, high: float = 0.7,
            forward=None, fit: str | None = None) -> np.ndarray:
    """One photo, start to end: :func:`segment`, :func:`alpha`, :func:`compose` (what ``lrn whiten`` writes).

    ``clean`` ``None``: the model's own ``lrn_clean`` (the shipped model's card says whether its
    maps are cleaned, :func:`load`), else ``True``.
    """
    clean = getattr(model, "lrn_clean", True) if clean is None else clean
    prob = segment(model, photo, clean=clean, forward=forward, refinement=refinement, fit=fit)
    return compose(photo, alpha(prob, refinement is not None, low, high), mode, colour)


def save_png(image: np.ndarray, target) -> None:
    """Write ``image`` (uint8 grey, RGB or RGBA) as a PNG to a path or a binary stream."""
    from PIL import Image

    Image.fromarray(image).save(target, format="PNG", compress_level=1)  # lossless; fast beats a few % smaller


def whiten_file(model, photo_path, out_dir, mode: str = "white", colour=WHITE, clean: bool | None = None,
                refinement: Refinement | None = DEFAULT_REFINEMENT, low: float = 0.3, high: float = 0.7,
                forward=None, fit: str | None = None) -> Path:
    """Read ``photo_path`` upright, cut the person out (:func:`cut_out`), write a PNG into
    ``out_dir`` (:func:`output_name`) and return its path."""
    image = cut_out(model, imageops.read_photo(photo_path), mode, colour, clean, refinement, low, high, forward, fit)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / output_name(photo_path, mode)
    save_png(image, target)
    return target


SUFFIXES = {"white": "_white", "colour": "_bg", "transparent": "_cutout", "mask": "_mask"}


def output_name(photo_path, mode: str) -> str:
    """``<stem>_white.png``, ``<stem>_bg.png``, ``<stem>_cutout.png`` or ``<stem>_mask.png``."""
    return f"{Path(photo_path).stem}{SUFFIXES[mode]}.png"


HARMLESS_START_UP = ("All log messages before absl::InitializeLog", "Could not find cuda drivers",
                     "failed call to cuInit", "cpu_feature_guard", "To enable the following instructions",
                     "oneDNN custom operations are on")
"""What TensorFlow's native code prints on stderr when it starts on a machine without a GPU:
nothing a user of the cut-out can act on (the cuInit line is even at error level)."""


@contextlib.contextmanager
def tensorflow_start_up_filtered():
    """Run TensorFlow code with its native start-up lines (:data:`HARMLESS_START_UP`) held
    back; Python's own messages still appear at once, and every other native line is passed
    on when the block ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    with tempfile.TemporaryFile() as held, open(os.dup(saved), "w", buffering=1) as terminal:
        os.dup2(held.fileno(), 2)
        sys.stderr = terminal
        try:
            yield
        finally:
            sys.stderr = python_stderr
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                if not any(mark in line for mark in HARMLESS_START_UP):
                    print(line, file=sys.stderr)


def load(model_file=None, trust: bool = False, verbose: bool = True):
    """The fastest runnable form of a model file: ``(model, how)``.

    ``model_file`` ``None`` is the shipped model. A converted ``.tflite`` (beside the file or
    in the cache, :func:`lrn.lite.cached_conversion`) runs without importing TensorFlow.
    Otherwise the ``.keras`` file is loaded (safe mode unless ``trust``), converted once and
    cached (:func:`lrn.fastforward.for_model_file`); when conversion fails, Keras predicts
    and ``how`` says why.

    Returns
    -------
    model : lrn.lite.LiteModel or keras.Model
    how : str
        E.g. ``"LiteRT (XNNPACK), converted file"``.
    """
    from lrn import shipped

    path = Path(model_file) if model_file is not None else shipped.MODEL_FILE
    if model_file is None and not path.is_file():
        shipped.pretrained()  # raises the error that says how to get it
    if not path.is_file():
        raise InputError(f"no model file at {path}")
    model, how = _load(path, trust, verbose)
    if model_file is None:  # the shipped model: fed the way it was trained, cleaned as its card says
        model.lrn_fit, model.lrn_clean = shipped.fit(), shipped.card().get("clean", True)
    return model, how


def _load(path: Path, trust: bool, verbose: bool):
    converted = lite.cached_conversion(path)
    if converted is not None:
        try:
            model = lite.LiteModel.from_file(converted)
            return model, f"{model.runtime} (XNNPACK), converted file {converted.name}"
        except Exception as error:  # noqa: BLE001 - an unreadable conversion: start again from the .keras file
            if verbose:
                print(f"lrn: {converted} not used ({type(error).__name__}: {error}); converting again",
                      file=sys.stderr)
    with tensorflow_start_up_filtered():
        from lrn import models

        try:
            keras_model = models.load(path, safe_mode=not trust)
        except InputError as error:
            if "refused" in str(error):
                raise InputError(f"{error} On the command line: --trust-model.") from None
            raise
        forward, how = fastforward.for_model_file(path, keras_model, verbose=verbose)
    return (forward if isinstance(forward, lite.LiteModel) else keras_model), how
