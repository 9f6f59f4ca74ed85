"""A model ready for the cut-out, and the facts of its use shared by the library, the CLI and the book.

A :class:`CutoutModel` carries a network (a ``keras.Model`` or an :class:`lrn.lite.LiteModel`)
with how photos enter it (its *feed*, :data:`FEEDS`) and whether its maps are cleaned by
default. :func:`lrn.pretrained` and :func:`lrn.cutout.load` return one for the shipped model;
:func:`lrn.segment` and :func:`lrn.cutout.cut_out` read its feed and cleaning from it.

The feed is the model's, not the photo's: a model is fed the way it was trained. The soft
edge (:data:`SOFT_EDGE`) is ``lrn whiten``'s default ramp, which the book's Try-it page reads
from its ``config.json`` (:mod:`lrnbook.tryit`).
"""
from __future__ import annotations

from dataclasses import dataclass

from lrn import native_stderr
from lrn.errors import InputError

FEEDS = ("pad", "squash")
"""How a photo enters a model's square input: letterboxed with its aspect ratio kept
(:mod:`lrn.letterbox`, the pad marked background), or resized ignoring its aspect ratio (how
``lrn train``'s models are trained). The shipped model's way is on its card
(:func:`lrn.shipped.feed`)."""
DEFAULT_FEED = "squash"
"""The feed of a model that does not say (every model of ``lrn train``)."""

SOFT_EDGE = (0.3, 0.7)
"""The soft edge of the cut-out: opacity 0 below the first probability, 1 above the second, a
smooth ramp between (:func:`lrn.cutout.edge_alpha`, ``lrn whiten --low/--high``)."""


def check_feed(feed: object) -> str:
    """``feed`` if it is one of :data:`FEEDS`, else :class:`lrn.errors.InputError`."""
    if feed not in FEEDS:
        raise InputError(f"feed={feed!r}; expected one of {', '.join(FEEDS)}")
    return feed


@dataclass(frozen=True)
class CutoutModel:
    """A network with what the cut-out needs to know of it.

    Attributes
    ----------
    network : keras.Model or lrn.lite.LiteModel
        An ``lrn`` model (LRN: its last output s6 is the finest map; U-Net: its only output).
    feed : str
        How photos enter it (:data:`FEEDS`): the way it was trained.
    clean : bool
        Whether :func:`lrn.cutout.cut_out` (and ``lrn whiten``) clean its map unless told.
    how : str
        How it runs, for people (e.g. ``"LiteRT (XNNPACK), converted file"``).
    """

    network: object
    feed: str = DEFAULT_FEED
    clean: bool = True
    how: str = ""

    def __post_init__(self):
        check_feed(self.feed)

    @property
    def input_size(self) -> tuple[int, int]:
        """``(height, width)`` the network takes (a ``LiteModel``'s ``input_size``, else the Keras input shape)."""
        size = getattr(self.network, "input_size", None)
        if size is None:
            _, *size, _ = self.network.input.shape
        return int(size[0]), int(size[1])

    def __call__(self, x):
        """``x (1, h, w, 3) float32 -> finest map (1, h, w, 1)``: the network's forward (a Keras
        network's is :func:`keras_forward`; a ``LiteModel`` is its own)."""
        if hasattr(self.network, "predict_on_batch"):
            return keras_forward(self.network)(x)
        return self.network(x)


def keras_forward(model):
    """A Keras model's forward for one photo: ``model.predict_on_batch``, reduced to the finest map."""
    import numpy as np  # not at the top: the CLI reads this module's facts before it parses its arguments

    def forward(x):
        outputs = model.predict_on_batch(x)
        return np.asarray(outputs[-1] if isinstance(outputs, (list, tuple)) else outputs)
    return forward


HARMLESS_START_UP = ("All log messages before absl::InitializeLog", "Could not find cuda drivers",
                     "failed call to cuInit", "cpu_feature_guard", "To enable the following instructions",
                     "oneDNN custom operations are on", *native_stderr.LITERT_START_UP)
"""What TensorFlow's native code prints on stderr when it starts on a machine without a GPU:
nothing a user of the cut-out can act on (the cuInit line is even at error level), and the
LiteRT interpreter's line when a converted model is made."""


def tensorflow_start_up_filtered():
    """A context in which TensorFlow code runs with its native start-up lines (:data:`HARMLESS_START_UP`)
    held back; Python's own messages still appear at once, and every other native line is passed
    on when the block ends (:func:`lrn.native_stderr.filtered`)."""
    return native_stderr.filtered(HARMLESS_START_UP, python_live=True)
