/* dtoa.c: see dtoa.h.
 *
 * Why it is exact: with x in [1e16, 1e17) after scaling by an exact power of
 * ten (10^k, |k| <= 27, is exact in the 64-bit mantissa of x87 long double),
 * the scaled value q carries an error below 2^-64 relative, i.e. below 0.006
 * units of the 17th digit. A p-digit rounding is decided from q only when q's
 * fraction is at least 0.02 units away from one half, and a round-trip only
 * when |decimal - x| is at least a margin of the same size away from half the
 * gap to the neighbouring double; every other case goes to fmt_double(). Where
 * long double is no wider than double (some ABIs), everything goes there. */
#include "ta/dtoa.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

static const long double p10[28] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
    1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

static int slow(char *buf, double x)
{
    fmt_double(buf, x);
    return (int)strlen(buf);
}

/* x * 10^k in long double (one rounding), or -1 when k is out of range. */
static long double scale(double x, int k)
{
    if (k >= 0) return k <= 27 ? (long double)x * p10[k] : -1;
    return -k <= 27 ? (long double)x / p10[-k] : -1;
}

/* Write m (exactly p digits, m in [10^(p-1), 10^p)) with decimal exponent X
 * the way printf's %.pg does, after the sign. */
static int put_g(char *b, uint64_t m, int p, int X)
{
    char d[20];
    for (int i = p - 1; i >= 0; i--) {
        d[i] = (char)('0' + m % 10);
        m /= 10;
    }
    int nd = p;
    while (nd > 1 && d[nd - 1] == '0') nd--;
    int n = 0;
    if (X < -4 || X >= p) {
        b[n++] = d[0];
        if (nd > 1) {
            b[n++] = '.';
            memcpy(b + n, d + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        b[n++] = 'e';
        b[n++] = X < 0 ? '-' : '+';
        int e = X < 0 ? -X : X;
        if (e >= 100) b[n++] = (char)('0' + e / 100);
        b[n++] = (char)('0' + e / 10 % 10);
        b[n++] = (char)('0' + e % 10);
    } else if (X >= 0) {
        memcpy(b + n, d, (size_t)X + 1);
        n += X + 1;
        if (nd > X + 1) {
            b[n++] = '.';
            memcpy(b + n, d + X + 1, (size_t)(nd - X - 1));
            n += nd - X - 1;
        }
    } else {
        b[n++] = '0';
        b[n++] = '.';
        for (int i = 0; i < -X - 1; i++) b[n++] = '0';
        memcpy(b + n, d, (size_t)nd);
        n += nd;
    }
    b[n] = 0;
    return n;
}

int ta_fmt_double(char *buf, double x)
{
    if (LDBL_MANT_DIG < 64 || !isfinite(x) || x == 0) return slow(buf, x);
    double ax = fabs(x);
    int e2;
    double f = frexp(ax, &e2); /* ax = f 2^e2, f in [0.5, 1) */
    /* log10(ax) lies in [(e2-1) log10(2), e2 log10(2)): this guess is the
     * decimal exponent or one below it, which the checks below correct. */
    int e10 = (int)floor((e2 - 1) * 0.30102999566398120);
    long double q17 = scale(ax, 16 - e10);
    if (q17 < 0) return slow(buf, x);
    if (q17 >= 1e17L) q17 = scale(ax, 16 - ++e10);
    if (q17 < 1e16L || q17 >= 1e17L || ax < DBL_MIN) return slow(buf, x);
    int k = 16 - e10;
    /* Half the gaps to the neighbouring doubles, in units of the 17th digit;
     * below a power of two the gap is half as wide. */
    double ulp = ldexp(1.0, e2 - 53);
    long double hup = scale(ulp, k) / 2;
    long double hdn = f == 0.5 ? hup / 2 : hup;
    if (hup < 0) return slow(buf, x);
    /* All in units of the 17th digit: q17 = I + frac, frac exact. */
    uint64_t I = (uint64_t)q17;
    long double frac = q17 - (long double)I;
    static const uint64_t unit[3] = {100, 10, 1};
    const long double margin = 0.02L;
    for (int p = 15; p <= 17; p++) {
        uint64_t u = unit[p - 15], mp = I / u;
        long double r = (long double)(I % u) + frac; /* below the p digits */
        long double half = 0.5L * (long double)u;
        if (fabsl(r - half) < margin) return slow(buf, x);
        if (r > half) mp++;
        long double err = (long double)(int64_t)(mp * u - I) - frac; /* decimal - x */
        long double a = fabsl(err), h = err >= 0 ? hup : hdn;
        if (fabsl(a - h) < margin) return slow(buf, x);
        if (a > h) continue;
        int X = e10;
        if (mp == (uint64_t)p10[p]) {
            mp /= 10;
            X++;
        }
        int n = 0;
        if (x < 0) buf[n++] = '-';
        return n + put_g(buf + n, mp, p, X);
    }
    return slow(buf, x);
}
