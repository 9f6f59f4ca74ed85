"""lrn: Label Refinement Networks for head-and-torso segmentation.

The reproducible companion to J. R. Pinto and J. S. Cardoso, "Fine Segmentation of Head
and Torso Using Label Refinement Networks", RECPAD 2019.

Importing ``lrn`` turns TensorFlow's oneDNN kernels on (``TF_ENABLE_ONEDNN_OPTS=1``),
which measured 1.2-1.9x faster on the project's CPUs. A value the user already set wins.
It only takes effect if TensorFlow has not been imported before ``lrn``.
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of notebooks

__version__ = "0.1.0"

VARIANTS = ("lrn", "lrn_vgg", "unet", "unet_vgg")
DISPLAY_NAMES = {"lrn": "LRN", "lrn_vgg": "LRN-VGG", "unet": "UNET", "unet_vgg": "UNET-VGG"}

# Importing the models registers their custom layer, so that after ``import lrn`` a saved
# model loads with plain ``keras.saving.load_model(path)``.
from lrn import models  # noqa: E402,F401
from lrn.cutout import segment  # noqa: E402,F401  (lrn.segment(model, photo, clean=False))


def pretrained(safe_mode: bool = True):
    """The LRN shipped inside the package, as a ``keras.Model`` (see :mod:`lrn.shipped`; academic use only)."""
    from lrn.shipped import pretrained as load  # imported here so that `python -m lrn.shipped` stays clean

    return load(safe_mode)
