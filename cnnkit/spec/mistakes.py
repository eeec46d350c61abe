"""Models of typical student mistakes, used to name the mistake in feedback.

Each model takes the case's call arguments and returns, per mistake key, the parts the mistaken
function would return (part name -> array), or None when that slip would crash on these inputs
instead of returning (its error names it then: cnn_checks._ERROR_HINTS). A key left out does not
apply to these inputs (another mode). When a student's output equals a model's output, the
feedback names that mistake; its words are in ``cnnkit.spec.table.MISTAKE_WORDS`` and
``cnnkit.spec.table.SPEC`` lists which function names which keys.
"""

import numpy as np

from cnnkit.spec import reference as ref


def _pool(A_prev, f, stride, mode):
    return ref.pool_forward(A_prev, {"f": f, "stride": stride}, mode)[0]


def _other_mode(mode):
    return "average" if mode == "max" else "max"


def zero_pad_mistakes(X, pad):
    none, both = (0, 0), (pad, pad)
    widths = {
        "pad_all_axes": (both, both, both, both),
        "pad_wrong_axes": (both, both, none, none),
        "pad_batch_axis": (both, both, both, none),
        "pad_channel_axis": (none, both, both, both),
        "pad_one_side": (none, (0, pad), (0, pad), none),
        "pad_before_only": (none, (pad, 0), (pad, 0), none),
        "pad_height_only": (none, both, none, none),
        "pad_width_only": (none, none, both, none),
    }
    found = {"pad_not_applied": {"X_pad": X}, "pad_doubled": {"X_pad": ref.zero_pad(X, 2 * pad)}}
    found.update({key: {"X_pad": np.pad(X, width)} for key, width in widths.items()})
    return found


def conv_single_step_mistakes(a_slice_prev, W, b):
    products = a_slice_prev * W
    bias = float(np.asarray(b).reshape(-1)[0])
    return {
        "bias_missing": {"Z": np.asarray(float(np.sum(products)))},
        "bias_per_element": {"Z": np.asarray(float(np.sum(products + b)))},
        "product_not_summed": {"Z": products + bias},
        "mean_instead_of_sum": {"Z": np.asarray(float(np.mean(products)) + bias)},
        "activation_applied": {"Z": np.asarray(max(float(np.sum(products)) + bias, 0.0))},
    }


def conv_forward_mistakes(A_prev, W, b, hparameters):
    pad, stride = hparameters["pad"], hparameters["stride"]
    Z = ref.conv_forward(A_prev, W, b, hparameters)[0]
    unit = ref.conv_forward(A_prev, W, b, {"pad": pad, "stride": 1})[0]
    same_filter = np.repeat(W[..., :1], W.shape[-1], axis=-1)
    same_bias = np.repeat(b[..., :1], b.shape[-1], axis=-1)
    return {
        "stride_ignored": {"Z": unit},
        "window_not_strided": {"Z": unit[:, : Z.shape[1], : Z.shape[2]]},
        "padding_ignored": {"Z": ref.conv_forward(A_prev, W, b, {"pad": 0, "stride": stride})[0]},
        "bias_missing": {"Z": Z - b.reshape(1, 1, 1, -1)},
        "filter_not_selected": {"Z": ref.conv_forward(A_prev, same_filter, b, hparameters)[0]},
        "bias_not_selected": {"Z": ref.conv_forward(A_prev, W, same_bias, hparameters)[0]},
        "output_one_short": {"Z": Z[:, :-1, :-1]},
        "activation_applied": {"Z": np.maximum(Z, 0.0)},
    }


def pool_forward_loop(A_prev, f, mode, shape, step, size):
    """Pooled output of the given shape from size x size windows stepping by step (None: one is empty, a crash)."""
    reduce = np.max if mode == "max" else np.mean
    A = np.zeros(shape)
    for i in range(shape[0]):
        for h in range(shape[1]):
            for w in range(shape[2]):
                window = A_prev[i, h * step : h * step + size, w * step : w * step + size]
                if window.shape[0] * window.shape[1] == 0:
                    return None  # this slip would crash, not return
                A[i, h, w] = reduce(window, axis=(0, 1))
    return {"A": A}


def pool_forward_mistakes(A_prev, hparameters, mode="max"):
    f, stride = hparameters["f"], hparameters["stride"]
    A = _pool(A_prev, f, stride, mode)
    reduce = np.max if mode == "max" else np.mean
    across = reduce(ref.windows(A_prev, f, stride)[:, : A.shape[1], : A.shape[2]], axis=(3, 4, 5))
    found = {
        f"mode_swapped_{mode}": {"A": _pool(A_prev, f, stride, _other_mode(mode))},
        "window_not_strided": pool_forward_loop(A_prev, f, mode, A.shape, step=1, size=f),
        "stride_ignored": {"A": _pool(A_prev, f, 1, mode)},
        "stride_as_f": pool_forward_loop(A_prev, f, mode, A.shape, step=f, size=f),
        "pooled_across_channels": {"A": np.repeat(across[..., None], A.shape[3], axis=3)},
        "output_one_short": {"A": A[:, :-1, :-1]},
    }
    if mode == "max":
        found["max_from_zero"] = {"A": np.maximum(A, 0.0)}
    if f > 1:
        found["window_one_short"] = pool_forward_loop(A_prev, f, mode, A.shape, step=stride, size=f - 1)
    return found


def conv_backward_loop(
    dZ, cache, accumulate=True, stride_in_index=True, unpad=True, dW_from_padded=True, flip=False, size=None
):
    """A loop-based conv_backward with switches for the classic slips (None: the slip would crash here).

    size: the windows' size, f unless a slip makes them smaller.
    """
    A_prev, W, b, hparameters = cache
    f, pad = W.shape[0], hparameters["pad"]
    size = f if size is None else size
    stride = hparameters["stride"] if stride_in_index else 1
    m, n_H, n_W, n_C = dZ.shape
    A_pad = ref.zero_pad(A_prev, pad)
    source = A_pad if dW_from_padded else ref.zero_pad(A_prev, 0)
    dA_pad, dW, db = np.zeros_like(A_pad), np.zeros_like(W), np.zeros_like(b)
    W_used = W[::-1, ::-1] if flip else W
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    r, s = h * stride, w * stride
                    window = source[i, r : r + size, s : s + size, :]
                    if window.shape != W.shape[:3]:
                        return None  # a window of another shape than the filter's: numpy refuses to add them
                    g = dZ[i, h, w, c]
                    if accumulate:
                        dA_pad[i, r : r + f, s : s + f, :] += W_used[:, :, :, c] * g
                        dW[:, :, :, c] += window * g
                        db[:, :, :, c] += g
                    else:
                        dA_pad[i, r : r + f, s : s + f, :] = W_used[:, :, :, c] * g
                        dW[:, :, :, c] = window * g
                        db[:, :, :, c] = g
    dA = dA_pad[:, pad : pad + A_prev.shape[1], pad : pad + A_prev.shape[2], :] if unpad else dA_pad
    return {"dA_prev": dA, "dW": dW, "db": db}


def conv_backward_mistakes(dZ, cache):
    variants = {
        "assign_not_accumulate": {"accumulate": False},
        "window_not_strided": {"stride_in_index": False},
        "dA_padded": {"unpad": False},
        "dW_from_unpadded": {"dW_from_padded": False},
        "filter_flipped": {"flip": True},
        "window_one_short": {"size": cache[1].shape[0] - 1},
    }
    found = {key: conv_backward_loop(dZ, cache, **switches) for key, switches in variants.items()}
    dA_prev, dW, db = ref.conv_backward(dZ, cache)
    m = dZ.shape[0]
    found["divided_by_m"] = {"dA_prev": dA_prev / m, "dW": dW / m, "db": db / m}
    last_only = np.zeros_like(dA_prev)
    last_only[-1] = dA_prev[-1]
    found["unpad_outside_loop"] = {"dA_prev": last_only}
    return found


def create_mask_from_window_mistakes(x):
    return {
        "min_instead_of_max": {"mask": x == x.min()},
        "max_per_column": {"mask": x == x.max(axis=0, keepdims=True)},
        "max_per_row": {"mask": x == x.max(axis=1, keepdims=True)},
    }


def distribute_value_mistakes(dz, shape):
    n_H, n_W = shape
    return {
        "not_divided": {"a": np.full(shape, float(dz))},
        "divided_by_one_side": {"a": np.full(shape, dz / n_H)},
        "divided_by_sum": {"a": np.full(shape, dz / (n_H + n_W))},
        "floor_division": {"a": np.full(shape, dz // (n_H * n_W))},
        "kept_dz_type": {"a": np.full(shape, dz / (n_H * n_W)).astype(type(dz))},
    }


def pool_backward_loop(
    dA,
    cache,
    mode="max",
    accumulate=True,
    stride_in_index=True,
    use_mask=True,
    mask_channel=None,
    share=True,
    size=None,
):
    """A loop-based pool_backward with switches for the classic slips (None: the slip would crash here).

    size: the windows' size, f unless a slip makes them smaller (the share of an average is still f x f).
    """
    A_prev, hparameters = cache
    f = hparameters["f"]
    size = f if size is None else size
    stride = hparameters["stride"] if stride_in_index else 1
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    r, s = h * stride, w * stride
                    window = A_prev[i, r : r + size, s : s + size, c if mask_channel is None else mask_channel]
                    if mode == "max":
                        part = (window == window.max()) if use_mask else np.ones_like(window)
                        part = part * dA[i, h, w, c]
                    else:
                        part = np.full((f, f), dA[i, h, w, c] / (f * f if share else 1))
                    target = dA_prev[i, r : r + size, s : s + size, c]
                    if target.shape != part.shape:
                        return None  # numpy refuses to add arrays of these shapes
                    if accumulate:
                        target += part
                    else:
                        target[...] = part
    return {"dA_prev": dA_prev}


def pool_backward_mistakes(dA, cache, mode="max"):
    found = {
        f"mode_swapped_{mode}": {"dA_prev": ref.pool_backward(dA, cache, _other_mode(mode))},
        "assign_not_accumulate": pool_backward_loop(dA, cache, mode, accumulate=False),
        "window_not_strided": pool_backward_loop(dA, cache, mode, stride_in_index=False),
        "window_one_short": pool_backward_loop(dA, cache, mode, size=cache[1]["f"] - 1),
    }
    if mode == "max":
        found["mask_ignored"] = pool_backward_loop(dA, cache, mode, use_mask=False)
        found["mask_wrong_channel"] = pool_backward_loop(dA, cache, mode, mask_channel=0)
    else:
        found["average_not_shared"] = pool_backward_loop(dA, cache, mode, share=False)
    return found


MODELS = {
    "zero_pad": zero_pad_mistakes,
    "conv_single_step": conv_single_step_mistakes,
    "conv_forward": conv_forward_mistakes,
    "pool_forward": pool_forward_mistakes,
    "conv_backward": conv_backward_mistakes,
    "create_mask_from_window": create_mask_from_window_mistakes,
    "distribute_value": distribute_value_mistakes,
    "pool_backward": pool_backward_mistakes,
}
