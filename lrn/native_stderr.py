"""Hold back what native code writes to standard error and a user cannot act on.

The LiteRT interpreter (and TensorFlow) log from C++ straight to file descriptor 2, past
Python's ``sys.stderr``: redirecting ``sys.stderr`` does not catch those lines.
:func:`filtered` points descriptor 2 at a temporary file for the length of a block, then
passes on every line but the harmless ones, so that real errors still reach the user.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

LITERT_START_UP = ("Created TensorFlow Lite XNNPACK delegate for CPU",)
"""What the LiteRT interpreter prints (at ``INFO`` level) each time one is created: nothing a
user of the cut-out can act on."""


@contextlib.contextmanager
def filtered(harmless: tuple[str, ...] = LITERT_START_UP, python_live: bool = False):
    """Run a block with the standard-error lines that contain one of ``harmless`` dropped.

    Everything written to descriptor 2 in the block (native code's lines, and Python's own
    when ``sys.stderr`` writes there) is held back and passed on when the block ends, also
    when it raises, without the harmless lines and in the order written.

    Parameters
    ----------
    harmless : tuple of str
        Parts of the lines to drop: a line containing any of them is dropped.
    python_live : bool
        Let Python's own messages (``sys.stderr``: warnings, progress) reach the terminal at
        once instead of holding them back with the native lines: for long blocks, such as
        loading TensorFlow and a model.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a detached process): nothing to hold back
        yield
        return
    with tempfile.TemporaryFile() as held, contextlib.ExitStack() as live:
        if python_live:
            terminal = live.enter_context(open(os.dup(saved), "w", buffering=1))
            live.enter_context(contextlib.redirect_stderr(terminal))
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()  # Python's buffered lines of the block belong to the held ones
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                if not any(mark in line for mark in harmless):
                    print(line, file=sys.stderr)
