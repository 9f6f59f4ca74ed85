"""The paper's four models by name, and what a name says about a model (no TensorFlow needed)."""

VARIANTS = ("lrn", "lrn_vgg", "unet", "unet_vgg")
"""LRN and U-Net, each from Glorot-uniform (``lrn``, ``unet``) or ImageNet weights (``*_vgg``)."""

DISPLAY_NAMES = {"lrn": "LRN", "lrn_vgg": "LRN-VGG", "unet": "UNET", "unet_vgg": "UNET-VGG"}
"""The paper's names of the variants (Table 1)."""

IMAGENET_SUFFIX = "_vgg"


def is_imagenet(variant: str) -> bool:
    """Whether ``variant`` starts from ImageNet VGG-16 weights (and trains in two stages)."""
    return variant.endswith(IMAGENET_SUFFIX)


def is_lrn(variant: str) -> bool:
    """Whether ``variant`` is a Label Refinement Network (six outputs s1..s6) rather than a U-Net."""
    return architecture(variant) == "lrn"


def architecture(variant: str) -> str:
    """``"lrn"`` or ``"unet"``: the network of ``variant`` whatever its starting weights."""
    return variant.removesuffix(IMAGENET_SUFFIX)
