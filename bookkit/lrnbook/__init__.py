"""lrnbook: the machinery of the lrn-book Jupyter Book, beside the ``lrn`` library.

It plans the runs of a profile (``params/<profile>.yaml``) as stages (*fit*, *score*,
*page*), keys each stage by what it really depends on, executes what is missing or stale,
stages the book's sources and holds the helpers the notebooks call. It imports ``lrn``;
``lrn`` never imports it.
"""
