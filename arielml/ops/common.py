"""Preparation shared by several operator families: requantisation of int32 accumulators and the
clamp ranges of fused activations."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.ir import Tensor
from arielml.ops.registry import Semantics
from arielml.ops.quant_math import (SINGLE_ROUNDING, activation_range_float, activation_range_quantized,
                                    multiply_by_quantized_multiplier, quantize_multipliers)


@dataclass(frozen=True)
class Requant:
    """Per-output-channel requantisation of an accumulator: multiplier/shift arrays (length 1 when
    per-tensor), output zero point, and the clamp range (activation folded in)."""

    multiplier: np.ndarray
    shift: np.ndarray
    output_zero_point: int
    clamp_min: int
    clamp_max: int
    rounding: str = SINGLE_ROUNDING

    def apply(self, acc: np.ndarray, channel_axis: int = -1) -> np.ndarray:
        """acc: int64 array of int32 accumulators with channels on `channel_axis`."""
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        scaled = multiply_by_quantized_multiplier(acc, self.multiplier.reshape(shape), self.shift.reshape(shape),
                                                  self.rounding)
        return np.clip(scaled + self.output_zero_point, self.clamp_min, self.clamp_max)


def conv_requant(inp: Tensor, weights: Tensor, out: Tensor, activation: str, semantics: Semantics) -> Requant:
    """Effective scale input_scale * weight_scale[c] / output_scale in double precision, as
    TFLite's PopulateConvolutionQuantizationParams computes it."""
    weight_scales = np.asarray(weights.quant.scale, dtype=np.float64)
    real = np.float64(inp.quant.single_scale) * weight_scales / np.float64(out.quant.single_scale)
    multiplier, shift = quantize_multipliers(real)
    lo, hi = activation_range_quantized(activation, out.quant.single_scale, out.quant.single_zero_point, out.np_dtype)
    return Requant(multiplier, shift, out.quant.single_zero_point, lo, hi, semantics.rounding)


def float_clamp(activation: str) -> tuple[float, float]:
    return activation_range_float(activation)
