/* ariel_kernels_conv.h - params structs and entry points of FULLY_CONNECTED, CONV_2D and
 * DEPTHWISE_CONV_2D. Included by ariel_kernels.h; same ABI and rules as the kernels declared there.
 *
 * Variants (suffix): s8 = int8 activations and weights; u8 = legacy uint8 (asymmetric weights,
 * per-tensor); s16 = int16 activations, int8 weights, int64 (or int32) bias, int64 accumulator;
 * f32 = float32 (hybrid models: weights dequantised at compile time, passed in params.weights).
 *
 * 8-bit kernels take the input offset folded into the bias at compile time (see ariel_conv_q8_portable.h):
 * bias[c] = original bias + input_offset * sum(w + weight_offset) over all the channel's weights. */
#ifndef ARIEL_KERNELS_CONV_H
#define ARIEL_KERNELS_CONV_H

#include <stdint.h>

/* ---- FULLY_CONNECTED ------------------------------------------------------------------------
 * buffers: input [rows x depth], weights [units x depth] (f32 hybrid: NULL), bias [units] (s16:
 * int64 or int32, f32: float, q8: NULL - folded into params.bias), output [rows x units].
 * Work item k = output element (row k / units, unit k % units). */
typedef struct {
    int32_t rows, units, depth;
    int32_t weight_offset; /* -weight zero point (0 for int8) */
    int32_t output_zero_point;
    int32_t act_min, act_max;
    int32_t rounding;
    int32_t per_channel;       /* multiplier/shift indexed by unit (1) or shared (0) */
    const int32_t *bias;       /* per unit, input offset folded in */
    const int32_t *multiplier; /* 31-bit fixed point */
    const int32_t *shift;
    const int32_t *rq;     /* ariel_rq records (ARIEL_RQ_WORDS per unit, or one): the rounding as data */
    int32_t acc_limit;     /* acc clamped to [~acc_limit, acc_limit] before ariel_rq (single rounding with a
                            * left shift; else INT32_MAX: no clamp) */
} ariel_fully_connected_q8_params;

typedef struct {
    int32_t rows, units, depth;
    int32_t output_zero_point;
    int32_t act_min, act_max;
    int32_t rounding;
    int32_t per_channel;
    int32_t bias_is_int64; /* bias buffer holds int64 (else int32) values */
    const int32_t *multiplier;
    const int32_t *shift;
} ariel_fully_connected_s16_params;

typedef struct {
    int32_t rows, units, depth;
    float act_min, act_max;
    const float *weights; /* hybrid: dequantised weights; NULL = the weights buffer */
} ariel_fully_connected_f32_params;

/* hybrid FULLY_CONNECTED with per-tensor int8 weights (buffers: float input, int8 weights as stored,
 * float bias, float output), computed as LiteRT does: each row quantised on the fly (see
 * kernels/hybrid_f32.c); the activation keeps only its own bounds (has_min / has_max) */
typedef struct {
    int32_t rows, units, depth;
    int32_t has_min, has_max;
    float act_min, act_max;
    float filter_scale;
} ariel_fully_connected_hybrid_params;

void ariel_fully_connected_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fully_connected_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fully_connected_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fully_connected_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fully_connected_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- CONV_2D / DEPTHWISE_CONV_2D ------------------------------------------------------------
 * buffers: input NHWC, weights (conv: [out_c, fh, fw, in_c / groups]; depthwise: [1, fh, fw,
 * out_c]; f32 hybrid: NULL), bias [out_c] (s16: int64 or int32, f32: float, q8: NULL - folded
 * into params.bias), output NHWC. Work item k = output row k / blocks (batch folded into rows)
 * x channel block k % blocks of channel_block output channels. */
#define ARIEL_CONV_MAX_CHANNEL_BLOCK 16

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t groups;           /* conv: in_c / filter input channels */
    int32_t depth_multiplier; /* depthwise: out_c / in_c */
    int32_t channel_block;    /* output channels per work item, <= ARIEL_CONV_MAX_CHANNEL_BLOCK */
} ariel_conv_geometry;

/* the output row and channel range [c_begin, c_end) of work item `item` */
static inline void ariel_conv_place(const ariel_conv_geometry *g, int32_t item, int32_t *row, int32_t *c_begin,
                                    int32_t *c_end)
{
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    const int32_t r = item / blocks;
    *row = r;
    *c_begin = (item - r * blocks) * g->channel_block;
    *c_end = *c_begin + g->channel_block < g->out_c ? *c_begin + g->channel_block : g->out_c;
}

typedef struct {
    ariel_conv_geometry g;
    int32_t input_zero_point; /* q8: the value padded taps read (TFLite pads with the zero point) */
    int32_t weight_offset;    /* -weight zero point (u8 only; 0 otherwise) */
    int32_t output_zero_point;
    int32_t act_min, act_max;
    int32_t rounding;
    int32_t per_channel;   /* multiplier/shift indexed by output channel (1) or shared (0) */
    int32_t wide;          /* s16: int64 requantisation (reduced multiplier), else int32 */
    int32_t bias_is_int64; /* s16: the bias buffer holds int64 (else int32) values */
    const int32_t *bias;   /* q8: per output channel, input offset folded in; s16/f32: unused */
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *rq; /* q8: ariel_rq records, ARIEL_RQ_WORDS per output channel; double rounding */
    /* depthwise q8, depth multiplier 1: weights repacked channel-major [out_c][filter_h * filter_w]
     * (NULL: use the weights buffer as stored) */
    const int8_t *packed_weights;
} ariel_conv_params;

typedef struct {
    ariel_conv_geometry g;
    float act_min, act_max;
    const float *weights; /* hybrid: dequantised weights; NULL = the weights buffer */
} ariel_conv_f32_params;

/* hybrid CONV_2D with per-tensor int8 weights (buffers: float input, int8 weights as stored, float
 * bias, float output), computed as LiteRT does: input quantised on the fly per batch (see
 * kernels/hybrid_f32.c) */
typedef struct {
    ariel_conv_geometry g;
    float act_min, act_max;
    float filter_scale;
} ariel_conv_hybrid_params;

/* hybrid CONV_2D with differing per-channel weight scales, and hybrid DEPTHWISE_CONV_2D (buffers as
 * above): input quantised asymmetrically per batch, rescaled per output channel */
typedef struct {
    ariel_conv_geometry g;
    float act_min, act_max;
    const float *channel_scales; /* [out_c] */
} ariel_conv_hybrid_pc_params;

void ariel_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_conv_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_conv_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_conv_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_conv_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_conv_hybrid_pc_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_depthwise_conv_hybrid_pc_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_depthwise_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_depthwise_conv_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_depthwise_conv_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_depthwise_conv_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

#endif /* ARIEL_KERNELS_CONV_H */
