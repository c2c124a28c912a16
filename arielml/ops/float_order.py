"""float32 sums taken in the order of LiteRT's reference kernels, for inputs where the order decides
the result: non-finite values, or magnitudes near FLT_MAX where a partial sum can overflow.

DEPTHWISE_CONV_2D and FULLY_CONNECTED always sum here (few products per output, or one vector
operation per depth step: cheap, and bit-exact with LiteRT and the C kernels). The fast float path of
conv.py sums in float64 with BLAS and rounds once:
within float32 rounding of LiteRT, and never an infinity that LiteRT does not produce - as long as no
partial sum can overflow float32. Once it can (an input of ±inf, or ±FLT_MAX left by an earlier
operator's clamp), LiteRT's result depends on its loop order: FLT_MAX*1.5 is +inf in float32 but not
in float64, inf + (-inf) is NaN, and "big + big - big" is +inf or finite depending on which pair is
added first. Those cases are computed here in float32, one multiply and one add at a time, in the
reference loops' order (the C kernels in runtime/kernels/*_f32.c use the same order), so infinities
and NaN land where LiteRT puts them. numpy's elementwise float32 operations round each step exactly
as C does (no fused multiply-add), so these results equal LiteRT's bit for bit."""
from __future__ import annotations

import numpy as np

from arielml.ops.common import Window2D, padded_input, window_tap

FLT_MAX = float(np.finfo(np.float32).max)
# a sum of products whose absolute values add up to less than this cannot overflow float32 in any
# order (rounding grows a partial sum by at most a factor 1 + n * 2^-24, far below 4)
_SAFE_TOTAL = FLT_MAX / 4


def overflow_possible(x: np.ndarray, weight_abs_sums: np.ndarray, bias: np.ndarray | None) -> bool:
    """True when a sum over x * w (+ bias) could overflow float32 or meet a non-finite value:
    max|x| * max over outputs of sum|w| + max|bias| is not safely below FLT_MAX (NaN counts)."""
    with np.errstate(over="ignore", invalid="ignore"):
        bound = (float(np.max(np.abs(x), initial=0.0)) * float(np.max(weight_abs_sums, initial=0.0))
                 + (float(np.max(np.abs(bias), initial=0.0)) if bias is not None and bias.size else 0.0))
    return not bound < _SAFE_TOTAL


def fully_connected_in_order(rows: np.ndarray, weights: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """(rows, depth) x (units, depth) -> (rows, units): total += x[d] * w[d] for d in order, then
    total + bias (0 without one), as the reference FullyConnected."""
    x, w = rows.astype(np.float32), weights.astype(np.float32)
    acc = np.zeros((x.shape[0], w.shape[0]), dtype=np.float32)
    with np.errstate(all="ignore"):
        for d in range(x.shape[1]):
            acc += x[:, d:d + 1] * w[:, d]
        return acc + _bias(bias, w.shape[0])


def conv_in_order(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, win: Window2D, groups: int) -> np.ndarray:
    """CONV_2D, NHWC input and (out_c, kh, kw, group_in) weights: for each output, total += x * w
    over filter rows, filter columns, input channels, skipping taps outside the input."""
    x, w = x.astype(np.float32), w.astype(np.float32)
    out_c, group_in = w.shape[0], w.shape[3]
    first_channel = (np.arange(out_c) // (out_c // groups)) * group_in  # of each output channel's group
    return _taps_in_order(x, win, out_c, bias, lambda tap, i, j: (
        (tap[..., first_channel + c], w[:, i, j, c]) for c in range(group_in)))


def depthwise_in_order(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, win: Window2D,
                       depth_multiplier: int) -> np.ndarray:
    """DEPTHWISE_CONV_2D, weights (1, kh, kw, out_c), output channel c*M + m reads input channel c."""
    x, w = x.astype(np.float32), w.astype(np.float32)
    out_c = w.shape[3]
    source = np.arange(out_c) // depth_multiplier
    return _taps_in_order(x, win, out_c, bias, lambda tap, i, j: ((tap[..., source], w[0, i, j]),))


def _taps_in_order(x, win: Window2D, out_c: int, bias, products) -> np.ndarray:
    xp = padded_input(x, win, 0.0)
    inside = padded_input(np.ones((1, x.shape[1], x.shape[2], 1), dtype=bool), win, False)
    acc = np.zeros((x.shape[0], win.out_h, win.out_w, out_c), dtype=np.float32)
    with np.errstate(all="ignore"):
        for i in range(win.filter_h):
            for j in range(win.filter_w):
                valid = window_tap(inside, win, i, j)  # (1, OH, OW, 1): the tap is inside the input
                if not valid.any():
                    continue
                for inputs, weights in products(window_tap(xp, win, i, j), i, j):
                    # padding is skipped, not multiplied: 0 * inf would be NaN
                    acc = np.where(valid, acc + inputs * weights, acc)
        return acc + _bias(bias, out_c)


def _bias(bias: np.ndarray | None, units: int) -> np.ndarray:
    return np.zeros(units, np.float32) if bias is None else bias.astype(np.float32)


def average_in_order(x: np.ndarray, win: Window2D, counts: np.ndarray) -> np.ndarray:
    """AVERAGE_POOL_2D: total += x over filter rows then columns (taps outside the input add 0.0,
    which changes no sum), then total / count, all in float32."""
    xp = padded_input(x.astype(np.float32), win, 0.0)
    total = np.zeros((x.shape[0], win.out_h, win.out_w, x.shape[3]), dtype=np.float32)
    with np.errstate(all="ignore"):
        for i in range(win.filter_h):
            for j in range(win.filter_w):
                total += window_tap(xp, win, i, j)
        return total / counts.astype(np.float32)


def max_in_order(x: np.ndarray, win: Window2D) -> np.ndarray:
    """MAX_POOL_2D: max starts at the lowest float and takes a tap only when it is greater, so a NaN
    never wins (a window of NaN gives -FLT_MAX) and -inf gives -FLT_MAX, as in the reference."""
    xp = padded_input(x.astype(np.float32), win, -np.inf)
    best = np.full((x.shape[0], win.out_h, win.out_w, x.shape[3]), -FLT_MAX, dtype=np.float32)
    for i in range(win.filter_h):
        for j in range(win.filter_w):
            best = np.fmax(best, window_tap(xp, win, i, j))  # fmax ignores NaN
    return best
