"""Data: EG1800 (real portraits), your own folders, cut-outs and synthetic figures.

Every loader returns :class:`Split` objects of ``uint8 (N, S, S, 3)`` photos and
``bool (N, S, S)`` masks. Note: the functions ``eg1800``, ``folder`` and ``synthetic``
shadow the submodules of the same names as attributes of this package; import from the
submodules (``from lrn.data.eg1800 import PROTOCOLS``) to reach their other names.
"""
from lrn.data.split import Split
from lrn.data.eg1800 import EG1800Data, eg1800
from lrn.data.folder import folder, mask_from_cutout
from lrn.data.synthetic import synthetic

__all__ = ["Split", "eg1800", "folder", "mask_from_cutout", "synthetic", "EG1800Data"]
