"""The paper's purpose: a photo of a person on a plain white background.

``segment`` predicts the person's probability at the model's input size, resizes the map
back to the photo's own resolution and, optionally, cleans it (one person, no holes) and
refines its edges with the photo as guide (:mod:`lrn.refine`). ``opacity`` gives what
``lrn whiten`` composes with (the map cleaned and refined in the order :data:`WHITEN_STEPS`,
then the soft-edge ramp, as the shipped model's card says); ``compose``
puts the person on a colour, on transparency, or gives the mask alone; ``cut_out`` does all
of it for one photo. ``lrn whiten`` and :func:`lrn.segment` share
these functions, so the command and the API give the same result for the same options.

A *model* here is a :class:`lrn.cutout_model.CutoutModel` (a network with its feed and
default cleaning: what :func:`lrn.pretrained` and :func:`load` return), or a bare network: a
``keras.Model`` written by ``lrn`` or an :class:`lrn.lite.LiteModel` (a converted model, run
without TensorFlow), fed squashed and cleaned unless told otherwise. :func:`load` picks the
fastest form of a model file that is there.
"""
from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from lrn import fastforward, feeding, imageops, lite, metrics, native_stderr, postprocess, refine, shipped
from lrn.cutout_model import SOFT_EDGE, CutoutModel, check_feed, tensorflow_start_up_filtered
from lrn.errors import InputError

WHITE = (255, 255, 255)
EDGE_FRACTION = 0.02  # soft-edge band kept around the person, as a share of the photo's diagonal
MODES = ("white", "colour", "transparent", "mask")
"""What ``compose`` makes: the person on white (the paper's goal), on another colour, on
transparency (RGBA), or the mask alone (8-bit grey: 255 = person)."""


@dataclass(frozen=True)
class Refinement:
    """Settings of the guided filter (:func:`lrn.refine.guided_filter`): the radius as a share
    of the photo's shorter side and the resolution its coefficients are computed at (the coarse
    grid) as the length of its shorter side,
    so that a 600x800 and a 3000x4000 photo get the same look for about the same work, and
    ``eps`` (smoothing)."""

    radius_fraction: float = 0.04
    eps: float = 1e-3
    coarse_side: int = 150

    def radius(self, shape) -> int:
        """Radius in the photo's pixels."""
        return max(1, int(round(self.radius_fraction * min(shape[:2]))))

    def subsample(self, shape) -> int:
        """How much the photo is shrunk for the coarse grid (4 for a 600x800 photo)."""
        return max(1, min(shape[:2]) // self.coarse_side)

    def apply(self, photo: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """The refined matte of ``prob`` with ``photo`` as guide."""
        return refine.guided_filter(photo, prob, self.radius(photo.shape), self.eps, self.subsample(photo.shape))


STEPS = ("clean", "refine")
"""The steps :func:`opacity` may take before the soft-edge ramp: ``"clean"``
(:func:`clean_probability`) and ``"refine"`` (the guided filter, :class:`Refinement`)."""


def chosen_whitening(choice: dict, source: str = "the shipped model's card") -> tuple[tuple[str, ...], Refinement, float, float]:
    """``(steps, refinement, low, high)`` from a whitening choice (:func:`lrn.shipped.whitening`);
    what ``choice`` leaves out is the built-in default (``("clean", "refine")``, ``Refinement()``,
    :data:`lrn.cutout_model.SOFT_EDGE`). :class:`InputError` naming ``source`` for a choice that
    cannot be run."""
    steps = tuple(choice.get("steps", STEPS))
    if any(step not in STEPS for step in steps) or len(set(steps)) != len(steps):
        raise InputError(f"{source}: whitening steps {list(steps)} are not an order of {' and '.join(STEPS)}")
    try:
        refinement = Refinement(**choice.get("refinement", {}))
        low, high = (float(v) for v in choice.get("ramp", SOFT_EDGE))
    except (TypeError, ValueError) as error:
        raise InputError(f"{source}: cannot read its whitening {choice}: {error}") from None
    if not 0 <= low < high <= 1:
        raise InputError(f"{source}: its whitening ramp needs 0 <= low < high <= 1, got {low}, {high}")
    return steps, refinement, low, high


WHITEN_STEPS, DEFAULT_REFINEMENT, LOW, HIGH = chosen_whitening(shipped.whitening())
"""What ``lrn whiten`` does by default, as ``make model`` chose it for the shipped model on
validation photos and wrote it on its card (:func:`lrn.shipped.whitening`; the book's page
*Cut-outs without haze* shows the choice): the steps before the ramp, in order
(:data:`STEPS`), the guided filter's settings, and the soft edge's ends (opacity 0 at or below
``LOW``, 1 at or above ``HIGH``). The Try-it page reads them from its ``config.json``."""


def clean_probability(prob: np.ndarray) -> np.ndarray:
    """Keep one person: the largest region of the mask (:func:`lrn.metrics.threshold_prob`) with its holes filled.

    Far from that region the probability becomes 0 (stray blobs vanish); in a band around
    it (2 % of the diagonal) it is kept, so the cut-out keeps its soft edge; holes inside
    become 1.
    """
    person = metrics.threshold_prob(prob)
    keep = postprocess.largest_component_filled(person)
    if not keep.any():
        return np.zeros_like(prob)
    band = max(1, int(round(EDGE_FRACTION * np.hypot(*prob.shape))))
    near = ndimage.binary_dilation(keep, iterations=band)
    cleaned = np.where(near, prob, 0.0).astype(np.float32)
    cleaned[keep & ~person] = 1.0
    return cleaned


def as_cutout_model(model, feed: str | None = None, fit: str | None = None) -> CutoutModel:
    """``model`` as a :class:`CutoutModel`: itself, or a bare network with the default feed.

    ``feed`` given replaces the model's own; ``fit`` is its deprecated name.
    """
    if fit is not None:
        warnings.warn("the `fit` argument is now called `feed`", DeprecationWarning, stacklevel=3)
        feed = fit if feed is None else feed
    if not isinstance(model, CutoutModel):
        model = CutoutModel(model)
    if feed is not None and feed != model.feed:
        model = CutoutModel(model.network, check_feed(feed), model.clean, model.how)
    return model


def segment(model, photo: np.ndarray, clean: bool = False, forward=None,
            refinement: Refinement | None = None, feed: str | None = None, fit: str | None = None) -> np.ndarray:
    """Probability of "person" at every pixel of ``photo``.

    Parameters
    ----------
    model : lrn.cutout_model.CutoutModel, keras.Model or lrn.lite.LiteModel
        An ``lrn`` model (LRN: its last output s6 is used; U-Net: its only output), with its
        feed (:func:`lrn.pretrained`, :func:`load`) or bare (fed ``"squash"``).
    photo : uint8 array (H, W, 3), any H and W (read it upright: :func:`lrn.imageops.read_photo`).
    clean : bool
        Keep only the largest person region, holes filled (:func:`clean_probability`).
    forward : callable, optional
        ``x (1, h, w, 3) float32 -> finest map (1, h, w, 1)`` in place of the model's own
        (default: the model's own, :meth:`lrn.cutout_model.CutoutModel.__call__`).
    refinement : Refinement, optional
        Refine the edges with the photo as guide (after cleaning); ``None``: no refinement.
    feed : {"squash", "pad"}, optional
        How the photo enters the model (:data:`lrn.cutout_model.FEEDS`): the way the model
        was trained. Default: the model's own feed (``"squash"`` for a bare network).
    fit : deprecated name of ``feed``.

    Returns
    -------
    float32 array (H, W) in [0, 1] at the photo's own resolution (bilinear resize back,
    then cleaning and refinement as asked).
    """
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise InputError(f"photo must be an H x W x 3 uint8 array, got {photo.shape} {photo.dtype}")
    model = as_cutout_model(model, feed, fit)
    x, box = feeding.network_input(photo, model.feed, model.input_size)
    fine = np.asarray((forward or model)(x))[0, ..., 0]
    back = feeding.map_back(fine, box, photo.shape[:2])
    prob = np.clip(back, 0.0, 1.0)
    if clean:
        prob = clean_probability(prob)
    if refinement is not None:
        prob = refinement.apply(photo, prob)
    return prob


def edge_alpha(prob: np.ndarray, low: float = LOW, high: float = HIGH) -> np.ndarray:
    """Opacity of the photo: 0 below ``low``, 1 above ``high``, a smooth ramp between (soft edge,
    :data:`lrn.cutout_model.SOFT_EDGE`)."""
    if not 0 <= low < high <= 1:
        raise InputError(f"need 0 <= low < high <= 1 for the soft edge, got low={low}, high={high}")
    t = np.clip((prob - low) / (high - low), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)  # smoothstep: no visible seam where the ramp starts or ends


def parse_colour(text: str) -> tuple[int, int, int]:
    """``"#RRGGBB"``, ``"RRGGBB"``, ``"R,G,B"`` (0-255) or a CSS colour name -> an RGB triple.

    Names and ``#`` forms are Pillow's (:func:`PIL.ImageColor.getrgb`: ``grey`` is 128, 128, 128).
    """
    from PIL import ImageColor

    value = text.strip().lower()
    try:
        if "," in value:
            rgb = tuple(int(v) for v in value.split(","))
        else:
            hex_digits = len(value) == 6 and all(c in "0123456789abcdef" for c in value)
            rgb = ImageColor.getrgb("#" + value if hex_digits else value)[:3]
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise InputError(f"cannot read the colour {text!r}: use #RRGGBB, R,G,B (0-255) or a CSS colour name "
                         "(white, grey, navy, ...)")
    return rgb


def alpha(prob: np.ndarray, refined: bool, low: float = LOW, high: float = HIGH) -> np.ndarray:
    """Opacity in [0, 1]: a refined matte as it is, a raw map with the soft ramp.

    Not what ``lrn whiten`` composes with since it ramps refined mattes too: see :func:`opacity`.
    """
    return np.clip(prob, 0.0, 1.0) if refined else edge_alpha(prob, low, high)


def opacity(model, photo: np.ndarray, clean: bool | None = None, refinement: Refinement | None = DEFAULT_REFINEMENT,
            low: float = LOW, high: float = HIGH, forward=None, feed: str | None = None, steps=None) -> np.ndarray:
    """The opacity ``lrn whiten`` composes ``photo`` with: float32 ``(H, W)`` in [0, 1].

    With ``refinement`` (the default): the map at the photo's resolution (:func:`segment`)
    through ``steps`` in order (default :data:`WHITEN_STEPS`, the shipped model's card):
    ``"clean"`` (:func:`clean_probability`) and ``"refine"`` (``refinement`` with the photo as
    guide), then the soft-edge ramp (:func:`edge_alpha`, ``low``/``high``). ``clean`` ``False``
    skips the cleaning step, ``True`` cleans first when the steps do not clean, ``None`` follows
    the steps whatever the model's own default.

    Without ``refinement``: the map, cleaned if ``clean`` (``None``: the model's own default,
    :class:`lrn.cutout_model.CutoutModel`), with the soft-edge ramp.
    """
    model = as_cutout_model(model, feed)
    if refinement is None:
        prob = segment(model, photo, clean=model.clean if clean is None else clean, forward=forward)
        return edge_alpha(prob, low, high).astype(np.float32)
    steps = WHITEN_STEPS if steps is None else tuple(steps)
    if clean is True and "clean" not in steps:
        steps = ("clean", *steps)
    matte = segment(model, photo, forward=forward)
    for step in steps:
        if step == "refine":
            matte = refinement.apply(photo, matte)
        elif step == "clean" and clean is not False:
            matte = clean_probability(matte)
        elif step != "clean":
            raise InputError(f"unknown whitening step {step!r}: expected one of {', '.join(STEPS)}")
    return edge_alpha(matte, low, high).astype(np.float32)


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
            refinement: Refinement | None = DEFAULT_REFINEMENT, low: float = LOW, high: float = HIGH,
            forward=None, feed: str | None = None, fit: str | None = None) -> np.ndarray:
    """One photo, start to end: :func:`opacity`, then :func:`compose` (what ``lrn whiten`` writes).

    ``clean`` as for :func:`opacity`: ``False`` never cleans; ``None`` cleans a refined matte,
    and otherwise follows the model (a :class:`CutoutModel`'s ``clean``).
    """
    model = as_cutout_model(model, feed, fit)
    return compose(photo, opacity(model, photo, clean, refinement, low, high, forward), mode, colour)


def save_png(image: np.ndarray, target) -> None:
    """Write ``image`` (uint8 grey, RGB or RGBA) as a PNG to a path or a binary stream."""
    from PIL import Image

    Image.fromarray(image).save(target, format="PNG", compress_level=1)  # lossless; fast beats a few % smaller


def whiten_file(model, photo_path, out_dir, mode: str = "white", colour=WHITE, clean: bool | None = None,
                refinement: Refinement | None = DEFAULT_REFINEMENT, low: float = LOW, high: float = HIGH,
                forward=None, feed: str | None = None) -> Path:
    """Read ``photo_path`` upright, cut the person out (:func:`cut_out`), write a PNG into
    ``out_dir`` (:func:`output_name`) and return its path."""
    image = cut_out(model, imageops.read_photo(photo_path), mode, colour, clean, refinement, low, high, forward, feed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / output_name(photo_path, mode)
    save_png(image, target)
    return target


SUFFIXES = {"white": "_white", "colour": "_bg", "transparent": "_cutout", "mask": "_mask"}


def output_name(photo_path, mode: str) -> str:
    """``<stem>_white.png``, ``<stem>_bg.png``, ``<stem>_cutout.png`` or ``<stem>_mask.png``."""
    return f"{Path(photo_path).stem}{SUFFIXES[mode]}.png"


def load(model_file=None, trust: bool = False, verbose: bool = True) -> tuple[CutoutModel, str]:
    """The fastest runnable form of a model file: ``(model, how)``.

    ``model_file`` ``None`` is the shipped model. A converted ``.tflite`` (beside the file or
    in the cache, :func:`lrn.lite.cached_conversion`) runs without importing TensorFlow.
    Otherwise the ``.keras`` file is loaded (safe mode unless ``trust``), converted once and
    cached (:func:`lrn.fastforward.for_model_file`); when conversion fails, Keras predicts
    and ``how`` says why.

    Returns
    -------
    model : lrn.cutout_model.CutoutModel
        Its network a ``LiteModel`` or a ``keras.Model``; the shipped model's feed and cleaning
        from its card, any other file's the defaults (``"squash"``, cleaned).
    how : str
        E.g. ``"LiteRT (XNNPACK), converted file"`` (also the model's ``how``).
    """
    path = Path(model_file) if model_file is not None else shipped.MODEL_FILE
    if model_file is None and not path.is_file():
        shipped.pretrained()  # raises the error that says how to get it
    if not path.is_file():
        raise InputError(f"no model file at {path}")
    if model_file is None and shipped.converted_on_first_use():
        shipped.tflite_file(verbose)  # packed without a .tflite: converted once into the cache, found there below
    network, how = _load(path, trust, verbose)
    if model_file is None:  # the shipped model: fed the way it was trained, cleaned as its card says
        return CutoutModel(network, shipped.feed(), shipped.clean(), how), how
    return CutoutModel(network, how=how), how


def _load(path: Path, trust: bool, verbose: bool):
    converted = lite.cached_conversion(path)
    if converted is not None:
        try:
            with native_stderr.filtered():  # the interpreter's "Created ... XNNPACK delegate" line
                model = lite.LiteModel.from_file(converted)
            return model, f"{model.runtime} (XNNPACK), converted file {converted.name}"
        except Exception as error:  # noqa: BLE001 - an unreadable conversion: start again from the .keras file
            if verbose:
                print(f"lrn: {converted} not used ({type(error).__name__}: {error}); converting again",
                      file=sys.stderr)
    with tensorflow_start_up_filtered():
        from lrn import models  # TensorFlow only when no converted .tflite is there

        try:
            keras_model = models.load(path, safe_mode=not trust)
        except InputError as error:
            if "refused" in str(error):
                raise InputError(f"{error} On the command line: --trust-model.") from None
            raise
        forward, how = fastforward.for_model_file(path, keras_model, verbose=verbose)
    return (forward if isinstance(forward, lite.LiteModel) else keras_model), how
