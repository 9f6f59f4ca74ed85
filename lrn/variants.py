"""The paper's four models by name (no TensorFlow needed to read them)."""

VARIANTS = ("lrn", "lrn_vgg", "unet", "unet_vgg")
"""LRN and U-Net, each from Glorot-uniform (``lrn``, ``unet``) or ImageNet weights (``*_vgg``)."""

DISPLAY_NAMES = {"lrn": "LRN", "lrn_vgg": "LRN-VGG", "unet": "UNET", "unet_vgg": "UNET-VGG"}
"""The paper's names of the variants (Table 1)."""
