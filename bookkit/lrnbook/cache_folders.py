"""Sub-folders of the user cache (:func:`lrn.cache.cache_dir`) that the book's machinery writes.

The library's own sub-folders (``backups``, ``models``, ``tflite``, ``vgg16``) are named in
:mod:`lrn.cache`; these are the book's, each named once here. No imports: :mod:`lrnbook.keys`
reads it.
"""

KEYS = "keys"
"""Memo of normalised-source hashes, by the normaliser's own hash (:mod:`lrnbook.keys`)."""
TRYIT = "tryit"
"""The Try-it page's browser copy of the shipped model, by the shipped file's sha256 (:mod:`lrnbook.tryit`)."""
PEER = "peer"
"""MediaPipe's selfie segmentation model with its ``.sha256`` record (:mod:`lrnbook.peer`)."""
