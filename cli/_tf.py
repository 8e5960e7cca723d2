"""Loading TensorFlow for the one command that builds networks (`archs show`), quietly."""
from __future__ import annotations

import os
import sys


def import_tensorflow_quietly() -> None:
    """Load TensorFlow with its C++ start-up lines (absl's, printed before any log level applies:
    TF_CPP_MIN_LOG_LEVEL cannot hide them) sent to /dev/null: noise in a command's output."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
