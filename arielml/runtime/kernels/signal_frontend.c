/* kernels/signal_frontend.c - TFLite Micro's Signal library, the audio front end's per-channel stages
 * (arielml/ops/signal_frontend.py): window, FFT auto-scale, energy, filter bank, its square root, spectral
 * subtraction, PCAN gain control and log. Integer arithmetic exactly as TFLite Micro's signal/src does
 * it; unsigned types wrap as they do there.
 * Work item k covers values (or channels) [k * chunk, (k + 1) * chunk) of the output; the filter bank's
 * items are single channels; the FFT auto-scale is one item (a maximum, then the scaling). */
#include "ariel_kernels.h"

/* ariel:interface */
/* buffers: the operator's inputs (constant tables and hidden state included, in model order), then
 * its outputs */
typedef struct {
    int32_t count; /* values or channels */
    int32_t chunk; /* of them per work item */
    int32_t period;                                 /* window: its length */
    int32_t shift;                                  /* window, spectral subtraction, PCAN, log */
    int32_t start, end;                             /* energy: bins computed */
    uint32_t smoothing, one_minus_smoothing;        /* spectral subtraction: even channels */
    uint32_t alternate_smoothing, alternate_one_minus_smoothing; /* odd channels */
    uint32_t min_signal_remaining;
    int32_t smoothing_bits, clamping;
    uint32_t output_scale;                          /* log */
    const int16_t *log_table; /* log: log2(1 + k/128) - k/128 in 2^-16 units, k = 0..128, then 0 */
} ariel_signal_params;

void ariel_signal_window(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_fft_auto_scale(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_energy(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_filter_bank(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_filter_bank_sqrt(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_spectral_subtraction(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_pcan(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_filter_bank_log(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

static void signal_range(const ariel_signal_params *p, int32_t begin, int32_t end, int32_t *first, int32_t *last)
{
    *first = begin * p->chunk;
    *last = end * p->chunk < p->count ? end * p->chunk : p->count;
}

/* bit length of x, 32 for 0 (TFLite Micro's MostSignificantBit32 as its GCC build computes it) */
static int32_t signal_msb32(uint32_t x)
{
    int32_t bits = 0;
    if (x == 0) {
        return 32;
    }
    while (x != 0) {
        x >>= 1;
        bits++;
    }
    return bits;
}

static int32_t signal_msb64(uint64_t x)
{
    return (x >> 32) != 0 ? 32 + signal_msb32((uint32_t)(x >> 32)) : signal_msb32((uint32_t)x);
}

void ariel_signal_window(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    const int16_t *input = (const int16_t *)buffers[0];
    const int16_t *window = (const int16_t *)buffers[1];
    int16_t *output = (int16_t *)buffers[2];
    int32_t i, last, w;
    signal_range(p, begin, end, &i, &last);
    w = i % p->period; /* one division per item (cores without a divider), then a running index */
    for (; i < last; i++) {
        /* int16 x int16 fits int32; arithmetic shift as in TFLite Micro */
        const int32_t raw = ((int32_t)input[i] * window[w]) >> p->shift;
        output[i] = (int16_t)(raw < -32768 ? -32768 : raw > 32767 ? 32767 : raw);
        if (++w == p->period) {
            w = 0;
        }
    }
}

void ariel_signal_fft_auto_scale(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    const int16_t *input = (const int16_t *)buffers[0];
    int16_t *output = (int16_t *)buffers[1];
    int16_t peak = 0; /* TFLite Micro's int16 running maximum of |x| (-(-32768) wraps to -32768) */
    int32_t bits, i;
    (void)begin;
    (void)end;
    for (i = 0; i < p->count; i++) {
        const int16_t value = input[i];
        if (value > peak) {
            peak = value;
        } else if (-value > peak) {
            peak = (int16_t)-value;
        }
    }
    bits = 15 - signal_msb32((uint32_t)(int32_t)peak);
    if (bits < 0) {
        bits = 0;
    }
    for (i = 0; i < p->count; i++) {
        output[i] = (int16_t)(uint16_t)((uint32_t)(int32_t)input[i] << bits);
    }
    *(int32_t *)buffers[2] = bits;
}

void ariel_signal_energy(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    const int16_t *input = (const int16_t *)buffers[0];
    uint32_t *output = (uint32_t *)buffers[1];
    int32_t i, last;
    signal_range(p, begin, end, &i, &last);
    for (; i < last; i++) {
        const int32_t re = input[2 * i], im = input[2 * i + 1];
        /* each square < 2^30 + 1; their sum wraps at 2^32 as TFLite Micro's does */
        output[i] = i >= p->start && i < p->end ? (uint32_t)(re * re) + (uint32_t)(im * im) : 0u;
    }
}

/* one band of the filter bank: int16 weights sign-extended to uint64, products and sums modulo 2^64.
 * The int16 x uint32 product is taken as two int32 products with the spectrum's 16-bit halves
 * (|w| <= 2^15, each half < 2^16: each fits int32), cheaper than a 64 x 64 multiply on cores with
 * only a 32-bit multiplier; w * x = w * lo + (w * hi) << 16 exactly, so the sum is the same. */
static uint64_t signal_band(const uint32_t *spectrum, const int16_t *weights, int32_t freq_start,
                            int32_t weight_start, int32_t width)
{
    uint64_t sum = 0;
    int32_t j;
    for (j = 0; j < width; j++) {
        const int32_t w = weights[weight_start + j];
        const uint32_t x = spectrum[freq_start + j];
        const int64_t low = (int64_t)(w * (int32_t)(x & 0xFFFFu));
        const int64_t high = (int64_t)(w * (int32_t)(x >> 16));
        sum += (uint64_t)low + ((uint64_t)high << 16);
    }
    return sum;
}

void ariel_signal_filter_bank(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const uint32_t *spectrum = (const uint32_t *)buffers[0];
    const int16_t *weights = (const int16_t *)buffers[1];
    const int16_t *unweights = (const int16_t *)buffers[2];
    const int16_t *freq_starts = (const int16_t *)buffers[3];
    const int16_t *weight_starts = (const int16_t *)buffers[4];
    const int16_t *widths = (const int16_t *)buffers[5];
    uint64_t *output = (uint64_t *)buffers[6];
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    int32_t c;
    int32_t item;
    /* output channel c: the weighted band c + 1 plus the unweighted band c (TFLite Micro's channel 0
     * is scratch); every channel is independent. Items take channels from both ends in turn (0, C-1,
     * 1, C-2, ...): mel bands widen with frequency, so any run of items mixes narrow and wide ones and
     * the cores' shares cost about the same. */
    for (item = begin; item < end; item++) {
        c = (item & 1) ? p->count - 1 - item / 2 : item / 2;
        output[c] = signal_band(spectrum, weights, freq_starts[c + 1], weight_starts[c + 1], widths[c + 1]) +
                    signal_band(spectrum, unweights, freq_starts[c], weight_starts[c], widths[c]);
    }
}

/* TFLite Micro's bit-by-bit integer square root of a `bits`-bit value, rounded */
static uint32_t signal_sqrt(uint64_t num, int32_t bits)
{
    const int32_t start = (bits - (bits == 32 ? signal_msb32((uint32_t)num) : signal_msb64(num))) | 1;
    uint64_t bit = (uint64_t)1 << (bits - 1 - start);
    uint64_t res = 0;
    int32_t iterations = (bits - 1 - start) / 2 + 1;
    while (iterations-- > 0) {
        if (num >= res + bit) {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if (num > res && res != (((uint64_t)1 << (bits / 2)) - 1)) {
        res++;
    }
    return (uint32_t)res;
}

void ariel_signal_filter_bank_sqrt(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    const uint64_t *input = (const uint64_t *)buffers[0];
    const int32_t shift = *(const int32_t *)buffers[1] & 31; /* modulo 32, as the x86 build shifts */
    uint32_t *output = (uint32_t *)buffers[2];
    int32_t i, last;
    signal_range(p, begin, end, &i, &last);
    for (; i < last; i++) {
        const uint64_t v = input[i];
        const uint32_t root = v == 0 ? 0u : (v >> 32) == 0 ? signal_sqrt(v, 32) : signal_sqrt(v, 64);
        output[i] = root >> shift;
    }
}

void ariel_signal_spectral_subtraction(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    const uint32_t *input = (const uint32_t *)buffers[0];
    uint32_t *noise = (uint32_t *)buffers[1]; /* the kept noise estimate (hidden state) */
    uint32_t *output = (uint32_t *)buffers[2];
    uint32_t *noise_output = (uint32_t *)buffers[3];
    int32_t i, last;
    signal_range(p, begin, end, &i, &last);
    for (; i < last; i++) {
        const uint32_t smoothing = (i & 1) == 0 ? p->smoothing : p->alternate_smoothing;
        const uint32_t keep = (i & 1) == 0 ? p->one_minus_smoothing : p->alternate_one_minus_smoothing;
        const uint32_t scaled = input[i] << p->smoothing_bits;
        uint32_t estimate = (uint32_t)(((uint64_t)scaled * smoothing + (uint64_t)noise[i] * keep) >> p->shift);
        uint32_t subtract = estimate;
        uint32_t floor_value, subtracted;
        if (subtract > scaled) {
            subtract = scaled;
            if (p->clamping) {
                estimate = scaled;
            }
        }
        floor_value = (uint32_t)(((uint64_t)input[i] * p->min_signal_remaining) >> p->shift);
        subtracted = (scaled - subtract) >> p->smoothing_bits;
        output[i] = subtracted > floor_value ? subtracted : floor_value;
        noise[i] = estimate;
        noise_output[i] = estimate;
    }
}

/* TFLite Micro's WideDynamicFunction: the int16 gain for noise estimate x (int32 wraps done unsigned) */
static int16_t signal_pcan_gain(uint32_t x, const int16_t *lut)
{
    int32_t interval, frac, result;
    if (x <= 2) {
        return lut[x];
    }
    interval = signal_msb32(x);
    lut += 4 * interval - 6;
    frac = (int32_t)((interval < 11 ? x << (11 - interval) : x >> (interval - 11)) & 0x3FF);
    result = ((int32_t)lut[2] * frac) >> 5;
    result = (int32_t)((uint32_t)result + ((uint32_t)(int32_t)lut[1] << 5));
    result = (int32_t)((uint32_t)result * (uint32_t)frac);
    result = (int32_t)((uint32_t)result + (1u << 14)) >> 15;
    return (int16_t)(uint16_t)((uint32_t)result + (uint32_t)(int32_t)lut[0]);
}

void ariel_signal_pcan(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    const uint32_t *input = (const uint32_t *)buffers[0];
    const uint32_t *noise = (const uint32_t *)buffers[1];
    const int16_t *lut = (const int16_t *)buffers[2];
    uint32_t *output = (uint32_t *)buffers[3];
    int32_t i, last;
    signal_range(p, begin, end, &i, &last);
    for (; i < last; i++) {
        const uint32_t gain = (uint32_t)(int32_t)signal_pcan_gain(noise[i], lut); /* sign-extended */
        const uint32_t snr = (uint32_t)(((uint64_t)input[i] * gain) >> p->shift);
        /* 12 SNR bits in, 6 out: x^2 / 4 below 2, x - 1 above (x^2 < 2^26 there) */
        output[i] = snr < (2u << 12) ? (snr * snr) >> 20 : (snr >> 6) - 64u;
    }
}

/* ln(x) * out_scale / 2^16 in fixed point, x >= 2: log2 from the bit length and the interpolated
 * correction, times round(2^16 ln 2) */
static uint32_t signal_log32(uint32_t x, uint32_t out_scale, const int16_t *table)
{
    const int32_t integer = signal_msb32(x) - 1;
    int32_t frac = (int32_t)(x - ((uint32_t)1 << integer)); /* < 2^31 */
    int32_t seg, c0, c1, relative;
    uint32_t log2, loge;
    frac = integer < 16 ? frac << (16 - integer) : frac >> (integer - 16);
    seg = frac >> 9;
    c0 = table[seg];
    c1 = table[seg + 1];
    relative = ((c1 - c0) * (frac - (seg << 9))) >> 16; /* |c1 - c0| < 2^9, the offset < 2^9 */
    log2 = ((uint32_t)integer << 16) + (uint32_t)(frac + c0 + relative);
    loge = (uint32_t)(((uint64_t)45426 * log2 + 32768) >> 16);
    return (out_scale * loge + 32768u) >> 16; /* wraps at 2^32 as TFLite Micro's does */
}

void ariel_signal_filter_bank_log(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_params *p = (const ariel_signal_params *)params;
    const uint32_t *input = (const uint32_t *)buffers[0];
    int16_t *output = (int16_t *)buffers[1];
    int32_t i, last;
    signal_range(p, begin, end, &i, &last);
    for (; i < last; i++) {
        const uint32_t scaled = input[i] << p->shift;
        uint32_t value = 0;
        if (scaled > 1) {
            value = signal_log32(scaled, p->output_scale, p->log_table);
            value = value < 32767u ? value : 32767u;
        }
        output[i] = (int16_t)value;
    }
}
