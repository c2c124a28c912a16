/* kernels/armv6m/fully_connected_s8.c - int8 FULLY_CONNECTED for Armv6-M (Cortex-M0+, RP2040).
 *
 * Four output units of one input row at a time (v6m_fc_1x4, Thumb-1): each input byte is loaded
 * once for the four weight rows. r0-r4 hold the end pointers of the row and the four weight rows,
 * r5 an index counting up to 0, r6/r7 the input byte and a weight byte (MULS destroys the weight,
 * the input byte survives for the next unit), r8-r11 the four sums: 19 cycles per 4 MACs (5 LDRSB,
 * 4 MULS, 4 ADD, ADDS) and a BNE per 4 steps (unrolled, entered by BX r12 so that the first round
 * runs depth mod 4 steps) against ~7 per MAC in the portable loop. Rows are usually 1 here, so
 * the conv kernel's two-pixel blocking has nothing to share; a row's last 1-3 units repeat the last
 * unit's pointer and drop its sums.
 *
 * Bit-exact with ariel_fc_q8_portable.h: the four sums are the portable fc_dot_s8 values (int32,
 * exact while depth * 2^14 < 2^31), then the same wrapping bias add, accumulator clamp and ariel_rq.
 * Weights with a zero point (weight_offset != 0) take the portable loop. */
#include "ariel_fc_q8_portable.h"
#include "v6m_asm.h"

/* what v6m_fc_1x4 reads (offsets used by the assembly: keep the order) */
typedef struct {
    const int8_t *x;    /* 0: input row */
    const int8_t *w[4]; /* 4..16: weight rows of the four units */
    int32_t depth;      /* 20: >= 1 */
    int32_t *sums;      /* 24: out: four dot products */
} v6m_fc_job;

void v6m_fc_1x4(const v6m_fc_job *job);

__asm__(
    "    .section .text.v6m_fc_1x4,\"ax\",%progbits\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global v6m_fc_1x4\n"
    "    .hidden v6m_fc_1x4\n"
    "    .thumb_func\n"
    "    .type v6m_fc_1x4, %function\n"
    "v6m_fc_1x4:\n"
    V6M_SAVE_R4_R11
    "    mov lr, r0\n"              /* job */
    "    ldr r5, [r0, #20]\n"       /* depth */
    "    ldr r6, [r0, #0]\n"
    "    ldr r1, [r0, #4]\n"
    "    ldr r2, [r0, #8]\n"
    "    ldr r3, [r0, #12]\n"
    "    ldr r4, [r0, #16]\n"
    "    adds r0, r6, r5\n"         /* end pointers */
    "    adds r1, r1, r5\n"
    "    adds r2, r2, r5\n"
    "    adds r3, r3, r5\n"
    "    adds r4, r4, r5\n"
    "    negs r5, r5\n"
    "    movs r6, #3\n"
    "    ands r6, r5\n"            /* steps to skip in the first round: (-depth) & 3 */
    "    lsls r7, r6, #5\n"
    "    lsls r6, r6, #2\n"
    "    subs r7, r7, r6\n"        /* times 28 bytes a step */
    "    adr r6, 1f\n"
    "    adds r6, r6, r7\n"
    "    adds r6, r6, #1\n"        /* Thumb bit for BX */
    "    mov r12, r6\n"
    "    movs r6, #0\n"
    "    mov r8, r6\n"
    "    mov r9, r6\n"
    "    mov r10, r6\n"
    "    mov r11, r6\n"
    "    bx r12\n"                 /* the first round runs depth mod 4 steps (4 when that is 0) */
    "    .balign 4\n"
    "1:\n"
    "    .rept 4\n"                /* 14 instructions, 28 bytes a step */
    "    ldrsb r6, [r0, r5]\n"      /* x */
    "    ldrsb r7, [r1, r5]\n"
    "    muls r7, r6, r7\n"
    "    add r8, r7\n"
    "    ldrsb r7, [r2, r5]\n"
    "    muls r7, r6, r7\n"
    "    add r9, r7\n"
    "    ldrsb r7, [r3, r5]\n"
    "    muls r7, r6, r7\n"
    "    add r10, r7\n"
    "    ldrsb r7, [r4, r5]\n"
    "    muls r7, r6, r7\n"
    "    add r11, r7\n"
    "    adds r5, r5, #1\n"
    "    .endr\n"
    "    bne 1b\n"
    "    mov r0, lr\n"
    "    ldr r0, [r0, #24]\n"       /* sums */
    "    mov r1, r8\n"
    "    mov r2, r9\n"
    "    mov r3, r10\n"
    "    mov r4, r11\n"
    "    stm r0!, {r1, r2, r3, r4}\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size v6m_fc_1x4, .-v6m_fc_1x4\n"
    "    .text\n");

/* the portable requantisation of one output (ariel_fc_q8_portable.h) */
static int8_t fc_requant(const ariel_fully_connected_q8_params *p, int32_t dot, int32_t unit)
{
    int32_t acc = ariel_wrapping_add(dot, p->bias[unit]);
    int32_t v;
    acc = acc > p->acc_limit ? p->acc_limit : acc < ~p->acc_limit ? ~p->acc_limit : acc; /* ~l = -l - 1 */
    v = ariel_rq(acc, p->rq + unit * p->per_channel * ARIEL_RQ_WORDS) + p->output_zero_point;
    v = v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v;
    return (int8_t)v;
}

void ariel_fully_connected_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_fully_connected_q8_params *p = (const ariel_fully_connected_q8_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    int8_t *output = (int8_t *)buffers[3];
    int32_t sums[4];
    v6m_fc_job job;
    int32_t item = begin;
    if (p->weight_offset != 0 || p->depth < 1) {
        fully_connected_q8(p, buffers, begin, end, 0);
        return;
    }
    job.depth = p->depth;
    job.sums = sums;
    while (item < end) {
        const int32_t row = item / p->units;
        const int32_t unit = item - row * p->units;
        /* units of this row in the range, at most four */
        int32_t count = p->units - unit;
        int32_t i;
        if (count > end - item) {
            count = end - item;
        }
        if (count > 4) {
            count = 4;
        }
        job.x = input + row * p->depth;
        for (i = 0; i < 4; i++) {
            job.w[i] = weights + (unit + (i < count ? i : count - 1)) * p->depth;
        }
        v6m_fc_1x4(&job);
        for (i = 0; i < count; i++) {
            output[item + i] = fc_requant(p, sums[i], unit + i);
        }
        item += count;
    }
}
