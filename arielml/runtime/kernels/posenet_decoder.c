/* kernels/posenet_decoder.c - POSENET_DECODER (Coral's "PosenetDecoderOp"), float32, as libcoral's
 * decoder computes it (arielml/ops/posenet_decoder.py says what, step by step).
 *
 * One work item (single core): decoding is a greedy sequential loop. Buffers: heatmaps, short
 * offsets, mid offsets, [long offsets], then the outputs (keypoints, keypoint scores, pose scores,
 * count, [masks]), then the scratch block (ops/posenet_decoder.py scratch_bytes). Inputs are
 * dequantised where they are read: (float)q - zero point, times scale, the same float32 value as
 * Coral's dequantised copy, without the copy (the big grid would not fit a microcontroller's RAM). */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t height, width, max_detections, stride, masks;
    float score_threshold, score_logit, squared_radius;
    float extra_scale; /* float32(1 / stride): the factor of float offsets */
    /* per input (heatmaps, shorts, mids, longs): 1 if uint8; the scale includes 1 / stride for offsets */
    const int32_t *uint8_inputs;
    const float *zero_points, *scales;
} ariel_posenet_decoder_params;
void ariel_posenet_decoder_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#include <math.h>
#include <string.h>

#define KEYPOINTS 17
#define EDGES 16
#define MASK_SIDE 33
#define DECODE_QUEUE 64 /* a pose pushes its root and at most one entry per edge: 33 */

/* expf as the C library Coral's decoder runs on (glibc; newlib and picolibc on FPU-less boards keep an
 * older float algorithm that differs by an ulp on some inputs): the algorithm of glibc's expf, written
 * out in double arithmetic so that every core computes the same float (soft-float doubles round as
 * IEEE). exp(x) = 2^(k/32) * 2^(r/32) with k the nearest integer to x * 32 / ln 2 (the 1.5 * 2^52
 * trick), 2^(i/32) from a table of doubles (less i << 47, folded back with k), a cubic in r.
 * ops/posenet_decoder.py expf is the same in numpy and generates the table; tests/ check the two
 * against each other and against the host's expf. The three polynomial coefficients are glibc's
 * (from Arm's optimized-routines, MIT OR Apache-2.0 WITH LLVM-exception): bit-exactness with that
 * libm is the point, so they cannot be our own fit; the table is 2^(i/32) itself, computed. */
static const uint64_t exp_table[32] = {
    0x3ff0000000000000u, 0x3fefd9b0d3158574u, 0x3fefb5586cf9890fu, 0x3fef9301d0125b51u,
    0x3fef72b83c7d517bu, 0x3fef54873168b9aau, 0x3fef387a6e756238u, 0x3fef1e9df51fdee1u,
    0x3fef06fe0a31b715u, 0x3feef1a7373aa9cbu, 0x3feedea64c123422u, 0x3feece086061892du,
    0x3feebfdad5362a27u, 0x3feeb42b569d4f82u, 0x3feeab07dd485429u, 0x3feea47eb03a5585u,
    0x3feea09e667f3bcdu, 0x3fee9f75e8ec5f74u, 0x3feea11473eb0187u, 0x3feea589994cce13u,
    0x3feeace5422aa0dbu, 0x3feeb737b0cdc5e5u, 0x3feec49182a3f090u, 0x3feed503b23e255du,
    0x3feee89f995ad3adu, 0x3feeff76f2fb5e47u, 0x3fef199bdd85529cu, 0x3fef3720dcef9069u,
    0x3fef5818dcfba487u, 0x3fef7c97337b9b5fu, 0x3fefa4afa2a490dau, 0x3fefd0765b6e4540u,
};

static float expf_glibc(float x)
{
    const double inv_ln2_n = 0x1.71547652b82fep+0 * 32, shift = 0x1.8p+52;
    const double c0 = 0x1.c6af84b912394p-5 / (32.0 * 32.0 * 32.0), c1 = 0x1.ebfce50fac4f3p-3 / (32.0 * 32.0);
    const double c2 = 0x1.62e42ff0c52d6p-1 / 32.0;
    double xd = (double)x, z, kd, r, r2, s, y;
    uint64_t ki, t;
    uint32_t bits;
    memcpy(&bits, &x, sizeof(bits));
    if (((bits >> 20) & 0x7ffu) >= 0x42bu) { /* |x| >= 88 */
        if (bits == 0xff800000u) {
            return 0.0f;
        }
        if (((bits >> 20) & 0x7ffu) >= 0x7f8u) {
            return x + x;
        }
        if (x > 0x1.62e42ep6f) {
            return HUGE_VALF;
        }
        if (x < -0x1.9fe368p6f) {
            return 0.0f;
        }
    }
    z = inv_ln2_n * xd;
    kd = z + shift;
    memcpy(&ki, &kd, sizeof(ki));
    kd -= shift;
    r = z - kd;
    t = exp_table[ki % 32u] + (ki << 47);
    memcpy(&s, &t, sizeof(s));
    z = c0 * r + c1;
    r2 = r * r;
    y = c2 * r + 1.0;
    y = z * r2 + y;
    return (float)(y * s);
}

/* the pose graph, libcoral's edge order: 16 forward (parent, child) edges, then the same reversed */
static const int8_t forward_edges[EDGES][2] = {
    {0, 1}, {1, 3}, {0, 2}, {2, 4}, {0, 5}, {5, 7}, {7, 9}, {5, 11},
    {11, 13}, {13, 15}, {0, 6}, {6, 8}, {8, 10}, {6, 12}, {12, 14}, {14, 16}};

typedef struct {
    const ariel_posenet_decoder_params *p;
    const void *inputs[4];
} source;

static float value(const source *s, int32_t input, int32_t i)
{
    const ariel_posenet_decoder_params *p = s->p;
    if (p->uint8_inputs[input]) {
        return ((float)((const uint8_t *)s->inputs[input])[i] - p->zero_points[input]) * p->scales[input];
    }
    return input == 0 ? ((const float *)s->inputs[0])[i] : ((const float *)s->inputs[input])[i] * p->extra_scale;
}

static float clamp(float v, float hi)
{
    return v < 0.0f ? 0.0f : hi < v ? hi : v;
}

/* Coral casts a NaN coordinate to an index (undefined); index 0 here, as the reference */
static int32_t floor_index(float v)
{
    return v == v ? (int32_t)floorf(v) : 0;
}

static int32_t ceil_index(float v)
{
    return v == v ? (int32_t)ceilf(v) : 0;
}

/* bilinear sample of input `input` ([h, w, c]) at (y, x), channel `ch`, in Coral's expression order */
static float sample(const source *s, int32_t input, int32_t h, int32_t w, int32_t c, float y, float x, int32_t ch)
{
    const int32_t y0 = floor_index(y), y1 = ceil_index(y), x0 = floor_index(x), x1 = ceil_index(x);
    const float yl = y - (float)y0, xl = x - (float)x0;
    (void)h;
    const float tl = value(s, input, (y0 * w + x0) * c + ch), tr = value(s, input, (y0 * w + x1) * c + ch);
    const float bl = value(s, input, (y1 * w + x0) * c + ch), br = value(s, input, (y1 * w + x1) * c + ch);
    return (1.0f - yl) * ((1.0f - xl) * tl + xl * tr) + yl * ((1.0f - xl) * bl + xl * br);
}

static float squared_distance(float ay, float ax, float by, float bx)
{
    const float dy = by - ay, dx = bx - ax;
    return dy * dy + dx * dx;
}

/* ---- libstdc++'s heap (std::push_heap / std::pop_heap), a max-heap for less(): the tie order of
 * std::priority_queue. Elements are int32 handles, compared through their keys. */
typedef int (*less_fn)(const void *ctx, int32_t a, int32_t b);

static void sift_up(int32_t *heap, int32_t hole, int32_t top, int32_t v, less_fn less, const void *ctx)
{
    int32_t parent = (hole - 1) / 2;
    while (hole > top && less(ctx, heap[parent], v)) {
        heap[hole] = heap[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    heap[hole] = v;
}

static void heap_push(int32_t *heap, int32_t *n, int32_t v, less_fn less, const void *ctx)
{
    heap[*n] = v;
    sift_up(heap, *n, 0, v, less, ctx);
    *n += 1;
}

static int32_t heap_pop(int32_t *heap, int32_t *n, less_fn less, const void *ctx)
{
    const int32_t top = heap[0], len = *n - 1;
    if (len > 0) {
        const int32_t v = heap[len];
        int32_t hole = 0, second = 0;
        heap[len] = heap[0];
        while (second < (len - 1) / 2) {
            second = 2 * (second + 1);
            if (less(ctx, heap[second], heap[second - 1])) {
                second--;
            }
            heap[hole] = heap[second];
            hole = second;
        }
        if ((len & 1) == 0 && second == (len - 2) / 2) {
            second = 2 * (second + 1);
            heap[hole] = heap[second - 1];
            hole = second - 1;
        }
        sift_up(heap, hole, 0, v, less, ctx);
    }
    *n = len;
    return top;
}

static int less_heat(const void *ctx, int32_t a, int32_t b)
{
    return value((const source *)ctx, 0, a) < value((const source *)ctx, 0, b);
}

static int less_float(const void *ctx, int32_t a, int32_t b)
{
    return ((const float *)ctx)[a] < ((const float *)ctx)[b];
}

/* ---- libstdc++'s std::sort of indices by scores[i] > scores[j] (introsort; with n <= 24 the
 * heap-sort fallback never runs: the compiler refuses larger max_detections) */
static void partition_loop(int32_t *a, int32_t first, int32_t last, const float *v)
{
    while (last - first > 16) {
        const int32_t mid = first + (last - first) / 2, x = first + 1, z = last - 1;
        int32_t pick, lo = first + 1, hi = last, t;
        if (v[a[x]] > v[a[mid]]) {
            pick = v[a[mid]] > v[a[z]] ? mid : v[a[x]] > v[a[z]] ? z : x;
        } else {
            pick = v[a[x]] > v[a[z]] ? x : v[a[mid]] > v[a[z]] ? z : mid;
        }
        t = a[first]; a[first] = a[pick]; a[pick] = t;
        for (;;) {
            while (v[a[lo]] > v[a[first]]) {
                lo++;
            }
            hi--;
            while (v[a[first]] > v[a[hi]]) {
                hi--;
            }
            if (!(lo < hi)) {
                break;
            }
            t = a[lo]; a[lo] = a[hi]; a[hi] = t;
            lo++;
        }
        partition_loop(a, lo, last, v);
        last = lo;
    }
}

static void linear_insert(int32_t *a, int32_t i, const float *v)
{
    const int32_t x = a[i];
    while (v[x] > v[a[i - 1]]) {
        a[i] = a[i - 1];
        i--;
    }
    a[i] = x;
}

static void decreasing_argsort(const float *v, int32_t n, int32_t *a)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        a[i] = i;
    }
    partition_loop(a, 0, n, v);
    for (i = 1; i < n && i < 16; i++) {
        if (v[a[i]] > v[a[0]]) {
            const int32_t x = a[i];
            memmove(a + 1, a, (size_t)i * sizeof(int32_t));
            a[0] = x;
        } else {
            linear_insert(a, i, v);
        }
    }
    for (i = 16; i < n; i++) {
        linear_insert(a, i, v);
    }
}

/* float32 sum of the 17 scores in decreasing order (tied values are equal: their order cannot
 * matter), skipping the masked ones, / 17 */
static float sum_decreasing(const float *scores, const uint8_t *skip)
{
    uint8_t used[KEYPOINTS];
    float total = 0.0f;
    int32_t k, j;
    memset(used, 0, sizeof(used));
    for (k = 0; k < KEYPOINTS; k++) {
        int32_t best = -1;
        for (j = 0; j < KEYPOINTS; j++) {
            if (!used[j] && (best < 0 || scores[j] > scores[best])) {
                best = j;
            }
        }
        used[best] = 1;
        if (!skip || !skip[best]) {
            total += scores[best];
        }
    }
    return total / (float)KEYPOINTS;
}

typedef struct {
    float y[DECODE_QUEUE], x[DECODE_QUEUE], score[DECODE_QUEUE];
    int32_t id[DECODE_QUEUE];
} decode_entries;

/* one pose from its root: a max-heap on sampled scores, each decoded keypoint pushing its undecoded
 * neighbours (mid offset of the edge, then 5 short-offset steps) */
static void decode_pose(const source *s, float ry, float rx, int32_t rid, float *points, float *logits)
{
    const ariel_posenet_decoder_params *p = s->p;
    const int32_t h = p->height, w = p->width;
    const float hi_y = (float)(h - 1), hi_x = (float)(w - 1);
    decode_entries e;
    int32_t heap[DECODE_QUEUE], n = 0, used = 0, k;
    uint8_t decoded[KEYPOINTS];
    memset(decoded, 0, sizeof(decoded));
    for (k = 0; k < KEYPOINTS; k++) {
        points[2 * k] = points[2 * k + 1] = -1.0f;
        logits[k] = -1e5f;
    }
    e.y[0] = ry; e.x[0] = rx; e.id[0] = rid;
    e.score[0] = sample(s, 0, h, w, KEYPOINTS, ry, rx, rid);
    heap_push(heap, &n, used++, less_float, e.score);
    while (n > 0) {
        const int32_t top = heap_pop(heap, &n, less_float, e.score);
        const int32_t id = e.id[top];
        int32_t edge;
        if (decoded[id]) {
            continue;
        }
        points[2 * id] = e.y[top];
        points[2 * id + 1] = e.x[top];
        logits[id] = e.score[top];
        decoded[id] = 1;
        for (edge = 0; edge < 2 * EDGES; edge++) {
            const int32_t parent = edge < EDGES ? forward_edges[edge][0] : forward_edges[edge - EDGES][1];
            const int32_t child = edge < EDGES ? forward_edges[edge][1] : forward_edges[edge - EDGES][0];
            const int32_t channel = edge >= EDGES ? edge + EDGES : edge;
            float y, x, dy, dx;
            int32_t step;
            if (parent != id || decoded[child] || used >= DECODE_QUEUE) {
                continue;
            }
            dy = sample(s, 2, h, w, 4 * EDGES, e.y[top], e.x[top], channel);
            dx = sample(s, 2, h, w, 4 * EDGES, e.y[top], e.x[top], channel + EDGES);
            y = clamp(e.y[top] + dy, hi_y);
            x = clamp(e.x[top] + dx, hi_x);
            for (step = 0; step < 5; step++) {
                dy = sample(s, 1, h, w, 2 * KEYPOINTS, y, x, child);
                dx = sample(s, 1, h, w, 2 * KEYPOINTS, y, x, child + KEYPOINTS);
                y = clamp(y + dy, hi_y);
                x = clamp(x + dx, hi_x);
            }
            e.y[used] = y; e.x[used] = x; e.id[used] = child;
            e.score[used] = sample(s, 0, h, w, KEYPOINTS, y, x, child);
            heap_push(heap, &n, used++, less_float, e.score);
        }
    }
}

static void decode_masks(const source *s, const float *keypoints, int32_t poses, float *masks)
{
    const float stride = (float)s->p->stride, hi = (float)(MASK_SIDE - 1);
    int32_t gy, gx, k, i;
    memset(masks, 0, (size_t)poses * MASK_SIDE * MASK_SIDE * sizeof(float));
    for (gy = 0; gy < MASK_SIDE; gy++) {
        for (gx = 0; gx < MASK_SIDE; gx++) {
            float ey[KEYPOINTS], ex[KEYPOINTS], best_distance = 0.0f;
            int32_t best = 0;
            for (k = 0; k < KEYPOINTS; k++) {
                float y = (float)gy, x = (float)gx;
                int32_t step;
                for (step = 0; step < 3; step++) {
                    const float dy = sample(s, 3, MASK_SIDE, MASK_SIDE, 2 * KEYPOINTS, y, x, k);
                    const float dx = sample(s, 3, MASK_SIDE, MASK_SIDE, 2 * KEYPOINTS, y, x, k + KEYPOINTS);
                    y = clamp(y + dy, hi);
                    x = clamp(x + dx, hi);
                }
                ey[k] = y * stride;
                ex[k] = x * stride;
            }
            for (i = 0; i < poses; i++) {
                const float *pose = keypoints + i * 2 * KEYPOINTS;
                float distance = 0.0f;
                for (k = 0; k < KEYPOINTS; k++) {
                    distance += squared_distance(ey[k], ex[k], pose[2 * k], pose[2 * k + 1]);
                }
                if (i == 0 || distance < best_distance) { /* std::min_element: the first least */
                    best = i;
                    best_distance = distance;
                }
            }
            /* libcoral's index (instance * width + y) * height + x; pose 0 when there is none */
            masks[(best * MASK_SIDE + gy) * MASK_SIDE + gx] = 1.0f;
        }
    }
}

void ariel_posenet_decoder_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_posenet_decoder_params *p = (const ariel_posenet_decoder_params *)params;
    const int32_t inputs = p->masks ? 4 : 3, h = p->height, w = p->width, m = p->max_detections;
    const float hi_y = (float)(h - 1), hi_x = (float)(w - 1);
    float *out_points = (float *)buffers[inputs], *out_keypoint_scores = (float *)buffers[inputs + 1];
    float *out_scores = (float *)buffers[inputs + 2], *out_count = (float *)buffers[inputs + 3];
    int32_t *heap = (int32_t *)buffers[inputs + (p->masks ? 5 : 4)];
    float *points = (float *)(heap + h * w * KEYPOINTS); /* [m][17][2], block units */
    float *scores = points + m * 2 * KEYPOINTS;          /* [m][17] sigmoids */
    float *instance = scores + m * KEYPOINTS;            /* [m] */
    int32_t *order = (int32_t *)(instance + m), *final_order = order + m;
    source s;
    int32_t n = 0, poses = 0, i, j, k, written = 0;
    if (begin >= end) {
        return;
    }
    s.p = p;
    for (i = 0; i < inputs; i++) {
        s.inputs[i] = buffers[i];
    }
    memset(out_points, 0, (size_t)m * 2 * KEYPOINTS * sizeof(float));
    memset(out_keypoint_scores, 0, (size_t)m * KEYPOINTS * sizeof(float));
    memset(out_scores, 0, (size_t)m * sizeof(float));
    /* candidates: local maxima (no greater 3x3 neighbour of the same keypoint) at or above the logit */
    for (i = 0; i < h * w * KEYPOINTS; i++) {
        const int32_t cell = i / KEYPOINTS, kid = i % KEYPOINTS, y = cell / w, x = cell % w;
        const float score = value(&s, 0, i);
        int32_t maximum = 1, yy, xx;
        if (!(score >= p->score_logit)) {
            continue;
        }
        for (yy = y > 0 ? y - 1 : 0; yy < (y + 2 < h ? y + 2 : h) && maximum; yy++) {
            for (xx = x > 0 ? x - 1 : 0; xx < (x + 2 < w ? x + 2 : w); xx++) {
                if (value(&s, 0, (yy * w + xx) * KEYPOINTS + kid) > score) {
                    maximum = 0;
                    break;
                }
            }
        }
        if (maximum) {
            heap_push(heap, &n, i, less_heat, &s);
        }
    }
    while (poses < m && n > 0) {
        const int32_t index = heap_pop(heap, &n, less_heat, &s);
        const int32_t cell = index / KEYPOINTS, kid = index % KEYPOINTS, offset = cell * 2 * KEYPOINTS + kid;
        const float y = clamp((float)(cell / w) + value(&s, 1, offset), hi_y);
        const float x = clamp((float)(cell % w) + value(&s, 1, offset + KEYPOINTS), hi_x);
        float *pose = points + poses * 2 * KEYPOINTS, *pose_scores = scores + poses * KEYPOINTS, score;
        int32_t near = 0;
        for (j = 0; j < poses && !near; j++) {
            const float *q = points + j * 2 * KEYPOINTS + 2 * kid;
            near = squared_distance(y, x, q[0], q[1]) <= p->squared_radius;
        }
        if (near) {
            continue;
        }
        decode_pose(&s, y, x, kid, pose, pose_scores);
        for (k = 0; k < KEYPOINTS; k++) {
            pose_scores[k] = 1.0f / (1.0f + expf_glibc(-pose_scores[k]));
        }
        score = sum_decreasing(pose_scores, 0);
        if (score >= p->score_threshold) {
            instance[poses++] = score;
        }
    }
    /* soft keypoint NMS over the poses in decreasing score order, then the final order */
    decreasing_argsort(instance, poses, order);
    for (i = 0; i < poses; i++) {
        const int32_t current = order[i];
        uint8_t occluded[KEYPOINTS];
        memset(occluded, 0, sizeof(occluded));
        for (j = 0; j < i; j++) {
            const float *a = points + current * 2 * KEYPOINTS, *b = points + order[j] * 2 * KEYPOINTS;
            for (k = 0; k < KEYPOINTS; k++) {
                if (squared_distance(a[2 * k], a[2 * k + 1], b[2 * k], b[2 * k + 1]) <= p->squared_radius) {
                    occluded[k] = 1;
                }
            }
        }
        instance[current] = sum_decreasing(scores + current * KEYPOINTS, occluded);
    }
    decreasing_argsort(instance, poses, final_order);
    for (i = 0; i < poses; i++) {
        const int32_t index = final_order[i];
        if (instance[index] < p->score_threshold) {
            break;
        }
        for (k = 0; k < 2 * KEYPOINTS; k++) {
            out_points[written * 2 * KEYPOINTS + k] = points[index * 2 * KEYPOINTS + k] * (float)p->stride;
        }
        memcpy(out_keypoint_scores + written * KEYPOINTS, scores + index * KEYPOINTS, KEYPOINTS * sizeof(float));
        out_scores[written++] = instance[index];
    }
    out_count[0] = (float)written;
    if (p->masks) {
        float *masks = (float *)buffers[inputs + 4];
        memset(masks, 0, (size_t)m * MASK_SIDE * MASK_SIDE * sizeof(float));
        decode_masks(&s, out_points, written, masks);
    }
}
