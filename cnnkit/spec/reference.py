"""Building blocks of the trusted reference implementations (each one is in its function's module).

The references (cnnkit/spec/functions/<name>.py, ``reference``) are what the grader believes. They are
written differently from the loop-based solutions in the master notebook on purpose (whole-array numpy:
``sliding_window_view``, ``einsum``, ``np.add.at``), so that a slip in one is not repeated in the other, and
they never reach the student's kernel: the kit's ``VerifyResults`` step runs them in the grading process.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(n_prev, f, pad, stride):
    """floor((n_prev - f + 2 * pad) / stride) + 1, the spec's output-size formula."""
    return (n_prev - f + 2 * pad) // stride + 1


def windows(A, f, stride):
    """All f x f windows of A (m, n_H, n_W, n_C) at the given stride.

    Returns a view of shape (m, n_H_out, n_W_out, n_C, f, f).
    """
    return sliding_window_view(A, (f, f), axis=(1, 2))[:, ::stride, ::stride]


def window_origins(n_out, stride):
    """Top-left row (or column) of every output position along one axis."""
    return np.arange(n_out) * stride
