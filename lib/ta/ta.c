/* ta.c: the indicators of ta.h. Each update consumes one bar; the order of the
 * arithmetic follows TA-Lib's where TA-Lib states it (EMA: (x - prev) * k +
 * prev; Wilder: prev * (n - 1) + x, then / n) so that values agree with TA-Lib
 * to the last few bits, not only to a tolerance. */
#include "ta/ta.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- ring ---- */

void ta_ring_init(ta_ring *r, int cap)
{
    ASSERT(cap >= 1);
    r->v = xcalloc(2 * (size_t)cap, sizeof *r->v);
    r->cap = cap;
    r->len = r->pos = 0;
}

void ta_ring_free(ta_ring *r)
{
    free(r->v);
    r->v = NULL;
}

void ta_ring_clear(ta_ring *r) { r->len = r->pos = 0; }

/* The newest n values, oldest first, in place (see ta_ring in ta.h). */
static inline const double *ring_window(const ta_ring *r, int n)
{
    ASSERT(n >= 1 && n <= r->len);
    return r->v + r->pos + r->cap - n;
}

/* Sums in eight interleaved lanes (value k goes to lane k mod 8, k counted
 * from the oldest), added up at the end as ((0 + 1) + (2 + 3)) + ((4 + 5) +
 * (6 + 7)): eight independent chains of additions instead of one (a 72-bar
 * window is 9 additions deep, not 72 or, with four lanes, 18: the
 * statistics of a bar are bound by the adder's latency, not its
 * throughput), and an order fixed by the window's values alone, so a value
 * never depends on where the ring or the data began. ACC(s, i) adds the
 * term of value i to lane s. */
#define LANES8(ACC)                                                                                              \
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;                                     \
    int k = 0;                                                                                                  \
    for (; k + 8 <= n; k += 8) {                                                                                \
        ACC(s0, k), ACC(s1, k + 1), ACC(s2, k + 2), ACC(s3, k + 3);                                             \
        ACC(s4, k + 4), ACC(s5, k + 5), ACC(s6, k + 6), ACC(s7, k + 7);                                         \
    }                                                                                                           \
    if (k < n) ACC(s0, k), k++;                                                                                 \
    if (k < n) ACC(s1, k), k++;                                                                                 \
    if (k < n) ACC(s2, k), k++;                                                                                 \
    if (k < n) ACC(s3, k), k++;                                                                                 \
    if (k < n) ACC(s4, k), k++;                                                                                 \
    if (k < n) ACC(s5, k), k++;                                                                                 \
    if (k < n) ACC(s6, k), k++;                                                                                 \
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));

#define ACC_SUM(s, i) (s += x[i])
#define ACC_SQDEV(s, i) (s += (x[i] - m) * (x[i] - m))
__attribute__((always_inline)) static inline double lane_sum(const double *x, int n) { LANES8(ACC_SUM) }
/* the squared deviations from m, in the same lanes */
__attribute__((always_inline)) static inline double lane_sqdev(const double *x, int n, double m) { LANES8(ACC_SQDEV) }

/* The window lengths kml-features uses, as constants: the compiler unrolls
 * the lanes completely (same additions in the same order). */
#define TA_FIXED_N(f, n, ...)                                                                                    \
    switch (n) {                                                                                                \
    case 3: return f(3, __VA_ARGS__);                                                                          \
    case 4: return f(4, __VA_ARGS__);                                                                          \
    case 12: return f(12, __VA_ARGS__);                                                                        \
    case 14: return f(14, __VA_ARGS__);                                                                        \
    case 20: return f(20, __VA_ARGS__);                                                                        \
    case 24: return f(24, __VA_ARGS__);                                                                        \
    case 72: return f(72, __VA_ARGS__);                                                                        \
    default: return f(n, __VA_ARGS__);                                                                         \
    }

#define SUM_N(n, x) lane_sum(x, n)
static double window_sum(const double *x, int n) { TA_FIXED_N(SUM_N, n, x) }

/* lane_sum, then lane_sqdev about the mean; *mean gets the mean */
__attribute__((always_inline)) static inline double window_sqdev_of(int n, const double *x, double *mean)
{
    double m = lane_sum(x, n) / n;
    *mean = m;
    return lane_sqdev(x, n, m);
}
#define SQDEV_N(n, x, mean) window_sqdev_of(n, x, mean)
static double window_sqdev(const double *x, int n, double *mean) { TA_FIXED_N(SQDEV_N, n, x, mean) }

double ta_ring_sum(const ta_ring *r, int n) { return window_sum(ring_window(r, n), n); }

double ta_ring_mean(const ta_ring *r, int n) { return ta_ring_sum(r, n) / n; }

double ta_ring_var(const ta_ring *r, int n, int ddof)
{
    double m;
    return ta_ring_mean_var(r, n, ddof, &m);
}

double ta_ring_mean_var(const ta_ring *r, int n, int ddof, double *mean)
{
    ASSERT(n > ddof);
    return window_sqdev(ring_window(r, n), n, mean) / (n - ddof);
}

/* Several windows of one ring at once: their sums and squared deviations
 * are independent chains of additions, and written out together in one
 * function (the lengths kml-features uses as constants) the CPU runs them
 * side by side instead of one call after another. Each window's own lane
 * order, so the values are ta_ring_var's. */
void ta_ring_vars(const ta_ring *r, const int *n, int k, int ddof, double *var)
{
    if (k == 3 && n[0] == 12 && n[1] == 24 && n[2] == 72 && ddof == 1) {
        const double *x = ring_window(r, 72), *x24 = x + 48, *x12 = x + 60;
        double m12 = lane_sum(x12, 12) / 12, m24 = lane_sum(x24, 24) / 24, m72 = lane_sum(x, 72) / 72;
        var[0] = lane_sqdev(x12, 12, m12) / 11;
        var[1] = lane_sqdev(x24, 24, m24) / 23;
        var[2] = lane_sqdev(x, 72, m72) / 71;
        return;
    }
    for (int i = 0; i < k; i++) var[i] = ta_ring_var(r, n[i], ddof);
}

/* Window extremes. NaN never wins (as with `if (x > m) m = x`); with SSE2,
 * two lanes of maxpd/minpd, which keep the running value unless the new one
 * is greater (smaller), so a NaN is skipped there too. Of equal values the
 * two ways may return different ones, which only +0 and -0 can tell apart. */
#ifdef __SSE2__
#define RING_EXTREME(OP, INIT)                                                                                   \
    const double *x = ring_window(r, n);                                                                        \
    __m128d a = _mm_set1_pd(INIT), b = a;                                                                       \
    int i = 0;                                                                                                  \
    for (; i + 4 <= n; i += 4) {                                                                                \
        a = OP(_mm_loadu_pd(x + i), a);                                                                         \
        b = OP(_mm_loadu_pd(x + i + 2), b);                                                                     \
    }                                                                                                           \
    for (; i < n; i++) a = OP(_mm_set1_pd(x[i]), a);                                                            \
    a = OP(b, a);                                                                                        \
    return _mm_cvtsd_f64(OP(_mm_unpackhi_pd(a, a), a));
double ta_ring_max(const ta_ring *r, int n) { RING_EXTREME(_mm_max_pd, -INFINITY) }
double ta_ring_min(const ta_ring *r, int n) { RING_EXTREME(_mm_min_pd, INFINITY) }
#else
double ta_ring_max(const ta_ring *r, int n)
{
    const double *x = ring_window(r, n);
    double m = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

double ta_ring_min(const ta_ring *r, int n)
{
    const double *x = ring_window(r, n);
    double m = INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] < m) m = x[i];
    return m;
}
#endif

int ta_warmup(double alpha, double tol)
{
    ASSERT(alpha > 0 && alpha < 1 && tol > 0 && tol < 1);
    return (int)ceil(log(tol) / log1p(-alpha));
}

/* ---- SMA ---- */

void ta_sma_init(ta_sma *s, int n)
{
    s->n = n;
    ta_ring_init(&s->r, n);
}
void ta_sma_free(ta_sma *s) { ta_ring_free(&s->r); }
void ta_sma_reset(ta_sma *s) { ta_ring_clear(&s->r); }
int ta_sma_lookback(int n) { return n - 1; }

int ta_sma_update(ta_sma *s, double x, double *out)
{
    ta_ring_push(&s->r, x);
    if (s->r.len < s->n) return 0;
    *out = ta_ring_mean(&s->r, s->n);
    return 1;
}

/* ---- EMA ---- */

void ta_ema_init(ta_ema *s, int n, int warmup)
{
    ASSERT(n >= 1 && warmup >= 0);
    s->n = n;
    s->warmup = warmup;
    s->k = 2.0 / (n + 1);
    ta_ema_reset(s);
}

void ta_ema_reset(ta_ema *s)
{
    s->sum = s->value = 0;
    s->count = 0;
}

int ta_ema_lookback(int n, int warmup) { return n - 1 + warmup; }

int ta_ema_update(ta_ema *s, double x, double *out)
{
    s->count++;
    if (s->count <= s->n) {
        s->sum += x;
        if (s->count < s->n) return 0;
        s->value = s->sum / s->n; /* TA-Lib's seed: the SMA of the first n */
    } else {
        s->value = (x - s->value) * s->k + s->value;
    }
    *out = s->value;
    return s->count > ta_ema_lookback(s->n, s->warmup);
}

/* ---- MACD ---- */

void ta_macd_init(ta_macd *s, int fast, int slow, int signal, int warmup)
{
    ASSERT(fast >= 2 && slow > fast && signal >= 1 && warmup >= 0);
    s->fast = fast;
    s->slow = slow;
    s->signal = signal;
    s->warmup = warmup;
    s->kf = 2.0 / (fast + 1);
    s->ks = 2.0 / (slow + 1);
    s->kg = 2.0 / (signal + 1);
    ta_macd_reset(s);
}

void ta_macd_reset(ta_macd *s)
{
    s->sumf = s->sums = s->f = s->s = s->sig = 0;
    s->count = 0;
}

int ta_macd_lookback(int fast, int slow, int signal, int warmup)
{
    (void)fast;
    return (slow - 1) + (signal - 1) + warmup;
}

/* Bar i (0-based): both seed windows end on bar slow-1, where the first MACD
 * value is; the signal is seeded with the mean of the MACD values of bars
 * slow-1 .. slow+signal-2 and is first defined on the last of them. */
int ta_macd_update(ta_macd *s, double x, double *line, double *signal, double *hist)
{
    int64_t i = s->count++;
    double m;
    if (i < s->slow) {
        s->sums += x;
        if (i >= s->slow - s->fast) s->sumf += x;
        if (i < s->slow - 1) return 0;
        s->f = s->sumf / s->fast;
        s->s = s->sums / s->slow;
        m = s->f - s->s;
        s->sig = m;
        if (s->signal > 1) return 0;
    } else {
        s->f = (x - s->f) * s->kf + s->f;
        s->s = (x - s->s) * s->ks + s->s;
        m = s->f - s->s;
        int64_t seed_end = s->slow + s->signal - 2;
        if (i < seed_end) {
            s->sig += m;
            return 0;
        } else if (i == seed_end) {
            s->sig += m;
            s->sig /= s->signal;
        } else {
            s->sig = (m - s->sig) * s->kg + s->sig;
        }
    }
    *line = m;
    *signal = s->sig;
    *hist = m - s->sig;
    return i >= ta_macd_lookback(s->fast, s->slow, s->signal, s->warmup);
}

/* ---- RSI ---- */

void ta_rsi_init(ta_rsi *s, int n, int warmup)
{
    ASSERT(n >= 2 && warmup >= 0);
    s->n = n;
    s->warmup = warmup;
    ta_rsi_reset(s);
}

void ta_rsi_reset(ta_rsi *s)
{
    s->prev = s->gain = s->loss = 0;
    s->count = 0;
}

int ta_rsi_lookback(int n, int warmup) { return n + warmup; }

int ta_rsi_update(ta_rsi *s, double close, double *out)
{
    int64_t i = s->count++;
    if (i == 0) {
        s->prev = close;
        return 0;
    }
    double d = close - s->prev;
    s->prev = close;
    if (i <= s->n) {
        if (d < 0) s->loss -= d;
        else s->gain += d;
        if (i < s->n) return 0;
        s->loss /= s->n;
        s->gain /= s->n;
    } else {
        /* Wilder's smoothing: an EMA with alpha = 1/n, written as TA-Lib does. */
        s->loss *= s->n - 1;
        s->gain *= s->n - 1;
        if (d < 0) s->loss -= d;
        else s->gain += d;
        s->loss /= s->n;
        s->gain /= s->n;
    }
    double t = s->gain + s->loss;
    *out = TA_IS_ZERO(t) ? 0.0 : 100.0 * (s->gain / t);
    return i >= ta_rsi_lookback(s->n, s->warmup);
}

/* ---- ATR / NATR ---- */

double ta_true_range(double high, double low, double prev_close)
{
    double g = high - low, v = fabs(prev_close - high);
    if (v > g) g = v;
    v = fabs(prev_close - low);
    if (v > g) g = v;
    return g;
}

void ta_atr_init(ta_atr *s, int n, int warmup)
{
    ASSERT(n >= 2 && warmup >= 0);
    s->n = n;
    s->warmup = warmup;
    ta_atr_reset(s);
}

void ta_atr_reset(ta_atr *s)
{
    s->prevc = s->sum = s->atr = 0;
    s->count = 0;
}

int ta_atr_lookback(int n, int warmup) { return n + warmup; }

int ta_atr_update(ta_atr *s, double high, double low, double close, double *atr)
{
    int64_t i = s->count++;
    if (i == 0) {
        s->prevc = close;
        return 0;
    }
    double tr = ta_true_range(high, low, s->prevc);
    s->prevc = close;
    if (i <= s->n) {
        s->sum += tr;
        if (i < s->n) return 0;
        s->atr = s->sum / s->n;
    } else {
        s->atr *= s->n - 1;
        s->atr += tr;
        s->atr /= s->n;
    }
    *atr = s->atr;
    return i >= ta_atr_lookback(s->n, s->warmup);
}

int ta_natr_update(ta_atr *s, double high, double low, double close, double *natr)
{
    double atr = 0;
    int ok = ta_atr_update(s, high, low, close, &atr);
    if (s->count > s->n) *natr = TA_IS_ZERO(close) ? 0.0 : atr / close * 100.0;
    return ok;
}

/* ---- DMI / ADX ---- */

void ta_dmi_init(ta_dmi *s, int n, int warmup)
{
    ASSERT(n >= 2 && warmup >= 0);
    s->n = n;
    s->warmup = warmup;
    ta_dmi_reset(s);
}

void ta_dmi_reset(ta_dmi *s)
{
    s->ph = s->pl = s->pc = s->pdm = s->mdm = s->tr = s->sumdx = s->adx = 0;
    s->count = 0;
}

int ta_di_lookback(int n, int warmup) { return n + warmup; }
int ta_adx_lookback(int n, int warmup) { return 2 * n - 1 + warmup; }

/* Bars 1..n-1 sum the one-bar +DM, -DM and TR; from bar n on they are Wilder
 * sums (S - S/n + x), whose ratio is the DI. DX of bars n..2n-1 average into
 * the first ADX (bar 2n-1); later ADX are Wilder averages of DX. As in TA-Lib,
 * a bar whose DX is undefined (no range, or +DI + -DI == 0) adds 0 to the
 * seed and leaves a later ADX unchanged. */
int ta_dmi_update(ta_dmi *s, double high, double low, double close, double *plus_di, double *minus_di,
                  double *adx)
{
    int64_t i = s->count++;
    int n = s->n;
    if (i == 0) {
        s->ph = high;
        s->pl = low;
        s->pc = close;
        return 0;
    }
    double dp = high - s->ph, dm = s->pl - low;
    double tr = ta_true_range(high, low, s->pc);
    s->ph = high;
    s->pl = low;
    s->pc = close;
    double pdm1 = 0, mdm1 = 0;
    if (dm > 0 && dp < dm) mdm1 = dm;
    else if (dp > 0 && dp > dm) pdm1 = dp;
    if (i < n) {
        s->pdm += pdm1;
        s->mdm += mdm1;
        s->tr += tr;
        return 0;
    }
    s->mdm -= s->mdm / n;
    s->pdm -= s->pdm / n;
    s->mdm += mdm1;
    s->pdm += pdm1;
    s->tr = s->tr - s->tr / n + tr;
    double pdi = 0, mdi = 0, dx = 0;
    int dx_ok = 0;
    if (!TA_IS_ZERO(s->tr)) {
        mdi = 100.0 * (s->mdm / s->tr);
        pdi = 100.0 * (s->pdm / s->tr);
        double sum = mdi + pdi;
        if (!TA_IS_ZERO(sum)) {
            dx = 100.0 * (fabs(mdi - pdi) / sum);
            dx_ok = 1;
        }
    }
    *plus_di = pdi;
    *minus_di = mdi;
    int mask = i >= ta_di_lookback(n, s->warmup) ? 1 : 0;
    if (i < 2 * n - 1) {
        if (dx_ok) s->sumdx += dx;
        return mask;
    }
    if (i == 2 * n - 1) {
        if (dx_ok) s->sumdx += dx;
        s->adx = s->sumdx / n;
    } else if (dx_ok) {
        s->adx = (s->adx * (n - 1) + dx) / n;
    }
    *adx = s->adx;
    return mask | (i >= ta_adx_lookback(n, s->warmup) ? 2 : 0);
}

/* ---- CCI ---- */

void ta_cci_init(ta_cci *s, int n)
{
    ASSERT(n >= 2);
    s->n = n;
    ta_ring_init(&s->tp, n);
}
void ta_cci_free(ta_cci *s) { ta_ring_free(&s->tp); }
void ta_cci_reset(ta_cci *s) { ta_ring_clear(&s->tp); }
int ta_cci_lookback(int n) { return n - 1; }

int ta_cci_update(ta_cci *s, double high, double low, double close, double *out)
{
    return ta_cci_update_tp(s, ta_typical_price(high, low, close), out);
}

int ta_cci_update_tp(ta_cci *s, double tp, double *out)
{
    ta_ring_push(&s->tp, tp);
    if (s->tp.len < s->n) return 0;
    double avg = ta_ring_mean(&s->tp, s->n), dev = 0;
    for (int k = s->n - 1; k >= 0; k--) dev += fabs(ta_ring_ago(&s->tp, k) - avg);
    dev /= s->n;
    *out = dev <= 1e-12 * fabs(avg) ? 0.0 : (tp - avg) / (0.015 * dev);
    return 1;
}

/* ---- highest high / lowest low ---- */

void ta_hilo_init(ta_hilo *s, int n)
{
    ASSERT(n >= 1);
    s->n = n;
    ta_ring_init(&s->h, n);
    ta_ring_init(&s->l, n);
}
void ta_hilo_free(ta_hilo *s)
{
    ta_ring_free(&s->h);
    ta_ring_free(&s->l);
}
void ta_hilo_reset(ta_hilo *s)
{
    ta_ring_clear(&s->h);
    ta_ring_clear(&s->l);
}
int ta_hilo_lookback(int n) { return n - 1; }

int ta_hilo_update(ta_hilo *s, double high, double low, double *hh, double *ll)
{
    ta_ring_push(&s->h, high);
    ta_ring_push(&s->l, low);
    if (s->h.len < s->n) return 0;
    *hh = ta_ring_max(&s->h, s->n);
    *ll = ta_ring_min(&s->l, s->n);
    return 1;
}

/* ---- WILLR ---- */

void ta_willr_init(ta_willr *s, int n) { ta_hilo_init(&s->hl, n); }
void ta_willr_free(ta_willr *s) { ta_hilo_free(&s->hl); }
void ta_willr_reset(ta_willr *s) { ta_hilo_reset(&s->hl); }
int ta_willr_lookback(int n) { return n - 1; }

double ta_willr_of(double hh, double ll, double close)
{
    double diff = (hh - ll) / -100.0;
    return diff != 0.0 ? (hh - close) / diff : 0.0;
}

int ta_willr_update(ta_willr *s, double high, double low, double close, double *out)
{
    double hh, ll;
    if (!ta_hilo_update(&s->hl, high, low, &hh, &ll)) return 0;
    *out = ta_willr_of(hh, ll, close);
    return 1;
}

/* ---- STOCH ---- */

void ta_stoch_init(ta_stoch *s, int k, int sk, int sd)
{
    ta_hilo_init(&s->hl, k);
    ta_sma_init(&s->sk, sk);
    ta_sma_init(&s->sd, sd);
}
void ta_stoch_free(ta_stoch *s)
{
    ta_hilo_free(&s->hl);
    ta_sma_free(&s->sk);
    ta_sma_free(&s->sd);
}
void ta_stoch_reset(ta_stoch *s)
{
    ta_hilo_reset(&s->hl);
    ta_sma_reset(&s->sk);
    ta_sma_reset(&s->sd);
}
int ta_stoch_lookback(int k, int sk, int sd) { return (k - 1) + (sk - 1) + (sd - 1); }

int ta_stoch_update(ta_stoch *s, double high, double low, double close, double *slowk, double *slowd)
{
    double hh, ll;
    if (!ta_hilo_update(&s->hl, high, low, &hh, &ll)) return 0;
    return ta_stoch_update_hl(s, hh, ll, close, slowk, slowd);
}

int ta_stoch_update_hl(ta_stoch *s, double hh, double ll, double close, double *slowk, double *slowd)
{
    double k;
    double diff = (hh - ll) / 100.0;
    double fastk = diff != 0.0 ? (close - ll) / diff : 0.0;
    if (!ta_sma_update(&s->sk, fastk, &k)) return 0;
    *slowk = k;
    return ta_sma_update(&s->sd, k, slowd);
}

/* ---- MFI ---- */

void ta_mfi_init(ta_mfi *s, int n)
{
    ASSERT(n >= 2);
    s->n = n;
    ta_ring_init(&s->pos, n);
    ta_ring_init(&s->neg, n);
    s->count = 0;
}
void ta_mfi_free(ta_mfi *s)
{
    ta_ring_free(&s->pos);
    ta_ring_free(&s->neg);
}
void ta_mfi_reset(ta_mfi *s)
{
    ta_ring_clear(&s->pos);
    ta_ring_clear(&s->neg);
    s->count = 0;
}
int ta_mfi_lookback(int n) { return n; }

int ta_mfi_update(ta_mfi *s, double high, double low, double close, double volume, double *out)
{
    return ta_mfi_update_tp(s, ta_typical_price(high, low, close), volume, out);
}

int ta_mfi_update_tp(ta_mfi *s, double tp, double volume, double *out)
{
    if (s->count++ == 0) {
        s->prevtp = tp;
        return 0;
    }
    double d = tp - s->prevtp, scale = fabs(tp) + fabs(s->prevtp);
    s->prevtp = tp;
    double flow = fabs(d) <= TA_EPSILON * scale ? 0.0 : tp * volume;
    ta_ring_push(&s->pos, d < 0 ? 0.0 : flow);
    ta_ring_push(&s->neg, d < 0 ? flow : 0.0);
    if (s->pos.len < s->n) return 0;
    /* The window sums are recomputed from the ring, not kept by add-and-
     * subtract: no rounding residue survives the window. */
    double p = ta_ring_sum(&s->pos, s->n), q = ta_ring_sum(&s->neg, s->n), t = p + q;
    *out = t <= 0.0 ? 0.0 : 100.0 * (p / t);
    return 1;
}

/* ---- ROC ---- */

void ta_roc_init(ta_roc *s, int n)
{
    ASSERT(n >= 1);
    s->n = n;
    ta_ring_init(&s->c, n + 1);
}
void ta_roc_free(ta_roc *s) { ta_ring_free(&s->c); }
void ta_roc_reset(ta_roc *s) { ta_ring_clear(&s->c); }
int ta_roc_lookback(int n) { return n; }

int ta_roc_update(ta_roc *s, double close, double *out)
{
    ta_ring_push(&s->c, close);
    if (s->c.len <= s->n) return 0;
    double prev = ta_ring_ago(&s->c, s->n);
    *out = prev != 0.0 ? (close / prev - 1.0) * 100.0 : 0.0;
    return 1;
}

/* ---- BBANDS ---- */

void ta_bbands_init(ta_bbands *s, int n, double k)
{
    ASSERT(n >= 2);
    s->n = n;
    s->k = k;
    ta_ring_init(&s->c, n);
}
void ta_bbands_free(ta_bbands *s) { ta_ring_free(&s->c); }
void ta_bbands_reset(ta_bbands *s) { ta_ring_clear(&s->c); }
int ta_bbands_lookback(int n) { return n - 1; }

int ta_bbands_update(ta_bbands *s, double close, double *upper, double *middle, double *lower)
{
    ta_ring_push(&s->c, close);
    if (s->c.len < s->n) return 0;
    double m, sd = sqrt(ta_ring_mean_var(&s->c, s->n, 0, &m));
    *middle = m;
    *upper = m + s->k * sd;
    *lower = m - s->k * sd;
    return 1;
}

/* ---- rolling standard deviation ---- */

void ta_stddev_init(ta_stddev *s, int n, int ddof)
{
    ASSERT(n > ddof && (ddof == 0 || ddof == 1));
    s->n = n;
    s->ddof = ddof;
    ta_ring_init(&s->r, n);
}
void ta_stddev_free(ta_stddev *s) { ta_ring_free(&s->r); }
void ta_stddev_reset(ta_stddev *s) { ta_ring_clear(&s->r); }
int ta_stddev_lookback(int n) { return n - 1; }

int ta_stddev_update(ta_stddev *s, double x, double *out)
{
    ta_ring_push(&s->r, x);
    if (s->r.len < s->n) return 0;
    *out = sqrt(ta_ring_var(&s->r, s->n, s->ddof));
    return 1;
}

/* ---- z-score ---- */

void ta_zscore_init(ta_zscore *s, int n)
{
    ASSERT(n >= 2);
    s->n = n;
    ta_ring_init(&s->r, n);
}
void ta_zscore_free(ta_zscore *s) { ta_ring_free(&s->r); }
void ta_zscore_reset(ta_zscore *s) { ta_ring_clear(&s->r); }
int ta_zscore_lookback(int n) { return n - 1; }

int ta_zscore_update(ta_zscore *s, double x, double *out)
{
    ta_ring_push(&s->r, x);
    if (s->r.len < s->n) return 0;
    double m, sd = sqrt(ta_ring_mean_var(&s->r, s->n, 0, &m));
    *out = sd == 0.0 || sd <= 1e-12 * fabs(m) ? 0.0 : (x - m) / sd;
    return 1;
}

/* ---- range-based volatility ---- */

void ta_parkinson_init(ta_rangevol *s, int n)
{
    ASSERT(n >= 1);
    s->n = n;
    ta_ring_init(&s->r, n);
}
void ta_garman_klass_init(ta_rangevol *s, int n) { ta_parkinson_init(s, n); }
void ta_rangevol_free(ta_rangevol *s) { ta_ring_free(&s->r); }
void ta_rangevol_reset(ta_rangevol *s) { ta_ring_clear(&s->r); }
int ta_rangevol_lookback(int n) { return n - 1; }

int ta_parkinson_update(ta_rangevol *s, double high, double low, double *out)
{
    return ta_parkinson_update_log(s, log(high / low), out);
}

int ta_parkinson_update_log(ta_rangevol *s, double hl, double *out)
{
    ta_ring_push(&s->r, hl * hl);
    if (s->r.len < s->n) return 0;
    *out = sqrt(ta_ring_sum(&s->r, s->n) / (4.0 * s->n * M_LN2));
    return 1;
}

int ta_garman_klass_update(ta_rangevol *s, double open, double high, double low, double close, double *out)
{
    return ta_garman_klass_update_log(s, log(high / low), log(close / open), out);
}

int ta_garman_klass_update_log(ta_rangevol *s, double hl, double co, double *out)
{
    /* With low <= open, close <= high, |co| <= hl, so each term is >= 0. */
    ta_ring_push(&s->r, 0.5 * hl * hl - (2.0 * M_LN2 - 1.0) * co * co);
    if (s->r.len < s->n) return 0;
    *out = sqrt(ta_ring_mean(&s->r, s->n));
    return 1;
}

/* ---- array forms ---- */

static void fill_nan(double *a, int n)
{
    if (!a) return;
    for (int i = 0; i < n; i++) a[i] = NAN;
}

static int first_of(int first, int i)
{
    return first < 0 ? i : first;
}

int ta_run_ema(double *out, const double *x, int n, int period, int warmup)
{
    ta_ema s;
    ta_ema_init(&s, period, warmup);
    int first = -1;
    fill_nan(out, n);
    for (int i = 0; i < n; i++) {
        double v;
        if (ta_ema_update(&s, x[i], &v)) out[i] = v, first = first_of(first, i);
    }
    return first < 0 ? n : first;
}

int ta_run_rsi(double *out, const double *close, int n, int period, int warmup)
{
    ta_rsi s;
    ta_rsi_init(&s, period, warmup);
    int first = -1;
    fill_nan(out, n);
    for (int i = 0; i < n; i++) {
        double v;
        if (ta_rsi_update(&s, close[i], &v)) out[i] = v, first = first_of(first, i);
    }
    return first < 0 ? n : first;
}

int ta_run_natr(double *out, const double *high, const double *low, const double *close, int n, int period,
                int warmup)
{
    ta_atr s;
    ta_atr_init(&s, period, warmup);
    int first = -1;
    fill_nan(out, n);
    for (int i = 0; i < n; i++) {
        double v = 0;
        if (ta_natr_update(&s, high[i], low[i], close[i], &v)) out[i] = v, first = first_of(first, i);
    }
    return first < 0 ? n : first;
}

int ta_run_dmi(double *plus_di, double *minus_di, double *adx, const double *high, const double *low,
               const double *close, int n, int period, int warmup)
{
    ta_dmi s;
    ta_dmi_init(&s, period, warmup);
    int first = -1;
    fill_nan(plus_di, n);
    fill_nan(minus_di, n);
    fill_nan(adx, n);
    for (int i = 0; i < n; i++) {
        double p, m, a;
        int mask = ta_dmi_update(&s, high[i], low[i], close[i], &p, &m, &a);
        if (mask & 1) plus_di[i] = p, minus_di[i] = m;
        if (mask & 2) adx[i] = a, first = first_of(first, i);
    }
    return first < 0 ? n : first;
}

int ta_run_cci(double *out, const double *high, const double *low, const double *close, int n, int period)
{
    ta_cci s;
    ta_cci_init(&s, period);
    int first = -1;
    fill_nan(out, n);
    for (int i = 0; i < n; i++) {
        double v;
        if (ta_cci_update(&s, high[i], low[i], close[i], &v)) out[i] = v, first = first_of(first, i);
    }
    ta_cci_free(&s);
    return first < 0 ? n : first;
}

int ta_run_willr(double *out, const double *high, const double *low, const double *close, int n, int period)
{
    ta_willr s;
    ta_willr_init(&s, period);
    int first = -1;
    fill_nan(out, n);
    for (int i = 0; i < n; i++) {
        double v;
        if (ta_willr_update(&s, high[i], low[i], close[i], &v)) out[i] = v, first = first_of(first, i);
    }
    ta_willr_free(&s);
    return first < 0 ? n : first;
}

int ta_run_stoch(double *slowk, double *slowd, const double *high, const double *low, const double *close, int n,
                 int k, int sk, int sd)
{
    ta_stoch s;
    ta_stoch_init(&s, k, sk, sd);
    int first = -1;
    fill_nan(slowk, n);
    fill_nan(slowd, n);
    for (int i = 0; i < n; i++) {
        double a, b;
        if (ta_stoch_update(&s, high[i], low[i], close[i], &a, &b)) slowk[i] = a, slowd[i] = b, first = first_of(first, i);
    }
    ta_stoch_free(&s);
    return first < 0 ? n : first;
}

int ta_run_mfi(double *out, const double *high, const double *low, const double *close, const double *volume,
               int n, int period)
{
    ta_mfi s;
    ta_mfi_init(&s, period);
    int first = -1;
    fill_nan(out, n);
    for (int i = 0; i < n; i++) {
        double v;
        if (ta_mfi_update(&s, high[i], low[i], close[i], volume[i], &v)) out[i] = v, first = first_of(first, i);
    }
    ta_mfi_free(&s);
    return first < 0 ? n : first;
}

int ta_run_roc(double *out, const double *close, int n, int period)
{
    ta_roc s;
    ta_roc_init(&s, period);
    int first = -1;
    fill_nan(out, n);
    for (int i = 0; i < n; i++) {
        double v;
        if (ta_roc_update(&s, close[i], &v)) out[i] = v, first = first_of(first, i);
    }
    ta_roc_free(&s);
    return first < 0 ? n : first;
}

int ta_run_bbands(double *upper, double *middle, double *lower, const double *close, int n, int period, double k)
{
    ta_bbands s;
    ta_bbands_init(&s, period, k);
    int first = -1;
    fill_nan(upper, n);
    fill_nan(middle, n);
    fill_nan(lower, n);
    for (int i = 0; i < n; i++) {
        double u, m, l;
        if (ta_bbands_update(&s, close[i], &u, &m, &l)) upper[i] = u, middle[i] = m, lower[i] = l, first = first_of(first, i);
    }
    ta_bbands_free(&s);
    return first < 0 ? n : first;
}

int ta_run_macd(double *line, double *signal, double *hist, const double *close, int n, int fast, int slow,
                int sig, int warmup)
{
    ta_macd s;
    ta_macd_init(&s, fast, slow, sig, warmup);
    int first = -1;
    fill_nan(line, n);
    fill_nan(signal, n);
    fill_nan(hist, n);
    for (int i = 0; i < n; i++) {
        double a, b, c;
        if (ta_macd_update(&s, close[i], &a, &b, &c)) line[i] = a, signal[i] = b, hist[i] = c, first = first_of(first, i);
    }
    return first < 0 ? n : first;
}
