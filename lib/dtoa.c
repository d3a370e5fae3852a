/* dtoa.c: see dtoa.h.
 *
 * Why it is exact: a finite double is x = m 2^e with an integer m < 2^53. For
 * 1e-16 <= |x| < 1e17 there is a k in [0, 32] with T = x 10^k in [1e16, 1e17).
 * Writing 10^k = 5^k 2^k, T = (m 5^k) 2^-f with f = -(e + k), and
 * m5 = m 5^k < 2^53 5^32 < 2^128 is an exact 128-bit integer. Half the gap
 * from x to its upper neighbour, scaled the same way, is h = 5^k 2^(-f-1);
 * the gap below is half as wide when m = 2^52 (x an exact power of two). A
 * decimal reads back as x when it lies strictly inside (T - h_below, T + h)
 * (on an end point strtod's ties-to-even rule decides); printf's "%.pg"
 * rounds T to p = 15, 16 or 17 digits. Both are integer comparisons:
 *   - usual case (5^k < 2^64 and 0 <= f <= 62): T and h are exact in 64.64 fixed
 *     point (a 64-bit integer part and a 64-bit fraction in one 128-bit
 *     integer), so the decimals that read back are the integers A..B and the
 *     roundings are divisions of T's integer part; for 1e-9 <= |x| < 1e8
 *     about (k >= 8 and f <= 56, fmt1()) T / 10^8 is exact in 64.64 as well,
 *     and T's integer part is never formed: its 8-digit halves and T's
 *     fraction come out of two multiplications;
 *   - otherwise (|x| below ~1e-11, where 5^k has more than 64 bits, or above
 *     ~2^53, where f < 0) the same questions in units of 2^-f with 128-bit
 *     integers.
 * Exact ties of either kind (where printf's and strtod's tie rules would
 * decide) and magnitudes outside the range go to fmt_double_ref() itself.
 *
 * In a features CSV whether a value needs 15, 16 or 17 digits changes from
 * value to value without a pattern a branch predictor can learn, so the
 * choice is made with conditional moves, and the digits are made sixteen at
 * a time in an SSE2 vector (eight at a time inside a 64-bit word without
 * it). What made fmt1() fast is mostly a shorter chain of dependent
 * operations per value (the CPU overlaps the values of a row): no 128-bit
 * T, the rounding's offsets from a table, the digit groups made while the
 * decision is made, the text's length known without the digits, the bits
 * read straight into an integer register. */
#include "dtoa.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(TA_DTOA_PORTABLE)
#define TA_DTOA_SSE2
#include <emmintrin.h>
#endif

#include "util.h"

typedef unsigned __int128 u128;

__attribute__((noinline)) static int slow(char *buf, double x)
{
    fmt_double_ref(buf, x);
    return (int)strlen(buf);
}

/* 5^k for k = 0..27, the powers below 2^64 */
static const uint64_t P5[28] = {1,
                                5,
                                25,
                                125,
                                625,
                                3125,
                                15625,
                                78125,
                                390625,
                                1953125,
                                9765625,
                                48828125,
                                244140625,
                                1220703125,
                                6103515625,
                                30517578125,
                                152587890625,
                                762939453125,
                                3814697265625,
                                19073486328125,
                                95367431640625,
                                476837158203125,
                                2384185791015625,
                                11920928955078125,
                                59604644775390625,
                                298023223876953125,
                                1490116119384765625,
                                7450580596923828125};

/* 10^j for j = 0..19 */
static u128 pow10u(int j)
{
    u128 p = 1;
    while (j-- > 0) p *= 10;
    return p;
}

/* Per binary exponent, what the usual cases need, so that they take no
 * logarithm guess, retry or variable shift: x = m 2^e with m in [2^52, 2^53)
 * lies in [10^g, 10^(g+2)) for g = floor((e + 52) log10 2), and x >= 10^(g+1)
 * exactly when m >= mthr = ceil(10^(g+1) / 2^e) (clipped to [2^52, 2^53]);
 * then k = 15 - g (the decimal exponent X = 16 - k is g + 1), else 16 - g
 * (X = g). For both, hlo[] and hhi[] hold the half gap h = 5^k 2^(63-f) in T's 64.64
 * fixed point (h is half of unit = 5^k 2^(64-f), the value of m = 1, so
 * T = 2 m h) and u8 = unit / 10^8 = 5^(k-8) 2^(56-f), an integer when k >= 8
 * and f <= 56. An exponent is "fast" when both k have 5^k < 2^64 and
 * 0 <= f <= 62 (fmt_other()'s 64.64 path), "fast8" when also k >= 8 and
 * f <= 56 (fmt1()'s path: 1e-9 <= |x| < 1e8 about); the others take the
 * general path. Filled once, before main(), by exact integer arithmetic. */
#define ETAB_E0 960 /* biased exponents 960..1087: 2^-115 .. 2^13 binades and up */
#define ETAB_N 128
static struct {
    uint64_t mthr;
    int32_t g; /* the decimal exponent X is g + big (big = m >= mthr) */
    uint8_t fast, fast8;
    uint64_t u8[2], hlo[2], hhi[2]; /* [big]; u8 < 2^42, hhi < 12 */
} __attribute__((aligned(64))) etab[ETAB_N]; /* 64 bytes: one cache line an exponent */
/* 1 for the sign-and-exponent fields (bits >> 52) of the fast8 exponents:
 * fmt1()'s range check in one load and test */
static uint8_t FAST8[4096];

__attribute__((constructor)) static void etab_init(void)
{
    for (int i = 0; i < ETAB_N; i++) {
        int e = ETAB_E0 + i - 1075, g = ((e + 52) * 78913) >> 18, j = g + 1;
        u128 thr; /* ceil(10^j / 2^e), or 2^53 when it is out of reach */
        if (j >= 0 && j <= 19 && e >= 0)
            thr = (pow10u(j) + ((u128)1 << e) - 1) >> e;
        else if (j >= 0 && j <= 19 && -e < 60)
            thr = pow10u(j) << -e;
        else if (j < 0 && -j <= 19 && -e < 127)
            thr = (((u128)1 << -e) + pow10u(-j) - 1) / pow10u(-j);
        else
            thr = (u128)1 << 53;
        if (thr < (u128)1 << 52) thr = (u128)1 << 52;
        if (thr > (u128)1 << 53) thr = (u128)1 << 53;
        etab[i].mthr = (uint64_t)thr;
        etab[i].g = g;
        etab[i].fast = etab[i].fast8 = 1;
        for (int big = 0; big < 2; big++) {
            int k = 16 - g - big, f = -(e + k);
            int used = big ? thr < (u128)1 << 53 : thr > (u128)1 << 52;
            if (!used) continue;
            if (k < 0 || k > 27 || f < 0 || f > 62) {
                etab[i].fast = etab[i].fast8 = 0;
                continue;
            }
            u128 h = (u128)P5[k] << (63 - f);
            etab[i].hlo[big] = (uint64_t)h, etab[i].hhi[big] = (uint64_t)(h >> 64);
            if (k < 8 || f > 56) etab[i].fast8 = 0;
            else etab[i].u8[big] = P5[k - 8] << (56 - f);
        }
        FAST8[ETAB_E0 + i] = FAST8[2048 + ETAB_E0 + i] = etab[i].fast8;
    }
}

/* 5^k for k = 0..32 as a 128-bit integer */
static u128 pow5(int k)
{
    return k <= 27 ? (u128)P5[k] : (u128)P5[27] * P5[k - 27];
}

/* The usual case: T and h in 64.64 fixed point (see the top). Sets *D to the
 * 17-digit integer of the decimal fmt_double_ref() writes (the first of T rounded
 * to 15, 16, 17 digits that reads back) and returns its p, or 0 for an exact
 * tie. Q = T's integer part is in [10^16, 10^17); h = 5^k 2^(63-f) the half
 * gap above, hl the one below (h or h / 2). */
__attribute__((always_inline)) static inline int decide(u128 T, u128 h, u128 hl, uint64_t *D)
{
    uint64_t Q = (uint64_t)(T >> 64), F = (uint64_t)T;
    u128 lo = T - hl, hi = T + h;
    /* the integers inside (lo, hi); neither end point is one (below) */
    uint64_t A = (uint64_t)(lo >> 64) + 1, B = (uint64_t)(hi >> 64);
    /* T rounded half up: T / u rounds up when (Q mod u) + F / 2^64 > u / 2,
     * that is when (Q mod u) + (F != 0) > u / 2. */
    uint64_t up = F != 0, r100 = Q % 100, r10 = (uint32_t)r100 % 10;
    uint64_t D15 = Q - r100 + 100 * (r100 + up > 50), D16 = Q - r10 + 10 * (r10 + up > 5), D17 = Q + (F >> 63);
    /* D17 is always inside: |D17 - T| <= 1/2 and h_below >= T / 2^54 > 0.55. */
    int in15 = D15 - A <= B - A, in16 = D16 - A <= B - A;
    /* The end points are never decimals: 2^(f+2) (T -+ h) = 4 m5 -+ 2 5^k (or
     * 4 m5 - 5^k below a power of two) is 2 times an odd number or odd, so
     * with f >= 0 the end points have a fraction and strtod's ties cannot
     * occur. printf's exact ties need T's fraction to be 0 (at 16 digits) or
     * exactly 1/2 (at 17); one at 15 digits is 50 units from T, beyond any
     * half gap (< 11.2 units), so it never reads back whichever way it goes. */
    if (__builtin_expect((F == 0) | (F == 1ULL << 63), 0) && !in15) {
        if (F == 0 && Q % 10 == 5) return 0;
        if (F != 0 && !in16) return 0;
    }
    /* the first that reads back, chosen with masks */
    uint64_t m15 = 0 - (uint64_t)in15, m16 = 0 - (uint64_t)(in16 & (in15 ^ 1)), m17 = ~(m15 | m16);
    *D = (D15 & m15) | (D16 & m16) | (D17 & m17);
    return 17 - in15 - (in15 | in16);
}

/* decide() for the other cases, in units of 2^-f (f <= 0: units of 1, the
 * fraction 0): m5 = m 5^k = T 2^f, p5 = 5^k. */
static int decide_wide(u128 m5, int f, u128 p5, int pow2, uint64_t *D)
{
    uint64_t Q;
    u128 r, one, G; /* the fraction, 1 and twice the half gap, in units of 2^-f */
    if (f > 0) {
        one = (u128)1 << f;
        Q = (uint64_t)(m5 >> f);
        r = m5 & (one - 1);
        G = p5;
    } else {
        one = 1;
        Q = (uint64_t)(m5 << -f);
        r = 0;
        G = p5 << -f;
    }
    /* Rounding to p digits: the dropped part R = (Q mod u) + r / 2^f against
     * half a unit u / 2, and the decimal's distance to T, R or u - R. */
    uint64_t q100 = Q / 100, q10 = Q / 10;
    u128 R15 = (u128)(Q - q100 * 100) * one + r, R16 = (u128)(Q - q10 * 10) * one + r;
    u128 half15 = 50 * one, half16 = 5 * one, half17 = one >> 1;
    int up15 = R15 > half15, up16 = R16 > half16, up17 = one > 1 && r > half17;
    /* Twice the distance (four times below a power of two) against G: the
     * decimal reads back as x when it is below. */
    u128 d15 = up15 ? 100 * one - R15 : R15, d16 = up16 ? 10 * one - R16 : R16;
    u128 l15 = (!up15 && pow2) ? d15 << 2 : d15 << 1, l16 = (!up16 && pow2) ? d16 << 2 : d16 << 1;
    if (l15 <= G) {
        if (l15 == G) return 0; /* a printf tie at 15 digits cannot land here (see decide) */
        *D = (q100 + (uint64_t)up15) * 100;
        return 15;
    }
    if (l16 <= G) {
        if (l16 == G || R16 == half16) return 0;
        *D = (q10 + (uint64_t)up16) * 10;
        return 16;
    }
    if (one > 1 && r == half17) return 0;
    *D = Q + (uint64_t)up17; /* 17 digits always read back as x (DBL_DECIMAL_DIG) */
    return 17;
}

typedef struct {
    int k, p;   /* k: the power of ten of T, -1 when none */
    uint64_t D; /* the decimal's 17-digit integer */
} decimal;

/* The decade, T and the decision for the exponents etab does not cover
 * (and, as a check, any other): k = -1 when x is outside [1e-16, 1e17). */
static decimal general(uint64_t bits, uint64_t m, int pow2)
{
    decimal r = {-1, 0, 0};
    int *p = &r.p;
    uint64_t *D = &r.D;
    double ax;
    memcpy(&ax, &bits, sizeof ax);
    if (!(ax >= 1e-16 && ax < 1e17)) return r; /* also NaN, Inf */
    int e = (int)(bits >> 52) - 1075;
    /* floor(log10(ax)) is g or g + 1, g = floor((e + 52) log10 2), with
     * log10 2 ~ 78913 / 2^18, exact for |e + 52| < 1650 (no libm call). Pick
     * between the two by a comparison with 10^(g+1) (double powers of ten;
     * one rounded the wrong way only costs the retry below). */
    static const double p10d[34] = {1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5,
                                    1e-4,  1e-3,  1e-2,  1e-1,  1e0,   1e1,   1e2,   1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,   1e9,   1e10,  1e11,  1e12,  1e13,  1e14,  1e15, 1e16, 1e17};
    int g = ((e + 52) * 78913) >> 18;
    if (g + 17 >= 0 && g + 17 < 34 && ax >= p10d[g + 17]) g++;
    int k = 16 - g;
    for (int tries = 0;; tries++) {
        if (k < 0 || k > 32 || tries == 2) return r;
        int f = -(e + k);
        uint64_t Q;
        if (k <= 27 && f >= 0 && f <= 62) {
            u128 T = ((u128)m * P5[k]) << (64 - f); /* < 2^121: T < 2^57 */
            Q = (uint64_t)(T >> 64);
            if (Q >= 10000000000000000ULL && Q < 100000000000000000ULL) {
                u128 h = (u128)P5[k] << (63 - f);
                *p = decide(T, h, pow2 ? h >> 1 : h, D);
                r.k = k;
                return r;
            }
        } else {
            u128 m5 = (u128)m * pow5(k);
            Q = f > 0 ? (uint64_t)(m5 >> f) : (uint64_t)(m5 << -f);
            if (Q >= 10000000000000000ULL && Q < 100000000000000000ULL) {
                *p = decide_wide(m5, f, pow5(k), pow2, D);
                r.k = k;
                return r;
            }
        }
        k += Q < 10000000000000000ULL ? 1 : -1; /* the guess was one off */
    }
}

/* printf's exponent suffix "e+XX" / "e-XX" for the decimal exponents the
 * printers below see, X = -16..17 (|x| in [1e-16, 1e17), and 10^17 itself
 * when x rounds up to it), four bytes each from X = -16 on. */
static const char EXPS[34][4] = {"e-16", "e-15", "e-14", "e-13", "e-12", "e-11", "e-10", "e-09", "e-08",
                                 "e-07", "e-06", "e-05", "e-04", "e-03", "e-02", "e-01", "e+00", "e+01",
                                 "e+02", "e+03", "e+04", "e+05", "e+06", "e+07", "e+08", "e+09", "e+10",
                                 "e+11", "e+12", "e+13", "e+14", "e+15", "e+16", "e+17"};

/* SIGNIFICANT: a decimal printed with p = 16 or 17 digits has exactly p
 * significant digits (its p-th digit is not 0), so the length of its text is
 * known without its digits: the digit makers' trailing zeros are counted only
 * for p = 15. For p = 17 the decimal D17 is T's nearest integer; were it a
 * multiple of 10, it would be T's nearest multiple of 10 too (|D17 - T| <= 1/2
 * < 5), that is D16, which would then read back as well and be printed with
 * 16 digits. For p = 16 likewise: a D16 that is a multiple of 100 (within 5
 * of T) is D15, and would be printed with 15 digits. */

#ifdef TA_DTOA_SSE2

/* The 16 digits after the first, hi8 10^8 + lo8 (each < 10^8), are made in
 * two steps: groups() splits them into four 4-digit groups (first in the
 * lowest lane), made before the decimal is decided; the rounding then adds
 * its offset from Q to the last group (add_last(); the carry out of it is
 * left to the caller), and put_g() makes the digits of the groups.
 *
 * SSE2: the groups in the 32-bit lanes of one vector. 10^4 = (v 3518437209)
 * >> 45 exactly for v < 10^8 (3518437209 = 2^45 / 10^4 rounded up; the excess
 * v 0.12 / 2^45 < 10^-6 never reaches the next integer). */
typedef __m128i groups;
__attribute__((always_inline)) static inline groups make_groups(uint32_t hi8, uint32_t lo8)
{
    __m128i v = _mm_unpacklo_epi64(_mm_cvtsi32_si128((int)hi8), _mm_cvtsi32_si128((int)lo8));
    __m128i q = _mm_srli_epi64(_mm_mul_epu32(v, _mm_set1_epi64x(3518437209LL)), 45);
    __m128i r = _mm_sub_epi64(v, _mm_mul_epu32(q, _mm_set1_epi64x(10000)));
    return _mm_or_si128(q, _mm_slli_epi64(r, 32));
}
static inline uint32_t last_group(groups g) { return (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(g, 12)); }
static inline groups add_last(groups g, uint32_t d)
{
    return _mm_add_epi32(g, _mm_slli_si128(_mm_cvtsi32_si128((int)d), 12));
}

/* The 16 digits of the groups x as bytes 0..15, first digit in byte 0: the
 * same divisions as digits8(), on all eight 2-digit groups at once. */
__attribute__((always_inline)) static inline __m128i digits16(groups x)
{
    __m128i y = _mm_srli_epi16(_mm_mulhi_epu16(x, _mm_set1_epi32(5243)), 3);
    __m128i z = _mm_sub_epi16(x, _mm_mullo_epi16(y, _mm_set1_epi32(100)));
    __m128i w = _mm_or_si128(y, _mm_slli_epi32(z, 16)); /* eight 2-digit groups in 16-bit lanes */
    __m128i t = _mm_mulhi_epu16(w, _mm_set1_epi16(103 << 6));
    /* t + ((w - 10 t) << 8) = (w << 8) + t (1 - 2560), in 16 bits: one
     * multiplication (w < 100, so w << 8 does not overflow) */
    __m128i k = _mm_set1_epi16(1 - 2560);
    __asm__("" : "+x"(k)); /* a multiplication, not the four shifts and adds GCC would make of it */
    return _mm_add_epi16(_mm_slli_epi16(w, 8), _mm_mullo_epi16(t, k)); /* sixteen digits in bytes */
}

/* 16 bytes of -1 then 16 of 0: the 16 bytes from BEFORE + 16 - n have -1 in
 * their first n bytes (n = 0..16). */
static const char BEFORE[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};

/* Write the decimal D = c 10^16 + hi8 10^8 + lo8 (c = 1..9, hi8 and lo8 <
 * 10^8, in groups g) with decimal exponent X the way printf's %.pg does, after the sign:
 * fixed notation when -4 <= X < p, else d.ddde+XX; trailing zeros dropped.
 * Writes up to 34 bytes (scratch past the text included); returns the text's
 * length. The 16 digits after the first are made and stored as one vector
 * (SSE2); the point inside them is put in by blending the digits with
 * themselves moved up one byte (the bytes before the point from the first,
 * the rest from the second), so no variable shift or branch is needed. */
__attribute__((always_inline)) static inline int put_g(char *b, uint32_t c, groups g, int p, int X)
{
    __m128i d = digits16(g);
    __m128i a = _mm_add_epi8(d, _mm_set1_epi8('0'));
    int nd = p; /* the significant digits, see SIGNIFICANT */
    if (__builtin_expect(p == 15, 0)) {
        unsigned nz = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) & 0xFFFF;
        nd = nz ? 33 - __builtin_clz(nz) : 1; /* 17 less the trailing zeros (c > 0) */
    }
    char c0 = (char)('0' + c);
    int n;
    if ((unsigned)(X + 4) >= (unsigned)(p + 4)) { /* X < -4 or X >= p */
        b[0] = c0;
        b[1] = '.';
        _mm_storeu_si128((__m128i *)(b + 2), a);
        n = nd > 1 ? nd + 1 : 1;
        memcpy(b + n, EXPS[X + 16], 4);
        n += 4;
    } else if (X >= 0) {
        int j = X + 1; /* digits before the point, < 17 here */
        /* byte i is digit i + 2 of D, at b[i + 1]: before the point (i < j - 1)
         * it stays there, after it moves up one byte */
        __m128i before = _mm_loadu_si128((const __m128i *)(BEFORE + 16 - (j - 1)));
        __m128i m = _mm_or_si128(_mm_and_si128(before, a), _mm_andnot_si128(before, _mm_slli_si128(a, 1)));
        b[0] = c0;
        _mm_storeu_si128((__m128i *)(b + 1), m);
        b[17] = (char)(_mm_extract_epi16(a, 7) >> 8); /* the 17th digit, moved out of the vector */
        b[j] = '.';
        n = nd > j ? nd + 1 : j;
    } else {
        memcpy(b, "0.000000", 8);
        n = 1 - X; /* "0." and -X-1 zeros */
        b[n] = c0;
        _mm_storeu_si128((__m128i *)(b + n + 1), a);
        n += nd;
    }
    return n;
}

#else

/* Without SSE2 the groups are two words, each with two groups in its 32-bit
 * halves (the first in the low half). */
typedef struct {
    uint64_t hi, lo;
} groups;
static inline groups make_groups(uint32_t hi8, uint32_t lo8)
{
    groups g = {(uint64_t)(hi8 / 10000) | (uint64_t)(hi8 % 10000) << 32,
                (uint64_t)(lo8 / 10000) | (uint64_t)(lo8 % 10000) << 32};
    return g;
}
static inline uint32_t last_group(groups g) { return (uint32_t)(g.lo >> 32); }
static inline groups add_last(groups g, uint32_t d)
{
    g.lo += (uint64_t)d << 32;
    return g;
}

/* Two 4-digit groups x (in the 32-bit halves) as eight ASCII digits in a
 * little-endian word (first digit in the lowest byte). *dig gets the word
 * before the '0's are added: its high zero bytes are the trailing zeros. Each
 * step divides every lane by a constant with a multiply and shift that is
 * exact over the lane's range (tested over all inputs): x/100 = (x 5243) >> 19
 * for x < 10^4, x/10 = (x 103) >> 10 for x < 100. */
static inline uint64_t digits8(uint64_t x, uint64_t *dig)
{
    uint64_t h = ((x * 5243) >> 19) & 0x0000007F0000007FULL;
    uint64_t y = h | ((x - h * 100) << 16); /* four 2-digit lanes of 16 bits */
    uint64_t t = ((y * 103) >> 10) & 0x000F000F000F000FULL;
    uint64_t d = t | ((y - t * 10) << 8); /* eight 1-digit lanes of 8 bits */
    *dig = d;
    return d + 0x3030303030303030ULL;
}

/* 16 bytes as two 8-byte stores (a 16-byte store of a value built in two
 * halves would go through the stack). */
static inline void put16(char *b, uint64_t lo, uint64_t hi)
{
    memcpy(b, &lo, 8);
    memcpy(b + 8, &hi, 8);
}

/* put_g() without SSE2 (the SSE2 one above makes the same text; see it). */
__attribute__((always_inline)) static inline int put_g(char *b, uint32_t c, groups g, int p, int X)
{
    uint64_t lo8d, hi8d;
    uint64_t alo = digits8(g.lo, &lo8d);
    uint64_t ahi = digits8(g.hi, &hi8d);
    char c0 = (char)('0' + c);
    /* significant digits: 17 less the trailing zeros (c > 0); p unless p = 15
     * (see SIGNIFICANT) */
    int nd = p != 15 ? p : lo8d ? 17 - __builtin_clzll(lo8d) / 8 : hi8d ? 9 - __builtin_clzll(hi8d) / 8 : 1;
    int n;
    if (X < -4 || X >= p) {
        b[0] = c0;
        b[1] = '.';
        put16(b + 2, ahi, alo);
        n = nd > 1 ? nd + 1 : 1;
        memcpy(b + n, EXPS[X + 16], 4);
        n += 4;
    } else if (X >= 0) {
        int j = X + 1; /* digits before the point, < 17 here */
        b[0] = c0;
        put16(b + 1, ahi, alo);
        if (nd > j) {
            /* digits j+1..17: the 16 digits 2..17 moved down by j - 1 bytes */
            u128 tail = ((u128)ahi | (u128)alo << 64) >> (8 * (j - 1));
            b[j] = '.';
            put16(b + j + 1, (uint64_t)tail, (uint64_t)(tail >> 64));
            n = nd + 1;
        } else {
            n = j;
        }
    } else {
        memcpy(b, "0.000000", 8);
        n = 1 - X; /* "0." and -X-1 zeros */
        b[n] = c0;
        put16(b + n + 1, ahi, alo);
        n += nd;
    }
    return n;
}

#endif

/* A 17-digit decimal D (10^16 <= D <= 10^17) with decimal exponent *X as
 * its first digit (*c) and the digit groups of the other sixteen; a D
 * rounded up to 10^17 becomes 10^16 with *X one more. */
static inline groups split17(uint64_t D, uint32_t *c, int *X)
{
    if (D == 100000000000000000ULL) { /* rounded up to the next power of ten */
        D = 10000000000000000ULL;
        ++*X;
    }
    uint64_t h8 = D / 100000000;
    *c = (uint32_t)(h8 / 100000000);
    return make_groups((uint32_t)(h8 - (uint64_t)*c * 100000000), (uint32_t)(D - h8 * 100000000));
}

/* Everything the usual case below (fmt1()) leaves: zero, exact powers of
 * two, the exponents outside its range and exact ties. The other "fast"
 * exponents by the 64.64 path of decide() (T = 2 m h), the rest by general()
 * (which hands what it cannot decide to fmt_double_ref()); NUL-terminated. */
__attribute__((noinline)) static int fmt_other(char *buf, uint64_t bits)
{
    double x;
    memcpy(&x, &bits, sizeof x);
    char *b = buf;
    b[0] = '-';
    b += bits >> 63;
    bits &= ~(1ULL << 63);
    if (bits == 0) {
        b[0] = '0';
        b[1] = 0;
        return (int)(b - buf) + 1;
    }
    /* ax = m 2^e exactly, m in [2^52, 2^53) (ax is normal here) */
    uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52), D;
    int pow2 = m == (1ULL << 52), k, p;
    unsigned ti = (unsigned)(bits >> 52) - ETAB_E0;
    if (ti < ETAB_N && etab[ti].fast) {
        int big = m >= etab[ti].mthr;
        u128 h = (u128)etab[ti].hhi[big] << 64 | etab[ti].hlo[big];
        k = 16 - etab[ti].g - big;
        u128 T = (u128)m * (uint64_t)h * 2 + ((u128)(m * (uint64_t)(h >> 64) * 2) << 64); /* < 2^121 */
        p = decide(T, h, h - ((h >> 1) & (0 - (u128)pow2)), &D);
    } else {
        decimal r = general(bits, m, pow2);
        if (r.k < 0) return slow(buf, x);
        k = r.k, p = r.p, D = r.D;
    }
    if (!p) return slow(buf, x);
    int X = 16 - k;
    uint32_t c;
    groups g = split17(D, &c, &X);
    int n = (int)(b - buf) + put_g(b, c, g, p, X);
    buf[n] = 0;
    return n;
}

/* T rounded half up to 15 and 16 digits, as the offsets from Q: for
 * r = Q mod 100 and up = (T's fraction F != 0), ROUND[2 r + up] = {d15, d16}
 * with d15 = -r or 100 - r (T / 100 rounds up when r + F / 2^64 > 50, that is
 * when r + up > 50) and d16 = -(r mod 10) or 10 - (r mod 10) the same way. */
static const int8_t ROUND[200][2] = {
#define R1(r, up) {(int8_t)(((r) + (up) > 50 ? 100 : 0) - (r)), (int8_t)(((r) % 10 + (up) > 5 ? 10 : 0) - (r) % 10)}
#define R2(r) R1(r, 0), R1(r, 1)
#define R10(r) R2(r), R2(r + 1), R2(r + 2), R2(r + 3), R2(r + 4), R2(r + 5), R2(r + 6), R2(r + 7), R2(r + 8), R2(r + 9)
    R10(0), R10(10), R10(20), R10(30), R10(40), R10(50), R10(60), R10(70), R10(80), R10(90)
#undef R10
#undef R2
#undef R1
};

/* ta_fmt_double() in the usual case, 1e-9 <= |x| < 1e8 about ("fast8",
 * see etab), inlined into both exported functions; the rest goes to
 * fmt_other(). With u8 = unit / 10^8 an integer, m u8 = T / 10^8 exactly in
 * 64.64 fixed point: its integer part is hi = floor(Q / 10^8) (Q = T's
 * integer part), its fraction R = (T mod 10^8) / 10^8, so R 10^8 = (lo8 =
 * Q mod 10^8) + F / 2^64 exactly, F = T's fraction: two 64 x 64 -> 128
 * multiplications make the digits' split of Q and T's fraction, Q itself
 * is never needed. The half gap h = hh + hl / 2^64. The decimals that read
 * back are the integers strictly inside (T - h, T + h), Q - nlo + 1 ..
 * Q + nhi with nlo = Q - floor(T - h) = hh + (F < hl) and nhi = floor(T + h)
 * - Q = hh + (carry of F + hl): so D = Q + d reads back when -nlo < d <= nhi,
 * that is d + nlo - 1 <= nhi + nlo - 1 as unsigned numbers (the interval is
 * wider than 2 h > 1.1, never empty). printf's p-digit rounding of T is Q + d
 * with d = -(Q mod u) or u - (Q mod u) (u = 100, 10) or F >> 63 (p = 17):
 * only Q's last digits take part: the digit groups of Q are made while the
 * decision is made, and the rounding adds d to the last group; one that
 * carries out of it makes the decimal's groups again. The half gap below x
 * is h except at exact powers of two, left to fmt_other(). nul: write the
 * terminating NUL. */
__attribute__((always_inline)) static inline int fmt1(char *buf, uint64_t bits, int nul)
{
    char *b = buf;
    b[0] = '-';
    b += bits >> 63;
    uint64_t frac = bits & ((1ULL << 52) - 1);
    if (__builtin_expect(!FAST8[bits >> 52], 0) || __builtin_expect(frac == 0, 0)) return fmt_other(buf, bits);
    unsigned ti = (unsigned)(bits >> 52 & 0x7FF) - ETAB_E0; /* < ETAB_N (FAST8) */
    uint64_t m = frac | (1ULL << 52);
    int big = m >= etab[ti].mthr;
    u128 P = (u128)m * etab[ti].u8[big]; /* T / 10^8 */
    uint64_t hi = (uint64_t)(P >> 64);
    u128 P2 = (u128)(uint64_t)P * 100000000; /* (T mod 10^8) 2^64 */
    uint32_t lo8 = (uint32_t)(P2 >> 64), c = (uint32_t)hi / 100000000, hi8 = (uint32_t)hi - c * 100000000;
    uint64_t F = (uint64_t)P2;
    groups g = make_groups(hi8, lo8); /* before the decision, which only adds to the last group */
    uint64_t hl = etab[ti].hlo[big], hh = etab[ti].hhi[big];
    uint64_t nlo = hh + (F < hl), nhi = hh + (F + hl < F);
    uint64_t base = nlo - 1, width = nhi + base;
    /* T rounded half up: T / u rounds up when (Q mod u) + F / 2^64 > u / 2,
     * that is when (Q mod u) + (F != 0) > u / 2. */
    unsigned up = F != 0, r100 = lo8 % 100;
    uint64_t d15 = (uint64_t)(int64_t)ROUND[2 * r100 + up][0], d16 = (uint64_t)(int64_t)ROUND[2 * r100 + up][1];
    uint64_t d17 = F >> 63; /* always inside: |D17 - T| <= 1/2 < h */
    int in15 = d15 + base <= width, in16 = d16 + base <= width;
    /* printf's exact ties need F = 0 (at 16 digits) or 1/2 (at 17); at 15
     * digits one is 50 units from T, beyond any half gap (< 11.2 units), so
     * there it never reads back (see decide()); F + F = 0 for both. */
    if (__builtin_expect((F + F == 0) & !in15, 0)) return fmt_other(buf, bits);
    /* in15 implies in16: D16 is a nearest multiple of 10 to T, D15 one of
     * them, and the interval is symmetric here */
    uint64_t d = in16 ? d16 : d17;
    d = in15 ? d15 : d;
    int p = 17 - in15 - in16;
    int X = etab[ti].g + big;
    if (__builtin_expect(last_group(g) + (uint32_t)d < 10000, 1)) {
        g = add_last(g, (uint32_t)d);
    } else {
        /* the rounding carries out of the last group (a short decimal just
         * below it, as a price often is): D split again */
        g = split17(hi * 100000000 + lo8 + d, &c, &X);
    }
    int n = put_g(b, c, g, p, X);
    if (nul) b[n] = 0;
    return (int)(b - buf) + n;
}

int ta_fmt_double(char *buf, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return fmt1(buf, bits, 1);
}

char *ta_fmt_doubles(char *p, const double *x, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, x + i, sizeof bits); /* straight into an integer register */
        *p++ = ',';
        p += fmt1(p, bits, 0);
    }
    return p;
}

void ta_fmt_memo_init(ta_fmt_memo *m) { memset(m, 0, sizeof *m); }

void ta_fmt_memo_fill(ta_fmt_memo *m, unsigned i, uint64_t bits)
{
    m->e[i].text[0] = ',';
    m->e[i].len = 1 + fmt1(m->e[i].text + 1, bits, 0);
    m->e[i].bits = bits;
}

/* Two digits a step from a table of "00".."99", written from the end. */
int ta_fmt_int(char *b, int64_t v)
{
    static const char d2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    char t[24];
    int k = 24, n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        k -= 2;
        memcpy(t + k, d2 + 2 * r, 2);
    }
    if (u >= 10) k -= 2, memcpy(t + k, d2 + 2 * u, 2);
    else t[--k] = (char)('0' + u);
    if (v < 0) b[n++] = '-';
    memcpy(b + n, t + k, (size_t)(24 - k));
    return n + 24 - k;
}
