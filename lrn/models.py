"""The four networks of the paper: LRN and U-Net on a VGG-16 encoder.

* the encoder is the 13 convolutions of VGG-16 (3x3, ReLU, 'same' padding; five 2x2
  max-pools) with Keras' layer names, so ImageNet weights load by name;
* every model starts with :class:`VGGPreprocess`, so callers feed plain RGB photos in
  [0, 255] and saved models are self-contained; its mode matches the weights in use
  (``caffe`` for Keras' Oxford weights and for random initialisation, ``torch`` for
  torchvision's);
* :func:`build_lrn` has six sigmoid outputs ``s1`` (coarsest, H/32) .. ``s6`` (H x W);
  :func:`build_unet` has one H x W output.

At width 1 and 224x224x3 input, LRN has 15,864,198 parameters and U-Net 31,970,049.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import keras
import numpy as np
from keras import layers

from lrn.errors import InputError
from lrn.shapes import check_side
from lrn import variants
from lrn.variants import VARIANTS

# (block, number of convs, filters) of the VGG-16 encoder.
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))
# Skip taps from fine (224) to coarse (14): the last conv of each block.
SKIP_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
ENCODER_LAYERS = tuple(
    f"block{b}_conv{i}" for b, n, _ in VGG16_BLOCKS for i in range(1, n + 1)
)
UNET_DECODER_FILTERS = (512, 512, 256, 128, 64)  # coarse (14) to fine (224)
LRN_UNIT_FILTERS = 64
LEVEL_NAMES = ("s1", "s2", "s3", "s4", "s5", "s6")

# The Keras cache file of the ImageNet VGG-16 without its classifier.
IMAGENET_FILENAME = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


PREPROCESSING = ("caffe", "torch")


@keras.saving.register_keras_serializable(package="lrn")
class VGGPreprocess(layers.Layer):
    """VGG preprocessing as a layer, serialisable without a Lambda (loads with ``safe_mode`` on).

    Input: RGB photos, float or integer values in [0, 255], shape ``(batch, H, W, 3)``.

    * ``mode="caffe"``: RGB -> BGR minus the ImageNet mean (103.939, 116.779, 123.68), in
      [0, 255] units; the arithmetic of ``keras.applications.vgg16.preprocess_input`` and
      what Keras' (Oxford) VGG-16 weights expect.
    * ``mode="torch"``: RGB scaled to [0, 1], minus mean (0.485, 0.456, 0.406), divided by
      std (0.229, 0.224, 0.225): what torchvision's VGG-16 weights expect.
    """

    MEAN_BGR = (103.939, 116.779, 123.68)
    TORCH_MEAN = (0.485, 0.456, 0.406)
    TORCH_STD = (0.229, 0.224, 0.225)

    def __init__(self, mode: str = "caffe", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING:
            raise InputError(f"preprocessing mode must be one of {', '.join(PREPROCESSING)}, got {mode!r}")
        self.mode = mode

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        if self.mode == "torch":
            mean = keras.ops.convert_to_tensor(self.TORCH_MEAN, dtype="float32")
            std = keras.ops.convert_to_tensor(self.TORCH_STD, dtype="float32")
            return (x / 255.0 - mean) / std
        bgr = keras.ops.flip(x, axis=-1)
        return bgr - keras.ops.convert_to_tensor(self.MEAN_BGR, dtype="float32")

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def scaled(filters: int, width: float) -> int:
    """Filter count at a width multiplier: ``max(1, round(filters * width))``."""
    return max(1, int(round(filters * width)))


def check_input_shape(input_shape) -> tuple[int, int, int]:
    """Return ``(H, W, 3)`` or raise :class:`InputError` if H or W is not a multiple of 32."""
    if len(input_shape) != 3 or input_shape[2] != 3:
        raise InputError(f"input_shape must be (H, W, 3) for RGB photos, got {input_shape!r}")
    return check_side(input_shape[0], "input height"), check_side(input_shape[1], "input width"), 3


def check_width(width: float) -> float:
    if not np.isfinite(width) or width <= 0:
        raise InputError(f"width must be a positive number (1.0 = the paper's filter counts), got {width!r}")
    return float(width)


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise InputError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return variant


def vgg16_encoder(inputs, width: float = 1.0):
    """Apply the VGG-16 convolutional encoder to ``inputs`` (already preprocessed).

    Returns
    -------
    skips : list of tensors
        Outputs of ``SKIP_LAYERS`` from fine (H x W) to coarse (H/16 x W/16).
    bottom : tensor
        ``block5_pool``, H/32 x W/32.
    """
    x = inputs
    skips = []
    for block, n_convs, filters in VGG16_BLOCKS:
        for i in range(1, n_convs + 1):
            x = layers.Conv2D(scaled(filters, width), 3, padding="same", activation="relu",
                              name=f"block{block}_conv{i}")(x)
        skips.append(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    return skips, x


def refinement_unit(features, previous, index: int, width: float = 1.0, squeeze_skip: bool = False):
    """One LRN refinement unit producing the label map ``s{index}``.

    ``concat(features, up2(previous))`` -> conv 3x3 64 ReLU -> conv 3x3 1 sigmoid.
    ``previous`` is the sigmoid map of the coarser level (``None`` for RU1, which sees only
    ``block5_pool``). ``squeeze_skip`` puts back the original LRN's 1-filter 3x3 ReLU conv on
    the skip features (ablation only; the paper removed it).
    """
    x = features
    if squeeze_skip and previous is not None:
        x = layers.Conv2D(1, 3, padding="same", activation="relu", name=f"ru{index}_squeeze")(x)
    if previous is not None:
        up = layers.UpSampling2D(2, interpolation="bilinear", name=f"ru{index}_up")(previous)
        x = layers.Concatenate(name=f"ru{index}_concat")([x, up])
    x = layers.Conv2D(scaled(LRN_UNIT_FILTERS, width), 3, padding="same", activation="relu",
                      name=f"ru{index}_conv")(x)
    # The label map and its loss stay float32 under a mixed-precision policy (lrn.train).
    return layers.Conv2D(1, 3, padding="same", activation="sigmoid", name=f"s{index}", dtype="float32")(x)


def build_lrn(input_shape=(224, 224, 3), width: float = 1.0, encoder_weights=None,
              squeeze_skip: bool = False, preprocessing: str = "caffe") -> keras.Model:
    """The paper's Label Refinement Network.

    Parameters
    ----------
    input_shape : (H, W, 3)
        H and W multiples of 32. Inputs are RGB photos in [0, 255].
    width : float
        Multiplies every filter count (encoder and decoder; not the 1-filter outputs).
    encoder_weights : None, "imagenet" or path
        ``None``: Glorot-uniform everywhere. ``"imagenet"``: VGG-16 ImageNet weights through
        ``keras.applications`` (its cache, else a download). A path: a VGG-16 no-top weights
        file. Weights need ``width=1``.
    squeeze_skip : bool
        Ablation: the original LRN's 1-channel squeeze of the skip features.
    preprocessing : "caffe" or "torch"
        Mode of the :class:`VGGPreprocess` layer; it must match the encoder weights.

    Returns
    -------
    keras.Model
        Outputs ``[s1, ..., s6]``, each ``(batch, H/2**(6-k), W/2**(6-k), 1)`` float32 in
        (0, 1), from layers named ``s1``..``s6``.
    """
    shape = check_input_shape(input_shape)
    width = check_width(width)
    inputs = keras.Input(shape, name="photo")
    skips, bottom = vgg16_encoder(VGGPreprocess(preprocessing, name="vgg_preprocess", dtype="float32")(inputs), width)
    level = refinement_unit(bottom, None, 1, width)
    outputs = [level]
    for index, skip in zip(range(2, 7), reversed(skips)):
        level = refinement_unit(skip, level, index, width, squeeze_skip=squeeze_skip)
        outputs.append(level)
    model = keras.Model(inputs, outputs, name="lrn_squeeze" if squeeze_skip else "lrn")
    load_encoder_weights(model, encoder_weights, width)
    return model


def build_unet(input_shape=(224, 224, 3), width: float = 1.0, encoder_weights=None,
               preprocessing: str = "caffe") -> keras.Model:
    """The U-Net reference on the same VGG-16 encoder: one H x W x 1 sigmoid output.

    Five decoder levels from ``block5_pool``: x2 bilinear upsampling, concat the skip of that
    resolution, two conv 3x3 ReLU (512, 512, 256, 128, 64 filters); head conv 1x1 sigmoid.
    Parameters as in :func:`build_lrn`.
    """
    shape = check_input_shape(input_shape)
    width = check_width(width)
    inputs = keras.Input(shape, name="photo")
    skips, x = vgg16_encoder(VGGPreprocess(preprocessing, name="vgg_preprocess", dtype="float32")(inputs), width)
    for level, (skip, filters) in enumerate(zip(reversed(skips), UNET_DECODER_FILTERS), start=1):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{level}_up")(x)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, skip])
        for i in (1, 2):
            x = layers.Conv2D(scaled(filters, width), 3, padding="same", activation="relu",
                              name=f"dec{level}_conv{i}")(x)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="unet")
    load_encoder_weights(model, encoder_weights, width)
    return model


def build_model(variant: str, input_shape=(224, 224, 3), width: float = 1.0, encoder_weights=None,
                **kwargs) -> keras.Model:
    """Build a variant by name: ``lrn``/``lrn_vgg`` -> :func:`build_lrn`, ``unet``/``unet_vgg`` -> :func:`build_unet`."""
    check_variant(variant)
    builder = build_lrn if variants.is_lrn(variant) else build_unet
    return builder(input_shape, width=width, encoder_weights=encoder_weights, **kwargs)


def imagenet_weights_path() -> Path:
    """Where ``keras.applications`` keeps the ImageNet VGG-16 no-top weights."""
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return keras_home / "models" / IMAGENET_FILENAME


def reference_vgg16(encoder_weights, input_shape=(224, 224, 3)) -> keras.Model:
    """``keras.applications.VGG16`` without its classifier, holding ``encoder_weights``.

    Raises :class:`InputError` saying where the file is expected when the weights cannot be
    had (no network here), never returns a random encoder in their place.
    """
    if encoder_weights == "imagenet":
        try:
            return keras.applications.VGG16(include_top=False, weights="imagenet", input_shape=input_shape)
        except Exception as error:  # the download fails without network
            raise InputError(
                "ImageNet VGG-16 weights are not available: keras.applications expects the file "
                f"{imagenet_weights_path()} (its cache) and could not download it ({error}). "
                "Put the file there, or pass encoder_weights='/path/to/" + IMAGENET_FILENAME + "'."
            ) from error
    path = Path(encoder_weights)
    if not path.is_file():
        raise InputError(f"VGG-16 weights file not found: {path}")
    try:
        return keras.applications.VGG16(include_top=False, weights=str(path), input_shape=input_shape)
    except Exception as error:
        raise InputError(f"cannot load VGG-16 no-top weights from {path}: {error}") from error


def load_encoder_weights(model: keras.Model, encoder_weights, width: float) -> None:
    """Copy VGG-16 weights into the encoder layers of ``model`` by layer name (in place)."""
    if encoder_weights is None:
        return
    if width != 1.0:
        raise InputError(f"pretrained encoder weights need width=1, got width={width}")
    reference = reference_vgg16(encoder_weights, tuple(model.input.shape[1:]))
    for name in ENCODER_LAYERS:
        model.get_layer(name).set_weights(reference.get_layer(name).get_weights())


def set_encoder_trainable(model: keras.Model, trainable: bool) -> None:
    """Freeze (``False``) or unfreeze (``True``) the 13 VGG-16 convolutions; recompile afterwards."""
    for name in ENCODER_LAYERS:
        model.get_layer(name).trainable = trainable


def freeze_encoder(model: keras.Model) -> None:
    """Stage 1 of the "vgg" schedule: encoder fixed, decoder learns."""
    set_encoder_trainable(model, False)


def unfreeze_encoder(model: keras.Model) -> None:
    """Stage 2 of the "vgg" schedule: everything learns."""
    set_encoder_trainable(model, True)


def is_lrn(model: keras.Model) -> bool:
    return len(model.outputs) == len(LEVEL_NAMES)


def conv_flops(model: keras.Model) -> int:
    """Forward FLOPs of one image: 2 per multiply-add of the convolution kernels only.

    Biases, activations, pooling and upsampling are not counted.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            total += 2 * h * w * c_out * kh * kw * c_in
    return int(total)


def load(path, safe_mode: bool = True) -> keras.Model:
    """Load a ``.keras`` model written by ``lrn`` (``keras.saving.load_model`` with ``safe_mode``).

    ``safe_mode`` refuses files that carry arbitrary code (e.g. Lambda layers); pass
    ``safe_mode=False`` only for a file you trust.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    if path.suffix != ".keras":
        raise InputError(f"model file {path} must be a .keras archive saved by lrn or Keras 3")
    if not zipfile.is_zipfile(path):  # Keras would say "file not found" for a damaged archive
        raise InputError(f"model file {path} is not a .keras archive (not a zip file): damaged or not a model")
    try:
        return keras.saving.load_model(path, safe_mode=safe_mode)
    except ValueError as error:
        if "Lambda" in str(error) or "safe_mode" in str(error):
            raise InputError(
                f"refused to load {path}: it carries code (a Lambda layer or similar) that would run "
                "when loaded. If you trust the file, load it with lrn.models.load(path, safe_mode=False)."
            ) from error
        raise InputError(f"cannot load model {path}: {error}") from error
    except Exception as error:
        raise InputError(f"cannot load model {path}: {error}") from error
