"""ONNX converters of the windowed operators: Conv, MaxPool/AveragePool, global pools, ConvTranspose
and Resize (NCHW in ONNX, NHWC in arielml: each takes its input in NHWC, frontend/onnx.py)."""
from __future__ import annotations

import numpy as np

from arielml.frontend.onnx import NHWC, Builder
from arielml.frontend.onnx_ops import CONVERTERS, _pairs, _strided_slice, converter
from arielml.ir import NO_TENSOR
from arielml.ops.common import PADDING_SAME, PADDING_VALID


# ---- convolution and pooling ---------------------------------------------------------------------------

def _window_padding(b: Builder, attrs, in_hw, kernel, strides, dilations):
    """-> (padding code, explicit (top, bottom, left, right) or ())"""
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad == "VALID":
        return PADDING_VALID, ()
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(in_hw, kernel, strides, dilations):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            small = total // 2
            pads.append((small, total - small) if auto_pad == "SAME_UPPER" else (total - small, small))
        if auto_pad == "SAME_UPPER":
            return PADDING_SAME, ()
        return PADDING_VALID, (pads[0][0], pads[0][1], pads[1][0], pads[1][1])
    pads = _pairs(attrs.get("pads"), 4, 0)
    if len(pads) != 4 or min(pads) < 0:
        raise b.unsupported(f"pads {pads} are not supported")
    if not any(pads):
        return PADDING_VALID, ()
    return PADDING_VALID, (pads[0], pads[2], pads[1], pads[3])


def _spatial(b: Builder, node, attrs, kernel):
    shape = b.onnx_shape(node.input[0])
    if len(shape) != 4:
        raise b.unsupported(f"only 2-D windows (NCHW input of rank 4) are supported, the input has rank {len(shape)}")
    strides = _pairs(attrs.get("strides"), 2, 1)
    dilations = _pairs(attrs.get("dilations"), 2, 1)
    padding, explicit = _window_padding(b, attrs, shape[2:], kernel, strides, dilations)
    return shape, strides, dilations, padding, explicit


@converter("Conv")
def _conv(b: Builder, node, attrs) -> None:
    from arielml.ops.conv import Conv2DOptions, DepthwiseConv2DOptions
    weights = b.constant(node.input[1])
    if weights is None:
        raise b.unsupported("the weights must be constant")
    if weights.ndim != 4:
        raise b.unsupported(f"only 2-D convolutions are supported (weights of rank {weights.ndim})")
    shape, strides, dilations, padding, explicit = _spatial(b, node, attrs, weights.shape[2:])
    group = int(attrs.get("group", 1))
    in_channels, out_channels = shape[1], weights.shape[0]
    bias = b.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if len(node.input) > 2 and node.input[2] and bias is None:
        raise b.unsupported("the bias must be constant")
    x = b.in_layout(node.input[0], NHWC)
    common = dict(padding=padding, stride_h=strides[0], stride_w=strides[1], dilation_h_factor=dilations[0],
                  dilation_w_factor=dilations[1], explicit_padding=explicit)
    if group > 1 and group == in_channels and weights.shape[1] == 1:
        # depthwise: ONNX (C_out, 1, KH, KW) -> TFLite (1, KH, KW, C_out)
        w = b.add_constant(node.input[1] + "/depthwise", np.transpose(weights, (1, 2, 3, 0)))
        options = DepthwiseConv2DOptions(depth_multiplier=out_channels // in_channels, **common)
        op = "DEPTHWISE_CONV_2D"
    else:
        w = b.add_constant(node.input[1] + "/ohwi", np.transpose(weights, (0, 2, 3, 1)))  # (O, KH, KW, I/g)
        op, options = "CONV_2D", Conv2DOptions(**common)
    bias_index = b.add_constant(node.input[2], bias.astype(np.float32)) if bias is not None else NO_TENSOR
    b.emit(op, (x, w, bias_index), node.output[0], NHWC, options)


def _pool(ir_op: str):
    def convert(b: Builder, node, attrs) -> None:
        from arielml.ops.pool import Pool2DOptions
        kernel = [int(k) for k in attrs["kernel_shape"]]
        if attrs.get("ceil_mode", 0):
            raise b.unsupported("ceil_mode=1 is not supported")
        shape, strides, dilations, padding, explicit = _spatial(b, node, attrs, kernel)
        if dilations != [1, 1]:
            raise b.unsupported("dilated pooling is not supported")
        if explicit:  # TFLite pools know SAME and VALID only: explicit pads must be SAME's
            same = []
            for size, k, s in zip(shape[2:], kernel, strides):
                out = -(-size // s)
                total = max((out - 1) * s + k - size, 0)
                same += [total // 2, total - total // 2]
            if list(explicit) != same:
                raise b.unsupported(f"pads {list(explicit)} (top, bottom, left, right) are not supported: "
                                    "only none or SAME-like padding")
            padding = PADDING_SAME
        if padding == PADDING_SAME and ir_op == "AVERAGE_POOL_2D" and attrs.get("count_include_pad", 0):
            raise b.unsupported("count_include_pad=1 with padding is not supported")
        x = b.in_layout(node.input[0], NHWC)
        options = Pool2DOptions(padding=padding, stride_h=strides[0], stride_w=strides[1], filter_height=kernel[0],
                                filter_width=kernel[1])
        b.emit(ir_op, (x,), node.output[0], NHWC, options)
    return convert


CONVERTERS["MaxPool"] = _pool("MAX_POOL_2D")
CONVERTERS["AveragePool"] = _pool("AVERAGE_POOL_2D")


def _global_pool(ir_op: str):
    def convert(b: Builder, node, attrs) -> None:
        from arielml.ops.reduce import ReducerOptions
        shape = b.onnx_shape(node.input[0])
        if len(shape) != 4:
            raise b.unsupported("only NCHW inputs of rank 4 are supported")
        x = b.in_layout(node.input[0], NHWC)
        axes = b.add_constant(node.output[0] + "/axes", np.array([1, 2], np.int32))
        b.emit(ir_op, (x, axes), node.output[0], NHWC, ReducerOptions(keep_dims=True))
    return convert


CONVERTERS["GlobalAveragePool"] = _global_pool("MEAN")
CONVERTERS["GlobalMaxPool"] = _global_pool("REDUCE_MAX")


# ---- Resize (nearest, linear) --------------------------------------------------------------------------

# (mode, coordinate_transformation_mode, nearest_mode) -> (operator, align_corners, half_pixel_centers)
# whose index arithmetic is the same: TFLite nearest takes floor(x * in / out) (asymmetric, floor),
# floor((x + 0.5) * in / out) (tf_half_pixel_for_nn, floor) or round(x * (in - 1) / (out - 1))
# (align_corners, round_prefer_ceil: the coordinates are >= 0, so rounding half away is ceil);
# TFLite bilinear's half_pixel_centers is ONNX's half_pixel (and pytorch_half_pixel for outputs > 1)
RESIZE_MODES = {
    ("nearest", "asymmetric", "floor"): ("RESIZE_NEAREST_NEIGHBOR", False, False),
    ("nearest", "tf_half_pixel_for_nn", "floor"): ("RESIZE_NEAREST_NEIGHBOR", False, True),
    ("nearest", "align_corners", "round_prefer_ceil"): ("RESIZE_NEAREST_NEIGHBOR", True, False),
    ("linear", "asymmetric", None): ("RESIZE_BILINEAR", False, False),
    ("linear", "half_pixel", None): ("RESIZE_BILINEAR", False, True),
    ("linear", "pytorch_half_pixel", None): ("RESIZE_BILINEAR", False, True),
    ("linear", "align_corners", None): ("RESIZE_BILINEAR", True, False),
}


def _text(value, default: str) -> str:
    return (value.decode() if isinstance(value, bytes) else value) if value is not None else default


@converter("Resize", "Upsample")
def _resize(b: Builder, node, attrs) -> None:
    from arielml.ops.resize import ResizeNearestNeighborOptions
    from arielml.ops.resize_bilinear import ResizeBilinearOptions
    shape = b.onnx_shape(node.input[0])
    if len(shape) != 4:
        raise b.unsupported("only NCHW inputs of rank 4 are supported")
    mode = _text(attrs.get("mode"), "nearest")
    transform = _text(attrs.get("coordinate_transformation_mode"),
                      "half_pixel" if node.op_type == "Resize" else "asymmetric")
    nearest = _text(attrs.get("nearest_mode"), "round_prefer_floor" if node.op_type == "Resize" else "floor") \
        if mode == "nearest" else None
    if node.op_type == "Upsample":
        transform, nearest = "asymmetric", "floor" if mode == "nearest" else None
    if attrs.get("antialias", 0) or attrs.get("exclude_outside", 0):
        raise b.unsupported("antialias and exclude_outside are not supported")
    chosen = RESIZE_MODES.get((mode, transform, nearest))
    if chosen is None:
        raise b.unsupported(f"mode {mode}, coordinate_transformation_mode {transform}"
                            f"{', nearest_mode ' + nearest if nearest else ''} is not supported; supported: "
                            + "; ".join(f"{m}/{t}{'/' + n if n else ''}" for m, t, n in RESIZE_MODES))
    inputs = list(node.input) + [""] * 4
    scales_name, sizes_name = (inputs[1], "") if node.op_type == "Upsample" else (inputs[2], inputs[3])
    if sizes_name:
        sizes = b.constant(sizes_name)
        if sizes is None:
            raise b.unsupported("sizes must be constant")
        out_hw = [int(s) for s in sizes.reshape(-1)[-2:]]
        if [int(s) for s in sizes.reshape(-1)[:2]] != list(shape[:2]):
            raise b.unsupported("only the spatial axes may be resized")
    else:
        scales = b.constant(scales_name) if scales_name else np.asarray(attrs.get("scales", []), np.float32)
        if scales is None or scales.size != 4:
            raise b.unsupported("scales must be a constant of 4 values")
        if list(scales.reshape(-1)[:2]) != [1.0, 1.0]:
            raise b.unsupported("only the spatial axes may be resized")
        out_hw = [int(np.floor(d * float(s))) for d, s in zip(shape[2:], scales.reshape(-1)[2:])]
    op, align_corners, half_pixel = chosen
    if transform == "pytorch_half_pixel" and min(out_hw) <= 1:
        raise b.unsupported("pytorch_half_pixel with an output size of 1 is not supported")
    options = (ResizeNearestNeighborOptions if op == "RESIZE_NEAREST_NEIGHBOR" else ResizeBilinearOptions)(
        align_corners=align_corners, half_pixel_centers=half_pixel)
    x = b.in_layout(node.input[0], NHWC)
    size = b.add_constant(node.output[0] + "/size", np.array(out_hw, np.int32))
    b.emit(op, (x, size), node.output[0], NHWC, options)


@converter("ConvTranspose")
def _conv_transpose(b: Builder, node, attrs) -> None:
    """The full (VALID) TRANSPOSE_CONV, stride * (in - 1) + kernel per axis, then the ONNX output window
    [pad_begin, pad_begin + out) cut out of it by a STRIDED_SLICE (exact: it only moves values). TFLite's
    own SAME padding cannot express PyTorch's usual pads + output_padding (k=3, s=2, p=1, op=1)."""
    from arielml.ops.transpose_conv import TransposeConvOptions
    weights = b.constant(node.input[1])
    if weights is None or weights.ndim != 4 or weights.dtype != np.float32:
        raise b.unsupported("only constant float32 2-D weights are supported")
    if int(attrs.get("group", 1)) != 1 or _pairs(attrs.get("dilations"), 2, 1) != [1, 1]:
        raise b.unsupported("groups and dilations are not supported")
    if _text(attrs.get("auto_pad"), "NOTSET") != "NOTSET" or "output_shape" in attrs:
        raise b.unsupported("auto_pad and output_shape are not supported (give pads)")
    shape = b.onnx_shape(node.input[0])
    strides = _pairs(attrs.get("strides"), 2, 1)
    pads = _pairs(attrs.get("pads"), 4, 0)
    extra = _pairs(attrs.get("output_padding"), 2, 0)
    kernel = weights.shape[2:]
    full = [strides[a] * (shape[2 + a] - 1) + kernel[a] for a in range(2)]
    out_hw = [full[a] + extra[a] - pads[a] - pads[a + 2] for a in range(2)]
    if any(extra[a] > pads[a + 2] for a in range(2)) or min(out_hw) < 1:
        raise b.unsupported(f"output_padding {extra} larger than the end pads {pads[2:]} is not supported")
    out_channels = weights.shape[1]
    bias = b.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    x = b.in_layout(node.input[0], NHWC)
    w = b.add_constant(node.input[1] + "/ohwi", np.transpose(weights, (1, 2, 3, 0)))  # (C_out, KH, KW, C_in)
    out_shape = b.add_constant(node.output[0] + "/shape", np.array([shape[0], *full, out_channels], np.int32))
    inputs = [out_shape, w, x] + ([b.add_constant(node.input[2] + "/bias", bias.astype(np.float32))]
                                  if bias is not None else [])
    cropped = full != out_hw or pads[0] or pads[1]
    full_name = node.output[0] + "/full" if cropped else node.output[0]
    b.emit("TRANSPOSE_CONV", inputs, full_name, NHWC,
           TransposeConvOptions(padding=PADDING_VALID, stride_h=strides[0], stride_w=strides[1]), dtype="float32")
    if cropped:
        _strided_slice(b, full_name, node.output[0], pads[:2], [pads[a] + out_hw[a] for a in range(2)], [2, 3], [1, 1])
