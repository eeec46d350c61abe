"""Trusted reference implementations of the eight assignment functions.

These are what the grader believes. They are written differently from the
loop-based solutions in the master notebook on purpose (whole-array numpy:
``sliding_window_view``, ``einsum``, ``np.add.at``), so that a slip in one is not
repeated in the other, and they never reach the student's kernel: the kit's
``VerifyResults`` step runs them in the grading process.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(n_prev, f, pad, stride):
    """floor((n_prev - f + 2 * pad) / stride) + 1, the spec's output-size formula."""
    return (n_prev - f + 2 * pad) // stride + 1


def zero_pad(X, pad):
    """Pad height and width (axes 1 and 2) of an (m, n_H, n_W, n_C) batch with zeros."""
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C), dtype=np.result_type(X, 0.0))
    X_pad[:, pad : pad + n_H, pad : pad + n_W, :] = X
    return X_pad


def conv_single_step(a_slice_prev, W, b):
    """sum(a_slice_prev * W) + b, as a Python float."""
    return float(np.einsum("ijk,ijk->", a_slice_prev, W) + np.asarray(b).reshape(-1)[0])


def windows(A, f, stride):
    """All f x f windows of A (m, n_H, n_W, n_C) at the given stride.

    Returns a view of shape (m, n_H_out, n_W_out, n_C, f, f).
    """
    return sliding_window_view(A, (f, f), axis=(1, 2))[:, ::stride, ::stride]


def conv_forward(A_prev, W, b, hparameters):
    """Convolution forward pass: (Z, cache) with Z of shape (m, n_H, n_W, n_C)."""
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    n_H = output_size(A_prev.shape[1], f, pad, stride)
    n_W = output_size(A_prev.shape[2], f, pad, stride)
    patches = windows(zero_pad(A_prev, pad), f, stride)[:, :n_H, :n_W]
    Z = np.einsum("mhwcij,ijcn->mhwn", patches, W) + b.reshape(1, 1, 1, -1)
    return Z, (A_prev, W, b, hparameters)


def pool_forward(A_prev, hparameters, mode="max"):
    """Pooling forward pass: (A, cache) with A of shape (m, n_H, n_W, n_C)."""
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = output_size(A_prev.shape[1], f, 0, stride)
    n_W = output_size(A_prev.shape[2], f, 0, stride)
    patches = windows(A_prev, f, stride)[:, :n_H, :n_W]
    reduce = {"max": np.max, "average": np.mean}[mode]
    return reduce(patches, axis=(4, 5)), (A_prev, hparameters)


def window_origins(n_out, stride):
    """Top-left row (or column) of every output position along one axis."""
    return np.arange(n_out) * stride


def conv_backward(dZ, cache):
    """Gradients (dA_prev, dW, db) of the convolution, by scatter-adding each window."""
    A_prev, W, b, hparameters = cache
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    A_pad = zero_pad(A_prev, pad)
    patches = windows(A_pad, f, stride)[:, :n_H, :n_W]
    dW = np.einsum("mhwcij,mhwn->ijcn", patches, dZ)
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    dA_pad = np.zeros_like(A_pad)
    # Each output position (h, w) sends W * dZ back into its own window.
    contributions = np.einsum("ijcn,mhwn->mhwijc", W, dZ)
    rows = window_origins(n_H, stride)[:, None] + np.arange(f)[None, :]  # (n_H, f)
    cols = window_origins(n_W, stride)[:, None] + np.arange(f)[None, :]  # (n_W, f)
    r = rows[:, None, :, None]  # broadcast to (n_H, n_W, f, f)
    c = cols[None, :, None, :]
    for i in range(m):
        np.add.at(dA_pad[i], (r, c), contributions[i])
    dA_prev = dA_pad[:, pad : pad + A_prev.shape[1], pad : pad + A_prev.shape[2], :]
    return dA_prev, dW, db


def create_mask_from_window(x):
    """Boolean mask, True where x equals its maximum."""
    return x == x.max()


def distribute_value(dz, shape):
    """An array of the given (n_H, n_W) shape sharing dz evenly."""
    return np.full(shape, dz / (shape[0] * shape[1]), dtype=float)


def pool_backward(dA, cache, mode="max"):
    """Gradient of the pooling layer with respect to its input."""
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    patches = windows(A_prev, f, stride)[:, :n_H, :n_W]  # (m, n_H, n_W, n_C, f, f)
    if mode == "max":
        share = patches == patches.max(axis=(4, 5), keepdims=True)
    else:
        share = np.full(patches.shape, 1.0 / (f * f))
    contributions = share * dA[..., None, None]  # (m, n_H, n_W, n_C, f, f)
    dA_prev = np.zeros(A_prev.shape, dtype=float)
    rows = window_origins(n_H, stride)[:, None] + np.arange(f)[None, :]
    cols = window_origins(n_W, stride)[:, None] + np.arange(f)[None, :]
    r = rows[:, None, :, None]
    c = cols[None, :, None, :]
    moved = np.moveaxis(contributions, 3, -1)  # (m, n_H, n_W, f, f, n_C)
    for i in range(m):
        np.add.at(dA_prev[i], (r, c), moved[i])
    return dA_prev
