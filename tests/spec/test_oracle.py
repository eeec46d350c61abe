"""The master notebook's solutions and the trusted reference, against independent oracles.

Both implementations of the eight functions (the loop-based solution cells of the master
notebook and the whole-array references of ``cnnkit/spec/functions/``) are checked over a seeded, randomized
sweep of shapes and hyperparameters, forward and backward, against oracles that share no
code or method with either of them:

- convolution forward: ``scipy.signal.correlate`` ("valid", over the zero-padded input,
  summing the channels), taken at every stride-th position, plus the bias;
- pooling forward: ``scipy.ndimage`` maximum / uniform filters, taken at every stride-th
  window (not ``sliding_window_view``, which the reference uses);
- every backward pass: centred finite differences of the oracle forward pass, through a
  random linear functional ``L = sum(G * forward(x))``, whose exact gradient with
  respect to the forward output is ``G``;
- ``zero_pad``, ``conv_single_step``, ``create_mask_from_window`` and
  ``distribute_value``: their definitions in the specification, written out directly;

A final group of tests feeds deliberately wrong functions through the same checks, so
that a green run means something.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import ndimage, signal

from cnnkit.spec.notebook import solution_namespace
from cnnkit.spec.parts import FUNCTIONS
from cnnkit.spec.table import SPEC

FUNCTION_NAMES = FUNCTIONS

# Forward results are a handful of float64 sums: anything beyond rounding is a bug.
FORWARD_TOLERANCE = 1e-12
# Every loss is linear (or, for max pooling, linear near the point, see MAX_POOL_STEP),
# so centred differences have no truncation error: what is left is rounding, about
# eps * |L| / step, far below this.
FINITE_DIFFERENCE_TOLERANCE = 1e-8

CONV_STEP = 1e-5
AVERAGE_POOL_STEP = 1e-5
# Max-pooling inputs are distinct values at least MAX_POOL_SPACING apart, so a step this
# small can never change which element of a window is the maximum (no kink is crossed).
MAX_POOL_STEP = 1e-6
MAX_POOL_SPACING = 1e-2


# --------------------------------------------------------------------------------------
# The two implementations under test
# --------------------------------------------------------------------------------------


@functools.cache
def implementation(name):
    """name -> {function name: function}, for "solution" (master notebook) and "reference"."""
    if name == "solution":
        namespace = solution_namespace()
        return {function: namespace[function] for function in FUNCTION_NAMES}
    return {function: SPEC[function].reference for function in FUNCTION_NAMES}


@pytest.fixture(params=["solution", "reference"])
def impl(request):
    return implementation(request.param)


# --------------------------------------------------------------------------------------
# The sweep: seeded random configurations plus a few hand-picked edge cases
# --------------------------------------------------------------------------------------


def spec_output_size(n_prev, f, pad, stride):
    """The specification's floor((n_prev - f + 2 * pad) / stride) + 1, written out here on purpose."""
    return math.floor((n_prev - f + 2 * pad) / stride) + 1


@dataclass(frozen=True)
class ConvCase:
    m: int
    n_H: int
    n_W: int
    n_C_prev: int
    n_C: int
    f: int
    pad: int
    stride: int
    seed: int

    @property
    def hparameters(self):
        return {"pad": self.pad, "stride": self.stride}

    @property
    def output_shape(self):
        return (
            self.m,
            spec_output_size(self.n_H, self.f, self.pad, self.stride),
            spec_output_size(self.n_W, self.f, self.pad, self.stride),
            self.n_C,
        )

    @property
    def exact_division(self):
        padded = (self.n_H + 2 * self.pad, self.n_W + 2 * self.pad)
        return all((n - self.f) % self.stride == 0 for n in padded)

    def __str__(self):
        return f"m{self.m}-{self.n_H}x{self.n_W}x{self.n_C_prev}-f{self.f}p{self.pad}s{self.stride}-c{self.n_C}"


@dataclass(frozen=True)
class PoolCase:
    m: int
    n_H: int
    n_W: int
    n_C: int
    f: int
    stride: int
    mode: str
    seed: int

    @property
    def hparameters(self):
        return {"f": self.f, "stride": self.stride}

    @property
    def output_shape(self):
        return (
            self.m,
            spec_output_size(self.n_H, self.f, 0, self.stride),
            spec_output_size(self.n_W, self.f, 0, self.stride),
            self.n_C,
        )

    @property
    def exact_division(self):
        return all((n - self.f) % self.stride == 0 for n in (self.n_H, self.n_W))

    def __str__(self):
        return f"{self.mode}-m{self.m}-{self.n_H}x{self.n_W}x{self.n_C}-f{self.f}s{self.stride}"


def between(rng, low, high):
    """A random int in [low, high], both ends included (as the sweep's ranges are written)."""
    return int(rng.integers(low, high + 1))


def random_conv_cases(count, seed):
    """count random convolution layers whose filter fits the padded input (rejection sampling)."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        n_H, n_W, pad, f = between(rng, 1, 9), between(rng, 1, 9), between(rng, 0, 3), between(rng, 1, 5)
        if f > min(n_H, n_W) + 2 * pad:
            continue
        m, n_C_prev, n_C, stride = between(rng, 1, 3), between(rng, 1, 4), between(rng, 1, 4), between(rng, 1, 3)
        cases.append(ConvCase(m, n_H, n_W, n_C_prev, n_C, f, pad, stride, seed=seed * 1000 + len(cases)))
    return cases


# Edge cases a random draw may miss.
EDGE_CONV_CASES = [
    ConvCase(m=2, n_H=3, n_W=5, n_C_prev=2, n_C=3, f=5, pad=1, stride=2, seed=1),  # filter as tall as the padded input
    ConvCase(m=1, n_H=1, n_W=1, n_C_prev=2, n_C=2, f=1, pad=1, stride=2, seed=2),  # the only real pixel is never read
    ConvCase(
        m=2, n_H=9, n_W=8, n_C_prev=1, n_C=2, f=2, pad=0, stride=3, seed=3
    ),  # gaps between windows, floor drops rows
    ConvCase(
        m=2, n_H=4, n_W=4, n_C_prev=3, n_C=4, f=2, pad=2, stride=2, seed=4
    ),  # the spec's demo layer, smaller batch
]
CONV_CASES = random_conv_cases(36, seed=20240) + EDGE_CONV_CASES


def random_pool_shapes(count, seed):
    """count random (m, n_H, n_W, n_C, f, stride); no padding, so the window must fit the input itself."""
    rng = np.random.default_rng(seed)
    shapes = []
    for _ in range(count):
        n_H, n_W = between(rng, 1, 9), between(rng, 1, 9)
        f = between(rng, 1, min(5, n_H, n_W))
        shapes.append((between(rng, 1, 3), n_H, n_W, between(rng, 1, 4), f, between(rng, 1, 3)))
    return shapes


EDGE_POOL_SHAPES = [
    # (m, n_H, n_W, n_C, f, stride)
    (2, 6, 4, 2, 2, 2),  # non-overlapping, exact tiling
    (2, 4, 4, 3, 3, 2),  # the spec's forward demo: overlapping windows
    (2, 5, 3, 2, 2, 1),  # the spec's backward demo: heavily overlapping windows
    (1, 9, 7, 2, 2, 3),  # gaps between windows, inexact division
    (2, 3, 5, 1, 3, 1),  # window as tall as the input
    (1, 1, 1, 1, 1, 1),  # a single pixel
]
POOL_SHAPES = random_pool_shapes(34, seed=31415) + EDGE_POOL_SHAPES
POOL_CASES = [
    PoolCase(m, n_H, n_W, n_C, f, stride, mode, seed=5000 + index)
    for mode in ("max", "average")
    for index, (m, n_H, n_W, n_C, f, stride) in enumerate(POOL_SHAPES)
]


def as_params(cases):
    return [pytest.param(case, id=str(case)) for case in cases]


# --------------------------------------------------------------------------------------
# Inputs, drawn from each case's own seed so every test sees the same arrays
# --------------------------------------------------------------------------------------


def conv_inputs(case):
    """A_prev, W, b and the loss weights G (shaped like the output), for one convolution case."""
    rng = np.random.default_rng(case.seed)
    A_prev = rng.standard_normal((case.m, case.n_H, case.n_W, case.n_C_prev))
    W = rng.standard_normal((case.f, case.f, case.n_C_prev, case.n_C))
    b = rng.standard_normal((1, 1, 1, case.n_C))
    G = rng.standard_normal(case.output_shape)
    return A_prev, W, b, G


def distinct_values(rng, shape, spacing):
    """Distinct values, at least `spacing` apart, in random order: every window has one clear maximum."""
    size = math.prod(shape)
    return ((rng.permutation(size) - size / 2) * spacing).reshape(shape)


def pool_inputs(case):
    """A_prev and the loss weights G for one pooling case (tie-free A_prev for max pooling)."""
    rng = np.random.default_rng(case.seed)
    shape = (case.m, case.n_H, case.n_W, case.n_C)
    A_prev = distinct_values(rng, shape, MAX_POOL_SPACING) if case.mode == "max" else rng.standard_normal(shape)
    G = rng.standard_normal(case.output_shape)
    return A_prev, G


# --------------------------------------------------------------------------------------
# Oracles
# --------------------------------------------------------------------------------------


def oracle_conv_forward(A_prev, W, b, pad, stride):
    """Convolution by scipy's N-d cross-correlation.

    Correlating the padded batch (m, H, W, C_prev) with one filter (1, f, f, C_prev) in
    "valid" mode gives every stride-1 window at once, already summed over the channels;
    every stride-th of them is the strided layer.
    """
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    per_filter = [
        signal.correlate(A_pad, W[np.newaxis, :, :, :, c], mode="valid", method="direct")[..., 0]
        for c in range(W.shape[3])
    ]
    stride_one = np.stack(per_filter, axis=-1)
    return stride_one[:, ::stride, ::stride, :] + b.reshape(-1)


def oracle_pool_forward(A_prev, f, stride, mode):
    """Pooling by scipy.ndimage's moving maximum / moving mean.

    ndimage centres an f-wide window, so the window starting at row r is reported at row
    r + f // 2; the border mode only affects windows that stick out, which are dropped.
    """
    moving = {"max": ndimage.maximum_filter, "average": ndimage.uniform_filter}[mode]
    filtered = moving(A_prev, size=(1, f, f, 1), mode="constant")
    first = f // 2
    n_H, n_W = A_prev.shape[1], A_prev.shape[2]
    return filtered[:, first : first + n_H - f + 1 : stride, first : first + n_W - f + 1 : stride, :]


def centred_difference(loss, x, step):
    """Gradient of the scalar loss at x, one coordinate at a time: (L(x + h) - L(x - h)) / 2h."""
    gradient = np.zeros_like(x)
    probe = x.copy()
    for index in np.ndindex(x.shape):
        original = probe[index]
        probe[index] = original + step
        up = loss(probe)
        probe[index] = original - step
        down = loss(probe)
        probe[index] = original
        gradient[index] = (up - down) / (2 * step)
    return gradient


# Finite differences are the slow part: compute them once per case, for both implementations.
@functools.cache
def conv_numerical_gradients(case):
    A_prev, W, b, G = conv_inputs(case)

    def loss(A_prev, W, b):
        return np.sum(G * oracle_conv_forward(A_prev, W, b, case.pad, case.stride))

    return {
        "dA_prev": centred_difference(lambda x: loss(x, W, b), A_prev, CONV_STEP),
        "dW": centred_difference(lambda x: loss(A_prev, x, b), W, CONV_STEP),
        "db": centred_difference(lambda x: loss(A_prev, W, x), b, CONV_STEP),
    }


@functools.cache
def pool_numerical_gradient(case):
    A_prev, G = pool_inputs(case)
    step = MAX_POOL_STEP if case.mode == "max" else AVERAGE_POOL_STEP
    return centred_difference(
        lambda x: np.sum(G * oracle_pool_forward(x, case.f, case.stride, case.mode)), A_prev, step
    )


def relative_error(actual, expected):
    """||actual - expected|| / max(||expected||, 1): relative for results of unit size or more, absolute below.

    The floor keeps an all-zero expected gradient (a pixel no window reads) from turning
    rounding noise into a huge ratio. A wrong shape is an infinite error.
    """
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        return math.inf
    return float(np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), 1.0))


# --------------------------------------------------------------------------------------
# Error measures, one per function: used by the tests below and by the mutation tests
# --------------------------------------------------------------------------------------


def conv_forward_error(conv_forward, case):
    A_prev, W, b, _ = conv_inputs(case)
    Z, _ = conv_forward(A_prev, W, b, case.hparameters)
    return relative_error(Z, oracle_conv_forward(A_prev, W, b, case.pad, case.stride))


def conv_backward_errors(conv_backward, case):
    """Errors of dA_prev, dW, db; the cache is built as the spec fixes it, independently of any forward."""
    A_prev, W, b, G = conv_inputs(case)
    dA_prev, dW, db = conv_backward(G, (A_prev, W, b, case.hparameters))
    numerical = conv_numerical_gradients(case)
    return {
        "dA_prev": relative_error(dA_prev, numerical["dA_prev"]),
        "dW": relative_error(dW, numerical["dW"]),
        "db": relative_error(db, numerical["db"]),
    }


def conv_backward_error(conv_backward, case):
    return max(conv_backward_errors(conv_backward, case).values())


def pool_forward_error(pool_forward, case):
    A_prev, _ = pool_inputs(case)
    A, _ = pool_forward(A_prev, case.hparameters, mode=case.mode)
    return relative_error(A, oracle_pool_forward(A_prev, case.f, case.stride, case.mode))


def pool_backward_error(pool_backward, case):
    A_prev, G = pool_inputs(case)
    dA_prev = pool_backward(G, (A_prev, case.hparameters), mode=case.mode)
    return relative_error(dA_prev, pool_numerical_gradient(case))


# --------------------------------------------------------------------------------------
# Forward passes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", as_params(CONV_CASES))
def test_conv_forward_matches_scipy_correlate(impl, case):
    A_prev, W, b, _ = conv_inputs(case)
    Z, cache = impl["conv_forward"](A_prev, W, b, case.hparameters)
    assert Z.shape == case.output_shape
    assert conv_forward_error(impl["conv_forward"], case) < FORWARD_TOLERANCE
    # The spec fixes the cache: the unpadded input, the filters, the biases, the hyperparameters.
    cached_A, cached_W, cached_b, cached_hparameters = cache
    assert np.array_equal(cached_A, A_prev) and np.array_equal(cached_W, W) and np.array_equal(cached_b, b)
    assert cached_hparameters == case.hparameters


@pytest.mark.parametrize("case", as_params(POOL_CASES))
def test_pool_forward_matches_ndimage_filters(impl, case):
    A_prev, _ = pool_inputs(case)
    A, cache = impl["pool_forward"](A_prev, case.hparameters, mode=case.mode)
    assert A.shape == case.output_shape
    assert pool_forward_error(impl["pool_forward"], case) < FORWARD_TOLERANCE
    cached_A, cached_hparameters = cache
    assert np.array_equal(cached_A, A_prev) and cached_hparameters == case.hparameters


def zero_pad_cases(count, seed):
    rng = np.random.default_rng(seed)
    return [
        pytest.param(
            (between(rng, 1, 3), between(rng, 1, 9), between(rng, 1, 9), between(rng, 1, 4)),
            between(rng, 0, 3),
            seed + i,
            id=f"case{i}",
        )
        for i in range(count)
    ]


@pytest.mark.parametrize(("shape", "pad", "seed"), zero_pad_cases(10, seed=777))
def test_zero_pad_matches_concatenated_zeros(impl, shape, pad, seed):
    X = np.random.default_rng(seed).standard_normal(shape)
    m, n_H, n_W, n_C = shape
    # Build the padded array by gluing zero slabs on, first above/below, then left/right.
    rows = np.concatenate([np.zeros((m, pad, n_W, n_C)), X, np.zeros((m, pad, n_W, n_C))], axis=1)
    side = np.zeros((m, n_H + 2 * pad, pad, n_C))
    expected = np.concatenate([side, rows, side], axis=2)
    X_pad = impl["zero_pad"](X, pad)
    assert X_pad.shape == expected.shape
    assert np.array_equal(X_pad, expected)


@pytest.mark.parametrize("seed", range(10))
def test_conv_single_step_is_sum_of_products_plus_bias(impl, seed):
    rng = np.random.default_rng(600 + seed)
    f, n_C_prev = between(rng, 1, 5), between(rng, 1, 4)
    a_slice, W = rng.standard_normal((f, f, n_C_prev)), rng.standard_normal((f, f, n_C_prev))
    b = rng.standard_normal((1, 1, 1))
    Z = impl["conv_single_step"](a_slice, W, b)
    # The spec asks for a real scalar (float, numpy scalar or 0-d array), never a (1, 1, 1) array.
    assert np.ndim(Z) == 0 and np.isrealobj(Z)
    expected = math.fsum((a_slice * W).ravel()) + b.item()
    assert abs(float(Z) - expected) <= FORWARD_TOLERANCE * max(abs(expected), 1.0)


# --------------------------------------------------------------------------------------
# Backward passes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", as_params(CONV_CASES))
def test_conv_backward_matches_finite_differences(impl, case):
    A_prev, W, b, G = conv_inputs(case)
    dA_prev, dW, db = impl["conv_backward"](G, (A_prev, W, b, case.hparameters))
    assert (dA_prev.shape, dW.shape, db.shape) == (A_prev.shape, W.shape, (1, 1, 1, case.n_C))
    errors = conv_backward_errors(impl["conv_backward"], case)
    assert max(errors.values()) < FINITE_DIFFERENCE_TOLERANCE, errors


@pytest.mark.parametrize("case", as_params(POOL_CASES))
def test_pool_backward_matches_finite_differences(impl, case):
    A_prev, G = pool_inputs(case)
    dA_prev = impl["pool_backward"](G, (A_prev, case.hparameters), mode=case.mode)
    assert dA_prev.shape == A_prev.shape
    assert pool_backward_error(impl["pool_backward"], case) < FINITE_DIFFERENCE_TOLERANCE


def window_cases(count, seed):
    rng = np.random.default_rng(seed)
    return [pytest.param((between(rng, 1, 5), between(rng, 1, 5)), seed + i, id=f"case{i}") for i in range(count)]


@pytest.mark.parametrize(("shape", "seed"), window_cases(30, seed=900))
def test_create_mask_marks_exactly_the_argmax(impl, shape, seed):
    x = distinct_values(np.random.default_rng(seed), shape, spacing=0.25)
    mask = impl["create_mask_from_window"](x)
    expected = np.zeros(shape, dtype=bool)
    expected[np.unravel_index(np.argmax(x), shape)] = True
    assert mask.shape == shape and mask.dtype == bool
    assert np.array_equal(mask, expected)


def distribute_cases(count, seed):
    rng = np.random.default_rng(seed)
    cases = [pytest.param(2, (2, 2), id="spec-demo"), pytest.param(-3, (1, 5), id="negative-int")]
    for i in range(count - len(cases)):
        shape = (between(rng, 1, 5), between(rng, 1, 5))
        cases.append(pytest.param(float(rng.standard_normal() * 10), shape, id=f"case{i}"))
    return cases


@pytest.mark.parametrize(("dz", "shape"), distribute_cases(30, seed=1200))
def test_distribute_value_shares_evenly(impl, dz, shape):
    a = impl["distribute_value"](dz, shape)
    share = dz / (shape[0] * shape[1])
    assert a.shape == shape and np.issubdtype(a.dtype, np.floating)
    # Every cell holds the same share, and the shares add back up to dz.
    assert np.all(np.abs(a - share) <= FORWARD_TOLERANCE * max(abs(share), 1.0))
    assert math.isclose(math.fsum(a.ravel()), dz, rel_tol=1e-12, abs_tol=1e-12)


# --------------------------------------------------------------------------------------
# The checks can fail: classic mistakes, built on the reference, must be caught
# --------------------------------------------------------------------------------------


def conv_forward_ignoring_stride(A_prev, W, b, hparameters):
    """Window origin h instead of h * stride (output still sized with the real stride)."""
    Z, _ = SPEC["conv_forward"].reference(A_prev, W, b, {**hparameters, "stride": 1})
    n_H = spec_output_size(A_prev.shape[1], W.shape[0], hparameters["pad"], hparameters["stride"])
    n_W = spec_output_size(A_prev.shape[2], W.shape[0], hparameters["pad"], hparameters["stride"])
    return Z[:, :n_H, :n_W, :], (A_prev, W, b, hparameters)


def conv_forward_flipping_filters(A_prev, W, b, hparameters):
    """A true convolution (flipped filters) instead of the cross-correlation CNNs use."""
    return SPEC["conv_forward"].reference(A_prev, W[::-1, ::-1], b, hparameters)


def conv_forward_without_bias(A_prev, W, b, hparameters):
    Z, cache = SPEC["conv_forward"].reference(A_prev, W, b, hparameters)
    return Z - b, cache


def pool_forward_ignoring_stride(A_prev, hparameters, mode="max"):
    A, _ = SPEC["pool_forward"].reference(A_prev, {**hparameters, "stride": 1}, mode)
    n_H = spec_output_size(A_prev.shape[1], hparameters["f"], 0, hparameters["stride"])
    n_W = spec_output_size(A_prev.shape[2], hparameters["f"], 0, hparameters["stride"])
    return A[:, :n_H, :n_W, :], (A_prev, hparameters)


def conv_backward_ignoring_stride(dZ, cache):
    A_prev, W, b, hparameters = cache
    return SPEC["conv_backward"].reference(dZ, (A_prev, W, b, {**hparameters, "stride": 1}))


def conv_backward_averaging_over_examples(dZ, cache):
    """dW and db divided by m, as if the loss were a mean over the batch."""
    dA_prev, dW, db = SPEC["conv_backward"].reference(dZ, cache)
    return dA_prev, dW / dZ.shape[0], db / dZ.shape[0]


def pool_backward_spreading_max_evenly(dA, cache, mode="max"):
    """Max pooling's gradient shared over the whole window, as for average pooling."""
    return SPEC["pool_backward"].reference(dA, cache, "average")


def pool_backward_ignoring_stride(dA, cache, mode="max"):
    A_prev, hparameters = cache
    return SPEC["pool_backward"].reference(dA, (A_prev, {**hparameters, "stride": 1}), mode)


MUTANTS = [
    pytest.param(conv_forward_error, conv_forward_ignoring_stride, CONV_CASES, id="conv_forward-stride-ignored"),
    pytest.param(conv_forward_error, conv_forward_flipping_filters, CONV_CASES, id="conv_forward-flipped-filters"),
    pytest.param(conv_forward_error, conv_forward_without_bias, CONV_CASES, id="conv_forward-no-bias"),
    pytest.param(pool_forward_error, pool_forward_ignoring_stride, POOL_CASES, id="pool_forward-stride-ignored"),
    pytest.param(conv_backward_error, conv_backward_ignoring_stride, CONV_CASES, id="conv_backward-stride-ignored"),
    pytest.param(conv_backward_error, conv_backward_averaging_over_examples, CONV_CASES, id="conv_backward-batch-mean"),
    pytest.param(
        pool_backward_error,
        pool_backward_spreading_max_evenly,
        [c for c in POOL_CASES if c.mode == "max"],
        id="pool_backward-max-spread-evenly",
    ),
    pytest.param(pool_backward_error, pool_backward_ignoring_stride, POOL_CASES, id="pool_backward-stride-ignored"),
]


@pytest.mark.parametrize(("error_of", "mutant", "cases"), MUTANTS)
def test_oracles_catch_a_wrong_function(error_of, mutant, cases):
    worst = max(error_of(mutant, case) for case in cases)
    # Not just above the tolerance: far above it, so the catch does not hang on rounding.
    assert worst > 1e-3, f"{mutant.__name__} passes the oracle on every case (worst error {worst:.1e})"
