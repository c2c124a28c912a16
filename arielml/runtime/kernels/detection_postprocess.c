/* kernels/detection_postprocess.c - DETECTION_POSTPROCESS ("TFLite_Detection_PostProcess"), float32,
 * as TFLite Micro computes it (arielml/ops/detection_postprocess.py says what, step by step).
 *
 * One work item (single core): non-maximum suppression is a sequential greedy loop. Buffers: box
 * encodings, class scores, anchors, then the four outputs (boxes, classes, scores, count), then the
 * scratch block laid out by scratch_layout below (its size is computed by the compiler with the
 * same formula, ops/detection_postprocess.py scratch_bytes). */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t boxes, encoding_width, classes_with_background, label_offset, num_classes;
    int32_t max_detections, detections_per_class, regular_nms;
    float score_threshold, iou_threshold;
    float y_scale, x_scale, h_scale, w_scale;
    /* per input (encodings, scores, anchors): 1 if uint8, dequantised as (float)q - zero point, times
     * scale (LiteRT's Dequantizer, float32) */
    const int32_t *uint8_inputs;
    const float *zero_points, *scales;
} ariel_detection_postprocess_params;
void ariel_detection_postprocess_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#include <math.h>
#include <string.h>

typedef struct {
    float *boxes;         /* [n][4] ymin, xmin, ymax, xmax */
    float *scores;        /* [n] the score list being suppressed */
    float *keep_scores;   /* [n] */
    int32_t *keep;        /* [n] box index of each kept candidate */
    int32_t *order;       /* [n] candidates sorted by score */
    int32_t *merge;       /* [n] merge sort buffer */
    int32_t *selected;    /* [n] */
    uint8_t *active;      /* [n] */
    int32_t *merged_box;  /* [m] regular NMS: the running best list */
    int32_t *merged_class;
    float *merged_score;
    int32_t *merged_order;
    int32_t *merged_merge;
    int32_t *spare_class;
    float *spare_score;
} scratch_layout;

static scratch_layout layout(const ariel_detection_postprocess_params *p, uint8_t *base)
{
    const int32_t n = p->boxes;
    const int32_t m = p->regular_nms ? p->max_detections + p->detections_per_class : 0;
    scratch_layout s;
    s.boxes = (float *)base;
    s.scores = s.boxes + 4 * n;
    s.keep_scores = s.scores + n;
    s.keep = (int32_t *)(s.keep_scores + n);
    s.order = s.keep + n;
    s.merge = s.order + n;
    s.selected = s.merge + n;
    s.merged_box = s.selected + n;
    s.merged_class = s.merged_box + m;
    s.merged_score = (float *)(s.merged_class + m);
    s.merged_order = (int32_t *)(s.merged_score + m);
    s.merged_merge = s.merged_order + m;
    s.spare_class = s.merged_merge + m;
    s.spare_score = (float *)(s.spare_class + m);
    s.active = (uint8_t *)(s.spare_score + m);
    return s;
}

/* order[0..count) = 0..count-1 sorted by values[] descending, ties in index order (stable, as
 * TFLite Micro's merge sort); bottom-up merge sort through `buffer` */
static void sort_descending(const float *values, int32_t count, int32_t *order, int32_t *buffer)
{
    int32_t width, i;
    for (i = 0; i < count; i++) {
        order[i] = i;
    }
    for (width = 1; width < count; width *= 2) {
        for (i = 0; i < count; i += 2 * width) {
            const int32_t middle = i + width < count ? i + width : count;
            const int32_t stop = i + 2 * width < count ? i + 2 * width : count;
            int32_t left = i, right = middle, k;
            for (k = i; k < stop; k++) {
                /* the right run's element goes first only if strictly greater: stable */
                if (left < middle && (right >= stop || !(values[order[right]] > values[order[left]]))) {
                    buffer[k] = order[left++];
                } else {
                    buffer[k] = order[right++];
                }
            }
        }
        memcpy(order, buffer, (size_t)count * sizeof(int32_t));
    }
}

/* TFLite Micro's ComputeIntersectionOverUnion, float32 operation for operation */
static float intersection_over_union(const float *boxes, int32_t i, int32_t j)
{
    const float *a = boxes + 4 * i, *b = boxes + 4 * j;
    const float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    const float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    float ymin, xmin, ymax, xmax, h, w, intersection;
    if (area_a <= 0 || area_b <= 0) {
        return 0.0f;
    }
    ymin = a[0] < b[0] ? b[0] : a[0];
    xmin = a[1] < b[1] ? b[1] : a[1];
    ymax = b[2] < a[2] ? b[2] : a[2];
    xmax = b[3] < a[3] ? b[3] : a[3];
    h = ymax - ymin < 0.0f ? 0.0f : ymax - ymin;
    w = xmax - xmin < 0.0f ? 0.0f : xmax - xmin;
    intersection = h * w;
    return intersection / (area_a + area_b - intersection);
}

/* NMS of s->scores: the selected box indices into s->selected, in selection order; returns how many */
static int32_t suppress(const ariel_detection_postprocess_params *p, const scratch_layout *s, int32_t limit)
{
    int32_t kept = 0, selected = 0, active_count, i, j, output_size;
    for (i = 0; i < p->boxes; i++) {
        if (s->scores[i] >= p->score_threshold) {
            s->keep_scores[kept] = s->scores[i];
            s->keep[kept++] = i;
        }
    }
    sort_descending(s->keep_scores, kept, s->order, s->merge);
    output_size = kept < limit ? kept : limit;
    for (i = 0; i < kept; i++) {
        s->active[i] = 1;
    }
    active_count = kept;
    for (i = 0; i < kept; i++) {
        int32_t box;
        if (active_count == 0 || selected >= output_size) {
            break;
        }
        if (!s->active[i]) {
            continue;
        }
        box = s->keep[s->order[i]];
        s->selected[selected++] = box;
        s->active[i] = 0;
        active_count--;
        for (j = i + 1; j < kept; j++) {
            if (s->active[j] && intersection_over_union(s->boxes, box, s->keep[s->order[j]]) > p->iou_threshold) {
                s->active[j] = 0;
                active_count--;
            }
        }
    }
    return selected;
}

/* element `index` of input `which` as float32 */
static float input_value(const ariel_detection_postprocess_params *p, const void *base, int32_t which, int32_t index)
{
    if (p->uint8_inputs[which]) {
        return ((float)((const uint8_t *)base)[index] - p->zero_points[which]) * p->scales[which];
    }
    return ((const float *)base)[index];
}

/* the first highest score's class of box `box` (TFLite Micro's partial sort: ties go to the lower
 * index), its score in *score */
static int32_t best_class(const ariel_detection_postprocess_params *p, const void *scores, int32_t box, float *score)
{
    const int32_t row = box * p->classes_with_background + p->label_offset;
    int32_t best = 0, c;
    float best_score = input_value(p, scores, 1, row);
    for (c = 1; c < p->num_classes; c++) {
        const float v = input_value(p, scores, 1, row + c);
        if (v > best_score) {
            best = c;
            best_score = v;
        }
    }
    *score = best_score;
    return best;
}

static void write_detection(void *const *buffers, const float *box, int32_t slot, float class_index, float score)
{
    memcpy((float *)buffers[3] + 4 * slot, box, 4 * sizeof(float));
    ((float *)buffers[4])[slot] = class_index;
    ((float *)buffers[5])[slot] = score;
}

void ariel_detection_postprocess_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_detection_postprocess_params *p = (const ariel_detection_postprocess_params *)params;
    const void *encodings = buffers[0], *class_scores = buffers[1], *anchors = buffers[2];
    const scratch_layout s = layout(p, (uint8_t *)buffers[7]);
    int32_t i, c, count = 0;
    if (begin >= end) {
        return;
    }
    memset(buffers[3], 0, (size_t)p->max_detections * 4 * sizeof(float));
    memset(buffers[4], 0, (size_t)p->max_detections * sizeof(float));
    memset(buffers[5], 0, (size_t)p->max_detections * sizeof(float));
    /* 1. decode, in double as TFLite Micro */
    for (i = 0; i < p->boxes; i++) {
        float e[4], a[4], ycenter, xcenter, half_h, half_w;
        float *box = s.boxes + 4 * i;
        int32_t k;
        for (k = 0; k < 4; k++) {
            e[k] = input_value(p, encodings, 0, i * p->encoding_width + k);
            a[k] = input_value(p, anchors, 2, 4 * i + k);
        }
        ycenter = (float)((double)e[0] / (double)p->y_scale * (double)a[2] + (double)a[0]);
        xcenter = (float)((double)e[1] / (double)p->x_scale * (double)a[3] + (double)a[1]);
        half_h = (float)(0.5 * exp((double)e[2] / (double)p->h_scale) * (double)a[2]);
        half_w = (float)(0.5 * exp((double)e[3] / (double)p->w_scale) * (double)a[3]);
        box[0] = ycenter - half_h;
        box[1] = xcenter - half_w;
        box[2] = ycenter + half_h;
        box[3] = xcenter + half_w;
        if (box[0] >= box[2] || box[1] >= box[3]) {
            /* TFLite Micro fails the inference here; no error path in the runtime: no detection */
            ((float *)buffers[6])[0] = 0.0f;
            return;
        }
    }
    if (!p->regular_nms) {
        /* 2. fast NMS: each box's best class (first maximum), one suppression over those scores;
         * the class of a selected box is found again afterwards (cheaper than keeping n of them) */
        int32_t selected;
        for (i = 0; i < p->boxes; i++) {
            best_class(p, class_scores, i, &s.scores[i]);
        }
        selected = suppress(p, &s, p->max_detections);
        for (i = 0; i < selected; i++) {
            const int32_t box = s.selected[i];
            float score;
            const int32_t best = best_class(p, class_scores, box, &score);
            write_detection(buffers, s.boxes + 4 * box, i, (float)best, score);
        }
        count = selected;
    } else {
        /* 2. regular NMS: per class, then the survivors merged and the best max_detections kept */
        for (c = 0; c < p->num_classes; c++) {
            int32_t selected, k;
            for (i = 0; i < p->boxes; i++) {
                s.scores[i] = input_value(p, class_scores, 1, i * p->classes_with_background + p->label_offset + c);
            }
            selected = suppress(p, &s, p->detections_per_class);
            for (k = 0; k < selected; k++) {
                s.merged_box[count + k] = s.selected[k];
                s.merged_class[count + k] = c;
                s.merged_score[count + k] = s.scores[s.selected[k]];
            }
            selected += count;
            sort_descending(s.merged_score, selected, s.merged_order, s.merged_merge);
            count = selected < p->max_detections ? selected : p->max_detections;
            /* the best `count` entries, in sorted order, gathered through the spare arrays */
            for (k = 0; k < count; k++) {
                s.merged_merge[k] = s.merged_box[s.merged_order[k]];
                s.spare_class[k] = s.merged_class[s.merged_order[k]];
                s.spare_score[k] = s.merged_score[s.merged_order[k]];
            }
            memcpy(s.merged_box, s.merged_merge, (size_t)count * sizeof(int32_t));
            memcpy(s.merged_class, s.spare_class, (size_t)count * sizeof(int32_t));
            memcpy(s.merged_score, s.spare_score, (size_t)count * sizeof(float));
        }
        for (i = 0; i < count; i++) {
            write_detection(buffers, s.boxes + 4 * s.merged_box[i], i, (float)s.merged_class[i], s.merged_score[i]);
        }
    }
    ((float *)buffers[6])[0] = (float)count;
}
