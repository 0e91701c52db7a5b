/* The daily trust step's loops (model/_engine.pyx ``diffuse_trust``; docs/design.md
 * "The trust step's loops four and two lanes wide"). The far ties' copy into their slots
 * (``microgov_fill_slots``) is written once; the other three each twice: one value at a time,
 * and with SSE2's 128-bit vectors where the compiler targets them (every x86-64 processor;
 * gcc and clang say so by __SSE2__, MSVC by _M_X64):
 * four float32 rows' sums side by side in the four lanes of one vector, two float64
 * residents' updates in the two lanes of another. Every lane does the float operations the
 * one-value loop does, in the same order, so both give the same bits (IEEE single and
 * double arithmetic, the same rounding, no fused multiply-add: the engine is built with
 * -ffp-contract=off); tests/test_trust_diffusion.py runs both against numpy's reference.
 *
 * ``simd`` 0 runs the one-value loops (tests run both); without SSE2 they always run. */
#ifndef MICROGOV_TRUST_STEP_H
#define MICROGOV_TRUST_STEP_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h> /* (MSVC targets SSE2 on x64 without defining __SSE2__) */
#define MICROGOV_TRUST_SIMD 1
#else
#define MICROGOV_TRUST_SIMD 0
#endif

/* x[i] = (float) t[i], i < n: the trust vector as float32. */
static void microgov_trust_to_float(const double *t, float *x, Py_ssize_t n, int simd)
{
    Py_ssize_t i = 0;
#if MICROGOV_TRUST_SIMD
    if (simd) {
        for (; i + 4 <= n; i += 4) {
            __m128 low = _mm_cvtpd_ps(_mm_loadu_pd(t + i));
            __m128 high = _mm_cvtpd_ps(_mm_loadu_pd(t + i + 2));
            _mm_storeu_ps(x + i, _mm_movelh_ps(low, high));
        }
    }
#endif
    for (; i < n; i++)
        x[i] = (float) t[i];
}

/* x[to[i]] = x[source[i]] for i < slots, in that order: the far ties' trust copied into
 * their slots. The sources are read in order within each stretch and the slots written
 * anywhere in it; the slot written FILL_AHEAD copies later is fetched into the cache
 * beforehand, which took the copy from 4.2 to 3.2 ms a district day (docs/performance.md,
 * forty-first round; a hint only: the same values are written). */
#define MICROGOV_FILL_AHEAD 32
#if defined(__GNUC__) || defined(__clang__)
#define MICROGOV_PREFETCH_WRITE(p) __builtin_prefetch((p), 1)
#else
#define MICROGOV_PREFETCH_WRITE(p) ((void) 0)
#endif
static void microgov_fill_slots(
    float *x, const int *source, const int *to, Py_ssize_t slots)
{
    Py_ssize_t i = 0;
    for (; i + MICROGOV_FILL_AHEAD < slots; i++) {
        MICROGOV_PREFETCH_WRITE(&x[to[i + MICROGOV_FILL_AHEAD]]);
        x[to[i]] = x[source[i]];
    }
    for (; i < slots; i++)
        x[to[i]] = x[source[i]];
}

/* Each grouped row's neighbours' mean into out[row]: rows[starts[d]:starts[d + 1]] have d
 * ties (``ties``, group by group and row by row), ``weight`` is each grouped row's weight;
 * a row's sum is float32 ``a = a + weight * x[tie]`` over its ties in their order (no tie:
 * one's own x). Rows of one degree four at a time, one row per lane. */
static void microgov_group_sums(
    const int *row, const int64_t *starts, Py_ssize_t groups, const int *tie,
    const float *weight, const float *x, float *out, int simd)
{
    Py_ssize_t s, e, m, degree;
    const int *q0 = tie, *q1, *q2, *q3;
    float a0, a1, a2, a3;
    for (s = 0; s < starts[1]; s++)
        out[row[s]] = x[row[s]];
    for (degree = 1; degree < groups; degree++) {
        s = starts[degree];
        e = starts[degree + 1];
        while (s + 3 < e) {
            q1 = q0 + degree;
            q2 = q1 + degree;
            q3 = q2 + degree;
#if MICROGOV_TRUST_SIMD
            if (simd) {
                float lanes[4];
                __m128 w = _mm_loadu_ps(weight + s);
                __m128 a = _mm_setzero_ps();
                for (m = 0; m < degree; m++)
                    a = _mm_add_ps(
                        a, _mm_mul_ps(w, _mm_set_ps(x[q3[m]], x[q2[m]], x[q1[m]], x[q0[m]])));
                _mm_storeu_ps(lanes, a);
                a0 = lanes[0];
                a1 = lanes[1];
                a2 = lanes[2];
                a3 = lanes[3];
            } else
#endif
            {
                a0 = a1 = a2 = a3 = 0.0f;
                for (m = 0; m < degree; m++) {
                    a0 = a0 + weight[s] * x[q0[m]];
                    a1 = a1 + weight[s + 1] * x[q1[m]];
                    a2 = a2 + weight[s + 2] * x[q2[m]];
                    a3 = a3 + weight[s + 3] * x[q3[m]];
                }
            }
            out[row[s]] = a0;
            out[row[s + 1]] = a1;
            out[row[s + 2]] = a2;
            out[row[s + 3]] = a3;
            s += 4;
            q0 = q3 + degree;
        }
        while (s < e) {
            a0 = 0.0f;
            for (m = 0; m < degree; m++)
                a0 = a0 + weight[s] * x[q0[m]];
            out[row[s]] = a0;
            s += 1;
            q0 += degree;
        }
    }
}

/* Resident i's new trust, trust = disposition·r + (trust·keep + float32(neighbours·w)), in
 * that order; whether it left [0, 1] (NaN too). */
static inline int microgov_update_one(
    double *t, const double *d, Py_ssize_t i, float neighbours, float w32, double keep,
    double r)
{
    double kept = t[i] * keep;
    kept = kept + (double) (neighbours * w32);
    double value = d[i] * r;
    value = value + kept;
    t[i] = value;
    return !(value <= 1.0 && value >= 0.0);
}

/* Residents lo … lo + n − 1 (n ≤ 128: one of numpy's pairwise blocks) updated, then summed
 * as numpy sums a block: under 8 values one running sum, else 8 running sums — lanes of four
 * vectors — then ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) and the rest one by one.
 * *bad is set when a value left [0, 1]. */
static double microgov_update_block(
    double *t, const double *d, const float *out, Py_ssize_t lo, Py_ssize_t n, float w32,
    double keep, double r, int *bad, int simd)
{
    Py_ssize_t i = lo, end = lo + n;
    double total, s[8];
    int outside = 0;
#if MICROGOV_TRUST_SIMD
    if (simd) {
        const __m128d k = _mm_set1_pd(keep), rr = _mm_set1_pd(r);
        const __m128d one = _mm_set1_pd(1.0), zero = _mm_setzero_pd();
        const __m128 w = _mm_set1_ps(w32);
        __m128d inside = _mm_cmpeq_pd(zero, zero); /* all ones */
        for (; i + 2 <= end; i += 2) {
            __m128 pair = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *) (out + i)));
            __m128d kept = _mm_add_pd(
                _mm_mul_pd(_mm_loadu_pd(t + i), k), _mm_cvtps_pd(_mm_mul_ps(pair, w)));
            __m128d value = _mm_add_pd(_mm_mul_pd(_mm_loadu_pd(d + i), rr), kept);
            _mm_storeu_pd(t + i, value);
            inside = _mm_and_pd(
                inside, _mm_and_pd(_mm_cmple_pd(value, one), _mm_cmpge_pd(value, zero)));
        }
        outside = _mm_movemask_pd(inside) != 3;
    }
#endif
    for (; i < end; i++)
        outside |= microgov_update_one(t, d, i, out[i], w32, keep, r);
    if (outside)
        *bad = 1;
    if (n < 8) {
        total = 0.0;
        for (i = lo; i < end; i++)
            total = total + t[i];
        return total;
    }
    i = lo + 8;
#if MICROGOV_TRUST_SIMD
    if (simd) {
        __m128d s01 = _mm_loadu_pd(t + lo), s23 = _mm_loadu_pd(t + lo + 2);
        __m128d s45 = _mm_loadu_pd(t + lo + 4), s67 = _mm_loadu_pd(t + lo + 6);
        for (; i + 8 <= end; i += 8) {
            s01 = _mm_add_pd(s01, _mm_loadu_pd(t + i));
            s23 = _mm_add_pd(s23, _mm_loadu_pd(t + i + 2));
            s45 = _mm_add_pd(s45, _mm_loadu_pd(t + i + 4));
            s67 = _mm_add_pd(s67, _mm_loadu_pd(t + i + 6));
        }
        _mm_storeu_pd(s, s01);
        _mm_storeu_pd(s + 2, s23);
        _mm_storeu_pd(s + 4, s45);
        _mm_storeu_pd(s + 6, s67);
    } else
#endif
    {
        int j;
        for (j = 0; j < 8; j++)
            s[j] = t[lo + j];
        for (; i + 8 <= end; i += 8) {
            s[0] = s[0] + t[i];
            s[1] = s[1] + t[i + 1];
            s[2] = s[2] + t[i + 2];
            s[3] = s[3] + t[i + 3];
            s[4] = s[4] + t[i + 4];
            s[5] = s[5] + t[i + 5];
            s[6] = s[6] + t[i + 6];
            s[7] = s[7] + t[i + 7];
        }
    }
    total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < end; i++)
        total = total + t[i];
    return total;
}

#endif
