/* kernels/signal_fft.c - TFLite Micro's SignalRfft (arielml/ops/signal_fft.py): kissfft v130's real FFT
 * in its int16, int32 (fixed point) and float32 builds, for power-of-two lengths (radix 4 stages, then
 * one radix 2 stage). Complex values are (re, im) pairs of scalars. The twiddle tables are computed by
 * the compiler (kissfft's double-precision cos/sin, rounded as kissfft rounds them).
 *
 * Fixed point: every butterfly divides its inputs by the radix first (x * ((2^(b-1) - 1) / radix),
 * rounded), products round half up ((x + 2^(b-2)) >> (b-1)), sums wrap at the scalar width (done in
 * unsigned arithmetic to stay defined). Products: int16 x int16 in int32 (|a b - c d| <= 2 * 2^15 *
 * (2^15 - 1) < 2^31 since twiddles are at most 2^15 - 1), int32 x int32 in int64 likewise.
 *
 * Work item = one row (the FFT of a row is a chain of stages, each needing all of the previous one).
 * Scratch per core: the zero-padded row (fft_length scalars), then the complex FFT's output
 * (fft_length / 2 complex values). */
#include <string.h>

#include "ariel_kernels.h"

/* ariel:interface */
/* buffers: input [rows, input_length], output [rows, fft_length + 2], then the per-core scratch */
typedef struct {
    int32_t rows, input_length, fft_length;
    int32_t stages;              /* radix stages of the complex FFT of length fft_length / 2 */
    const int8_t *radices;       /* 4 or 2, outermost first */
    const void *twiddles;        /* [fft_length / 2][2] scalars: (cos, sin) */
    const void *super_twiddles;  /* [fft_length / 4][2] scalars */
} ariel_signal_fft_params;

void ariel_signal_rfft_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_rfft_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_rfft_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* SignalIrfft: buffers input [rows, fft_length + 2], output [rows, fft_length], then the per-core
 * scratch (the packed half-length spectrum, fft_length scalars) */
void ariel_signal_irfft_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_irfft_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_irfft_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* One fixed-point build: T scalar, UT its unsigned twin (wrapping sums), PROD the product type, FRAC
 * fraction bits, TOP = 2^FRAC - 1. */
#define DEFINE_FIXED_FFTS(NAME, INVERSE_NAME, T, UT, PROD, FRAC, TOP)                                  \
    static T NAME##_round(PROD x) { return (T)((x + ((PROD)1 << (FRAC - 1))) >> FRAC); }               \
    static T NAME##_add(T a, T b) { return (T)(UT)((UT)a + (UT)b); }                                    \
    static T NAME##_sub(T a, T b) { return (T)(UT)((UT)a - (UT)b); }                                    \
    /* kissfft's HALF_OF on a C int sum (an int16 sum cannot overflow int; an int32 one wraps) */        \
    static T NAME##_half(T a, T b, int32_t sign)                                                        \
    {                                                                                                   \
        uint32_t sum = sign > 0 ? (uint32_t)(int32_t)a + (uint32_t)(int32_t)b                          \
                                : (uint32_t)(int32_t)a - (uint32_t)(int32_t)b;                         \
        return (T)((int32_t)sum >> 1);                                                                  \
    }                                                                                                   \
    static void NAME##_fixdiv(T *c, int32_t radix)                                                      \
    {                                                                                                   \
        c[0] = NAME##_round((PROD)c[0] * (TOP / radix));                                                \
        c[1] = NAME##_round((PROD)c[1] * (TOP / radix));                                                \
    }                                                                                                   \
    static void NAME##_cmul(T *m, const T *a, const T *b)                                               \
    {                                                                                                   \
        T re = NAME##_round((PROD)a[0] * b[0] - (PROD)a[1] * b[1]);                                     \
        m[1] = NAME##_round((PROD)a[0] * b[1] + (PROD)a[1] * b[0]);                                     \
        m[0] = re;                                                                                      \
    }                                                                                                   \
    static void NAME##_butterflies(T *out, int32_t fstride, int32_t m, int32_t radix, const T *tw,     \
                                   int32_t inverse)                                                  \
    {                                                                                                   \
        int32_t k;                                                                                      \
        for (k = 0; k < m; k++) {                                                                       \
            T *f0 = out + 2 * k, *f1 = out + 2 * (k + m);                                               \
            T t[2];                                                                                     \
            if (radix == 2) {                                                                           \
                NAME##_fixdiv(f0, 2);                                                                   \
                NAME##_fixdiv(f1, 2);                                                                   \
                NAME##_cmul(t, f1, tw + 2 * k * fstride);                                               \
                f1[0] = NAME##_sub(f0[0], t[0]);                                                        \
                f1[1] = NAME##_sub(f0[1], t[1]);                                                        \
                f0[0] = NAME##_add(f0[0], t[0]);                                                        \
                f0[1] = NAME##_add(f0[1], t[1]);                                                        \
            } else {                                                                                    \
                /* all sixteen values in locals: stored once, so no reloads through aliasing pointers */\
                T *f2 = out + 2 * (k + 2 * m), *f3 = out + 2 * (k + 3 * m);                             \
                const T *w1 = tw + 2 * k * fstride, *w2 = tw + 4 * k * fstride, *w3 = tw + 6 * k * fstride;\
                const T r0 = NAME##_round((PROD)f0[0] * (TOP / 4)), i0 = NAME##_round((PROD)f0[1] * (TOP / 4));\
                const T r1 = NAME##_round((PROD)f1[0] * (TOP / 4)), i1 = NAME##_round((PROD)f1[1] * (TOP / 4));\
                const T r2 = NAME##_round((PROD)f2[0] * (TOP / 4)), i2 = NAME##_round((PROD)f2[1] * (TOP / 4));\
                const T r3 = NAME##_round((PROD)f3[0] * (TOP / 4)), i3 = NAME##_round((PROD)f3[1] * (TOP / 4));\
                const T s0r = NAME##_round((PROD)r1 * w1[0] - (PROD)i1 * w1[1]);                        \
                const T s0i = NAME##_round((PROD)r1 * w1[1] + (PROD)i1 * w1[0]);                        \
                const T s1r = NAME##_round((PROD)r2 * w2[0] - (PROD)i2 * w2[1]);                        \
                const T s1i = NAME##_round((PROD)r2 * w2[1] + (PROD)i2 * w2[0]);                        \
                const T s2r = NAME##_round((PROD)r3 * w3[0] - (PROD)i3 * w3[1]);                        \
                const T s2i = NAME##_round((PROD)r3 * w3[1] + (PROD)i3 * w3[0]);                        \
                const T s5r = NAME##_sub(r0, s1r), s5i = NAME##_sub(i0, s1i);                           \
                const T a0r = NAME##_add(r0, s1r), a0i = NAME##_add(i0, s1i);                           \
                const T s3r = NAME##_add(s0r, s2r), s3i = NAME##_add(s0i, s2i);                         \
                const T s4r = NAME##_sub(s0r, s2r), s4i = NAME##_sub(s0i, s2i);                         \
                f2[0] = NAME##_sub(a0r, s3r);                                                           \
                f2[1] = NAME##_sub(a0i, s3i);                                                           \
                f0[0] = NAME##_add(a0r, s3r);                                                           \
                f0[1] = NAME##_add(a0i, s3i);                                                           \
                if (inverse) {                                                                          \
                    f1[0] = NAME##_sub(s5r, s4i);                                                       \
                    f1[1] = NAME##_add(s5i, s4r);                                                       \
                    f3[0] = NAME##_add(s5r, s4i);                                                       \
                    f3[1] = NAME##_sub(s5i, s4r);                                                       \
                } else {                                                                                \
                    f1[0] = NAME##_add(s5r, s4i);                                                       \
                    f1[1] = NAME##_sub(s5i, s4r);                                                       \
                    f3[0] = NAME##_sub(s5r, s4i);                                                       \
                    f3[1] = NAME##_add(s5i, s4r);                                                       \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }                                                                                                   \
    /* kissfft's kf_work: decimate by the stage's radix (recursing), then combine */                     \
    static void NAME##_work(T *out, const T *in, int32_t fstride, int32_t length, const int8_t *radix,  \
                            const T *tw, int32_t inverse)                                               \
    {                                                                                                   \
        const int32_t p = radix[0], m = length / p;                                                     \
        int32_t j;                                                                                      \
        for (j = 0; j < p; j++) {                                                                       \
            if (m == 1) {                                                                               \
                out[2 * j] = in[2 * j * fstride];                                                       \
                out[2 * j + 1] = in[2 * j * fstride + 1];                                               \
            } else {                                                                                    \
                NAME##_work(out + 2 * j * m, in + 2 * j * fstride, fstride * p, m, radix + 1, tw, inverse); \
            }                                                                                           \
        }                                                                                               \
        NAME##_butterflies(out, fstride, m, p, tw, inverse);                                            \
    }                                                                                                   \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                    \
    {                                                                                                   \
        const ariel_signal_fft_params *p = (const ariel_signal_fft_params *)params;                    \
        const T *tw = (const T *)p->twiddles, *super = (const T *)p->super_twiddles;                    \
        const int32_t n = p->fft_length / 2;                                                            \
        T *padded = (T *)buffers[2], *spectrum = padded + p->fft_length;                                \
        int32_t row, k;                                                                                 \
        for (row = begin; row < end; row++) {                                                           \
            T *out = (T *)buffers[1] + (int64_t)row * (p->fft_length + 2);                              \
            T dc[2];                                                                                    \
            memcpy(padded, (const T *)buffers[0] + (int64_t)row * p->input_length,                     \
                   (size_t)p->input_length * sizeof(T));                                                \
            memset(padded + p->input_length, 0, (size_t)(p->fft_length - p->input_length) * sizeof(T)); \
            NAME##_work(spectrum, padded, 1, n, p->radices, tw, 0);                                     \
            /* separate the two interleaved real spectra (kiss_fftr) */                                 \
            dc[0] = spectrum[0];                                                                        \
            dc[1] = spectrum[1];                                                                        \
            NAME##_fixdiv(dc, 2);                                                                       \
            out[0] = NAME##_add(dc[0], dc[1]);                                                          \
            out[2 * n] = NAME##_sub(dc[0], dc[1]);                                                      \
            out[1] = out[2 * n + 1] = 0;                                                                \
            for (k = 1; k <= n / 2; k++) {                                                              \
                T fpk[2], fpnk[2], f1k[2], f2k[2], t[2];                                                \
                fpk[0] = spectrum[2 * k];                                                               \
                fpk[1] = spectrum[2 * k + 1];                                                           \
                fpnk[0] = spectrum[2 * (n - k)];                                                        \
                fpnk[1] = NAME##_sub(0, spectrum[2 * (n - k) + 1]);                                     \
                NAME##_fixdiv(fpk, 2);                                                                  \
                NAME##_fixdiv(fpnk, 2);                                                                 \
                f1k[0] = NAME##_add(fpk[0], fpnk[0]);                                                   \
                f1k[1] = NAME##_add(fpk[1], fpnk[1]);                                                   \
                f2k[0] = NAME##_sub(fpk[0], fpnk[0]);                                                   \
                f2k[1] = NAME##_sub(fpk[1], fpnk[1]);                                                   \
                NAME##_cmul(t, f2k, super + 2 * (k - 1));                                               \
                out[2 * k] = NAME##_half(f1k[0], t[0], 1);                                              \
                out[2 * k + 1] = NAME##_half(f1k[1], t[1], 1);                                          \
                out[2 * (n - k)] = NAME##_half(f1k[0], t[0], -1);                                       \
                out[2 * (n - k) + 1] = NAME##_half(t[1], f1k[1], -1);                                   \
            }                                                                                           \
        }                                                                                               \
    }                                                                                                   \
    /* kiss_fftri: recombine the half spectrum into n complex values, then the inverse complex FFT */     \
    void INVERSE_NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)            \
    {                                                                                                   \
        const ariel_signal_fft_params *p = (const ariel_signal_fft_params *)params;                    \
        const T *tw = (const T *)p->twiddles, *super = (const T *)p->super_twiddles;                    \
        const int32_t n = p->fft_length / 2;                                                            \
        T *packed = (T *)buffers[2];                                                                    \
        int32_t row, k;                                                                                 \
        for (row = begin; row < end; row++) {                                                           \
            const T *in = (const T *)buffers[0] + (int64_t)row * (p->fft_length + 2);                   \
            packed[0] = NAME##_add(in[0], in[2 * n]);                                                   \
            packed[1] = NAME##_sub(in[0], in[2 * n]);                                                   \
            NAME##_fixdiv(packed, 2);                                                                   \
            for (k = 1; k <= n / 2; k++) {                                                              \
                T fk[2], fnkc[2], fek[2], diff[2], fok[2];                                              \
                fk[0] = in[2 * k];                                                                      \
                fk[1] = in[2 * k + 1];                                                                  \
                fnkc[0] = in[2 * (n - k)];                                                              \
                fnkc[1] = NAME##_sub(0, in[2 * (n - k) + 1]);                                           \
                NAME##_fixdiv(fk, 2);                                                                   \
                NAME##_fixdiv(fnkc, 2);                                                                 \
                fek[0] = NAME##_add(fk[0], fnkc[0]);                                                    \
                fek[1] = NAME##_add(fk[1], fnkc[1]);                                                    \
                diff[0] = NAME##_sub(fk[0], fnkc[0]);                                                   \
                diff[1] = NAME##_sub(fk[1], fnkc[1]);                                                   \
                NAME##_cmul(fok, diff, super + 2 * (k - 1));                                            \
                packed[2 * k] = NAME##_add(fek[0], fok[0]);                                             \
                packed[2 * k + 1] = NAME##_add(fek[1], fok[1]);                                         \
                /* k = n / 2 is its own mirror: this write wins, as in kissfft */                       \
                packed[2 * (n - k)] = NAME##_sub(fek[0], fok[0]);                                       \
                packed[2 * (n - k) + 1] = NAME##_sub(0, NAME##_sub(fek[1], fok[1]));                    \
            }                                                                                           \
            NAME##_work((T *)buffers[1] + (int64_t)row * p->fft_length, packed, 1, n, p->radices, tw, 1); \
        }                                                                                               \
    }

DEFINE_FIXED_FFTS(ariel_signal_rfft_s16, ariel_signal_irfft_s16, int16_t, uint16_t, int32_t, 15, 32767)
DEFINE_FIXED_FFTS(ariel_signal_rfft_s32, ariel_signal_irfft_s32, int32_t, uint32_t, int64_t, 31, 2147483647)

/* float32: no scaling; every operation rounds to float as kissfft's float build does */
static void rfft_f32_cmul(float *m, const float *a, const float *b)
{
    float re = a[0] * b[0] - a[1] * b[1];
    m[1] = a[0] * b[1] + a[1] * b[0];
    m[0] = re;
}

static void rfft_f32_butterflies(float *out, int32_t fstride, int32_t m, int32_t radix, const float *tw,
                                 int32_t inverse)
{
    int32_t k;
    for (k = 0; k < m; k++) {
        float *f0 = out + 2 * k, *f1 = out + 2 * (k + m);
        float t[2];
        if (radix == 2) {
            rfft_f32_cmul(t, f1, tw + 2 * k * fstride);
            f1[0] = f0[0] - t[0];
            f1[1] = f0[1] - t[1];
            f0[0] += t[0];
            f0[1] += t[1];
        } else {
            float *f2 = out + 2 * (k + 2 * m), *f3 = out + 2 * (k + 3 * m);
            float s0[2], s1[2], s2[2], s3[2], s4[2], s5[2];
            rfft_f32_cmul(s0, f1, tw + 2 * k * fstride);
            rfft_f32_cmul(s1, f2, tw + 4 * k * fstride);
            rfft_f32_cmul(s2, f3, tw + 6 * k * fstride);
            s5[0] = f0[0] - s1[0];
            s5[1] = f0[1] - s1[1];
            f0[0] += s1[0];
            f0[1] += s1[1];
            s3[0] = s0[0] + s2[0];
            s3[1] = s0[1] + s2[1];
            s4[0] = s0[0] - s2[0];
            s4[1] = s0[1] - s2[1];
            f2[0] = f0[0] - s3[0];
            f2[1] = f0[1] - s3[1];
            f0[0] += s3[0];
            f0[1] += s3[1];
            if (inverse) {
                f1[0] = s5[0] - s4[1];
                f1[1] = s5[1] + s4[0];
                f3[0] = s5[0] + s4[1];
                f3[1] = s5[1] - s4[0];
            } else {
                f1[0] = s5[0] + s4[1];
                f1[1] = s5[1] - s4[0];
                f3[0] = s5[0] - s4[1];
                f3[1] = s5[1] + s4[0];
            }
        }
    }
}

static void rfft_f32_work(float *out, const float *in, int32_t fstride, int32_t length, const int8_t *radix,
                          const float *tw, int32_t inverse)
{
    const int32_t p = radix[0], m = length / p;
    int32_t j;
    for (j = 0; j < p; j++) {
        if (m == 1) {
            out[2 * j] = in[2 * j * fstride];
            out[2 * j + 1] = in[2 * j * fstride + 1];
        } else {
            rfft_f32_work(out + 2 * j * m, in + 2 * j * fstride, fstride * p, m, radix + 1, tw, inverse);
        }
    }
    rfft_f32_butterflies(out, fstride, m, p, tw, inverse);
}

void ariel_signal_rfft_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_fft_params *p = (const ariel_signal_fft_params *)params;
    const float *tw = (const float *)p->twiddles, *super = (const float *)p->super_twiddles;
    const int32_t n = p->fft_length / 2;
    float *padded = (float *)buffers[2], *spectrum = padded + p->fft_length;
    int32_t row, k;
    for (row = begin; row < end; row++) {
        float *out = (float *)buffers[1] + (int64_t)row * (p->fft_length + 2);
        memcpy(padded, (const float *)buffers[0] + (int64_t)row * p->input_length,
               (size_t)p->input_length * sizeof(float));
        memset(padded + p->input_length, 0, (size_t)(p->fft_length - p->input_length) * sizeof(float));
        rfft_f32_work(spectrum, padded, 1, n, p->radices, tw, 0);
        out[0] = spectrum[0] + spectrum[1];
        out[2 * n] = spectrum[0] - spectrum[1];
        out[1] = out[2 * n + 1] = 0.0f;
        for (k = 1; k <= n / 2; k++) {
            float f1k[2], f2k[2], t[2];
            const float fpk[2] = {spectrum[2 * k], spectrum[2 * k + 1]};
            const float fpnk[2] = {spectrum[2 * (n - k)], -spectrum[2 * (n - k) + 1]};
            f1k[0] = fpk[0] + fpnk[0];
            f1k[1] = fpk[1] + fpnk[1];
            f2k[0] = fpk[0] - fpnk[0];
            f2k[1] = fpk[1] - fpnk[1];
            rfft_f32_cmul(t, f2k, super + 2 * (k - 1));
            out[2 * k] = (f1k[0] + t[0]) * 0.5f;
            out[2 * k + 1] = (f1k[1] + t[1]) * 0.5f;
            out[2 * (n - k)] = (f1k[0] - t[0]) * 0.5f;
            out[2 * (n - k) + 1] = (t[1] - f1k[1]) * 0.5f;
        }
    }
}

void ariel_signal_irfft_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_fft_params *p = (const ariel_signal_fft_params *)params;
    const float *tw = (const float *)p->twiddles, *super = (const float *)p->super_twiddles;
    const int32_t n = p->fft_length / 2;
    float *packed = (float *)buffers[2];
    int32_t row, k, i;
    for (row = begin; row < end; row++) {
        const float *in = (const float *)buffers[0] + (int64_t)row * (p->fft_length + 2);
        float *out = (float *)buffers[1] + (int64_t)row * p->fft_length;
        packed[0] = in[0] + in[2 * n];
        packed[1] = in[0] - in[2 * n];
        for (k = 1; k <= n / 2; k++) {
            float fek[2], diff[2], fok[2];
            const float fk[2] = {in[2 * k], in[2 * k + 1]};
            const float fnkc[2] = {in[2 * (n - k)], -in[2 * (n - k) + 1]};
            fek[0] = fk[0] + fnkc[0];
            fek[1] = fk[1] + fnkc[1];
            diff[0] = fk[0] - fnkc[0];
            diff[1] = fk[1] - fnkc[1];
            rfft_f32_cmul(fok, diff, super + 2 * (k - 1));
            packed[2 * k] = fek[0] + fok[0];
            packed[2 * k + 1] = fek[1] + fok[1];
            packed[2 * (n - k)] = fek[0] - fok[0];
            packed[2 * (n - k) + 1] = -(fek[1] - fok[1]);
        }
        rfft_f32_work(out, packed, 1, n, p->radices, tw, 1);
        for (i = 0; i < p->fft_length; i++) { /* TFLite Micro normalises the float build's output */
            out[i] /= (float)p->fft_length;
        }
    }
}
