"""lrn: Label Refinement Networks for head-and-torso segmentation.

The reproducible companion to J. R. Pinto and J. S. Cardoso, "Fine Segmentation of Head
and Torso Using Label Refinement Networks", RECPAD 2019.

Importing ``lrn`` turns TensorFlow's oneDNN kernels on (``TF_ENABLE_ONEDNN_OPTS=1``),
which measured 1.2-1.9x faster at the book's small widths on AVX2 CPUs (``benchmarks/NOTES.md``). A value
the user already set wins. It only takes effect if TensorFlow has not been imported
before ``lrn``.

Importing ``lrn`` imports neither TensorFlow nor the cut-out code: ``lrn.segment(model,
photo)`` and ``lrn.pretrained()`` are loaded on first use. ``lrn.models`` registers the
models' custom layer with Keras (``lrn.models.load`` and ``lrn.pretrained`` import it).
"""
import importlib
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet

__version__ = "0.1.0"

from lrn.variants import DISPLAY_NAMES, VARIANTS  # noqa: E402,F401

_LAZY = {"segment": ("lrn.cutout", "segment"), "pretrained": ("lrn.shipped", "pretrained")}


def __getattr__(name):
    """PEP 562 lazy attributes: ``lrn.segment`` (:func:`lrn.cutout.segment`), ``lrn.pretrained``."""
    if name not in _LAZY:
        raise AttributeError(f"module 'lrn' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    return getattr(importlib.import_module(module), attribute)
