/* dtoa.c: see dtoa.h.
 *
 * Why it is exact: a finite double is x = m 2^e with an integer m < 2^53. For
 * 1e-6 <= |x| < 1e17 there is a k in [0, 22] with x 10^k in [1e16, 1e17), and
 * m 10^k (< 2^127) is an exact 128-bit integer, so the integer part q of
 * x 10^k and its fraction r / 2^s (s = -e) are exact too. Both questions that
 * printf and strtod decide are then integer comparisons:
 *   - rounding to p digits (p = 15, 16, 17): the dropped digits plus the
 *     fraction against half a unit of the p-th digit;
 *   - round trip: the distance from the p-digit decimal to x against half the
 *     gap to the neighbouring double (a quarter below an exact power of two,
 *     where the gap underneath is half as wide).
 * Exact ties of either kind (where printf's and strtod's tie rules would
 * decide) and magnitudes outside the range go to fmt_double() itself. */
#include "ta/dtoa.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

typedef unsigned __int128 u128;

static int slow(char *buf, double x)
{
    fmt_double(buf, x);
    return (int)strlen(buf);
}

static u128 pow10_128(int k)
{
    u128 p = 1;
    while (k-- > 0) p *= 10;
    return p;
}

static const char dig2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                           "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                           "8081828384858687888990919293949596979899";

/* 8 digits of v < 10^8, as four independent two-digit table lookups. */
static inline void put8(char *d, uint32_t v)
{
    uint32_t a = v / 10000, b = v % 10000;
    memcpy(d, dig2 + 2 * (a / 100), 2);
    memcpy(d + 2, dig2 + 2 * (a % 100), 2);
    memcpy(d + 4, dig2 + 2 * (b / 100), 2);
    memcpy(d + 6, dig2 + 2 * (b % 100), 2);
}

/* Write m (exactly p digits, m in [10^(p-1), 10^p)) with decimal exponent X
 * the way printf's %.pg does, after the sign. Digits are moved with
 * fixed-size copies (no memmove call): b gets up to 24 bytes of scratch past
 * the text, hence the 40-byte buffer. */
static int put_g(char *b, uint64_t m, int p, int X)
{
    /* m as 17 digits with leading zeros; its p digits are the last p. */
    char d17[48]; /* the rest is scratch the fixed-size copies read */
    uint64_t hi = m / 100000000;
    uint32_t w = (uint32_t)(m - hi * 100000000), t = (uint32_t)(hi / 100000000);
    d17[0] = (char)('0' + t);
    put8(d17 + 1, (uint32_t)(hi - (uint64_t)t * 100000000));
    put8(d17 + 9, w);
    const char *d = d17 + (17 - p);
    int nd = p;
    while (nd > 1 && d[nd - 1] == '0') nd--;
    int n;
    if (X < -4 || X >= p) {
        b[0] = d[0];
        n = 1;
        if (nd > 1) {
            b[1] = '.';
            memcpy(b + 2, d + 1, 16);
            n = nd + 1;
        }
        b[n++] = 'e';
        b[n++] = X < 0 ? '-' : '+';
        int e = X < 0 ? -X : X;
        if (e >= 100) b[n++] = (char)('0' + e / 100);
        b[n++] = (char)('0' + e / 10 % 10);
        b[n++] = (char)('0' + e % 10);
    } else if (X >= 0) {
        memcpy(b, d, 24);
        n = X + 1;
        if (nd > n) {
            b[n] = '.';
            memcpy(b + n + 1, d + n, 16);
            n = nd + 1;
        }
    } else {
        memcpy(b, "0.000000", 8);
        n = 1 - X; /* "0." and -X-1 zeros */
        memcpy(b + n, d, 24);
        n += nd;
    }
    b[n] = 0;
    return n;
}

int ta_fmt_double(char *buf, double x)
{
    static u128 P10[23];
    if (!P10[0])
        for (int i = 22; i >= 0; i--) P10[i] = pow10_128(i);
    if (x == 0) {
        int n = 0;
        if (signbit(x)) buf[n++] = '-';
        buf[n++] = '0';
        buf[n] = 0;
        return n;
    }
    double ax = fabs(x);
    if (!(ax >= 1e-6 && ax < 1e17)) return slow(buf, x); /* also NaN, Inf */
    /* ax = m 2^e exactly, m in [2^52, 2^53) (ax is normal here) */
    uint64_t bits;
    memcpy(&bits, &ax, sizeof bits);
    uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    int e = (int)(bits >> 52) - 1075, e2 = e + 53;
    /* floor(log10(ax)) is this guess or one above it: floor((e2 - 1) log10 2),
     * with log10 2 ~ 78913 / 2^18, exact for |e2| < 1650 (no libm call). */
    int e10 = ((e2 - 1) * 78913) >> 18;
    /* Pick between the two by a comparison with 10^(e10+1) (double powers of
     * ten from 1e-6 on; one rounded the wrong way only costs the retry below). */
    static const double p10d[24] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                    1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
    if (e10 + 7 >= 0 && e10 + 7 < 24 && ax >= p10d[e10 + 7]) e10++;
    int k = 16 - e10, s = e < 0 ? -e : 0;
    u128 q = 0, r = 0;
    for (int tries = 0; tries < 2; tries++) {
        if (k < 0 || k > 22) return slow(buf, x);
        u128 N = (u128)m * P10[k];
        if (e >= 0) q = N << e, r = 0;
        else q = N >> s, r = N & (((u128)1 << s) - 1);
        if (q < (u128)100000000000000000ULL) break;
        k--; /* the guess was one low */
    }
    if (q < (u128)10000000000000000ULL || q >= (u128)100000000000000000ULL) return slow(buf, x);
    uint64_t Q = (uint64_t)q;
    static const uint64_t unit[3] = {100, 10, 1};
    /* divisions by constants (multiplications), not by a loaded divisor */
    const uint64_t q100 = Q / 100, q10 = Q / 10;
    const uint64_t mps[3] = {q100, q10, Q}, lows[3] = {Q - q100 * 100, Q - q10 * 10, 0};
    for (int p = 15; p <= 17; p++) {
        uint64_t u = unit[p - 15], mp = mps[p - 15], low = lows[p - 15];
        /* rounding: the dropped part low + r/2^s against half a unit */
        if (u > 1) {
            if (low > u / 2 || (low == u / 2 && r != 0)) mp++;
            else if (low == u / 2) return slow(buf, x); /* an exact tie */
        } else if (s > 0) {
            u128 half = (u128)1 << (s - 1);
            if (r == half) return slow(buf, x);
            if (r > half) mp++;
        }
        int64_t dq = (int64_t)(mp * u) - (int64_t)Q;
        if (p < 17) {
            /* x's half gap, in units of the 17th digit, is T / (2m) < 1e17 / 2^53
             * < 11.2 (T = x 10^k < 1e17, m >= 2^52), and the decimal is at
             * least |dq| - 1 away: 13 or more units never read back as x. */
            if (dq > 12 || dq < -12) continue;
            /* round trip: d = (decimal - x) 10^k 2^s; x's half gap is 2^(e-1) 10^k,
             * so the decimal reads back as x when 2 |d| < 10^k (times 2^e when
             * e >= 0), or 4 |d| below an exact power of two. */
            int below = dq <= 0; /* the decimal is at or under x */
            u128 ad = below ? ((u128)(uint64_t)(-dq) << s) + r : ((u128)(uint64_t)dq << s) - r; /* |d| */
            u128 lhs = (below && m == (1ULL << 52)) ? ad << 2 : ad << 1;
            u128 rhs = e >= 0 ? P10[k] << e : P10[k];
            if (lhs == rhs) return slow(buf, x);
            if (lhs > rhs) continue;
        }
        /* 17 digits always read back as x (DBL_DECIMAL_DIG) */
        int X = 16 - k;
        if (mp == (uint64_t)P10[p]) {
            mp /= 10;
            X++;
        }
        int n = 0;
        if (x < 0) buf[n++] = '-';
        return n + put_g(buf + n, mp, p, X);
    }
    return slow(buf, x);
}
