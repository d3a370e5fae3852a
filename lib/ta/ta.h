/* ta.h: technical indicators in the manner of TA-Lib, written once, in double,
 * as streaming state machines.
 *
 * Each indicator X has:
 *   ta_X_init(s, params...)   set up (allocates its ring buffers; ta_X_free releases)
 *   ta_X_reset(s)             forget every bar seen (a restart after a data gap)
 *   ta_X_update(s, bar..., out...)  feed one bar; returns 1 when the outputs are
 *                             defined for this bar, 0 during the lookback
 *   ta_X_lookback(params...)  the 0-based index of the first defined output, known
 *                             before any data is read (TA-Lib's *_Lookback)
 * A state keeps only what the definition needs: a ring buffer as long as the
 * window, or the recursive averages. The array form is a loop over the update
 * (ta_run_* below), so each indicator exists exactly once.
 *
 * Recursive indicators (EMA, MACD, RSI, ATR, DMI/ADX) take their warm-up as an
 * explicit parameter: the first `warmup` defined values are withheld, so the
 * first value reported no longer depends (beyond the chosen tolerance) on
 * where the data started. ta_warmup() computes the bars needed for a decay.
 * There is no process-global "unstable period" (TA_SetUnstablePeriod).
 *
 * Definitions follow TA-Lib (github.com/TA-Lib/ta-lib, default compatibility):
 * EMA seeded with the simple average of its first n inputs; Wilder averages
 * (RSI, ATR) seeded with the simple average of the first n values; DMI with
 * Wilder sums seeded with the sum of the first n-1 one-bar values; ADX seeded
 * with the mean of the first n DX; MACD with both price EMAs seeded on windows
 * ending on the same bar and the signal EMA seeded with the mean of the first
 * `signal` MACD values. Zero guards are TA-Lib's TA_IS_ZERO (|x| < 1e-14)
 * except where noted (CCI and Bollinger use a scale-aware test). */
#ifndef KML_TA_H
#define KML_TA_H

#include <stdint.h>

#define TA_EPSILON 1e-14
#define TA_IS_ZERO(v) (-TA_EPSILON < (v) && (v) < TA_EPSILON)

/* ---- ring buffer of the last `cap` values ----
 * Each value is stored twice, at pos and pos + cap of a 2 cap array, so the
 * newest n values are always one contiguous run, v[pos + cap - n, pos + cap),
 * oldest first: window statistics read them in place, without a copy or a
 * wrap-around test. */
typedef struct {
    double *v;         /* (2 cap) */
    int cap, len, pos; /* pos: next slot written, in [0, cap) */
} ta_ring;

void ta_ring_init(ta_ring *r, int cap);
void ta_ring_free(ta_ring *r);
void ta_ring_clear(ta_ring *r);
static inline void ta_ring_push(ta_ring *r, double x)
{
    r->v[r->pos] = r->v[r->pos + r->cap] = x;
    r->pos = r->pos + 1 == r->cap ? 0 : r->pos + 1;
    if (r->len < r->cap) r->len++;
}
/* The value k bars ago (0 = newest); requires k < len. */
static inline double ta_ring_ago(const ta_ring *r, int k) { return r->v[r->pos + r->cap - 1 - k]; }
/* Statistics of the newest n values (n <= len),
 * summed in an order fixed by their positions counted from the oldest (eight
 * interleaved lanes), so the result depends only on those values, never on
 * where the ring or the data started. */
double ta_ring_sum(const ta_ring *r, int n);
double ta_ring_mean(const ta_ring *r, int n);
/* Two-pass variance: sum((x - mean)^2) / (n - ddof). */
double ta_ring_var(const ta_ring *r, int n, int ddof);
/* Both at once (*mean gets ta_ring_mean's value); returns the variance. */
double ta_ring_mean_var(const ta_ring *r, int n, int ddof, double *mean);
/* var[i] = ta_ring_var(r, n[i], ddof) for i < k (each n[i] <= len), the
 * windows computed side by side. */
void ta_ring_vars(const ta_ring *r, const int *n, int k, int ddof, double *var);
double ta_ring_max(const ta_ring *r, int n);
double ta_ring_min(const ta_ring *r, int n);

/* Bars after which a recursive average with smoothing factor alpha has
 * forgotten its start to a factor tol: ceil(log(tol) / log(1 - alpha)). */
int ta_warmup(double alpha, double tol);

/* ---- SMA: simple moving average of n values ---- */
typedef struct { int n; ta_ring r; } ta_sma;
void ta_sma_init(ta_sma *s, int n);
void ta_sma_free(ta_sma *s);
void ta_sma_reset(ta_sma *s);
int ta_sma_update(ta_sma *s, double x, double *out);
int ta_sma_lookback(int n);

/* ---- EMA: k = 2/(n+1), seeded with the SMA of the first n inputs ---- */
typedef struct { int n, warmup; double k, sum, value; int64_t count; } ta_ema;
void ta_ema_init(ta_ema *s, int n, int warmup);
void ta_ema_reset(ta_ema *s);
int ta_ema_update(ta_ema *s, double x, double *out);
int ta_ema_lookback(int n, int warmup);

/* ---- MACD(fast, slow, signal): line = EMA_fast - EMA_slow, signal = EMA of
 * the line, hist = line - signal ---- */
typedef struct {
    int fast, slow, signal, warmup;
    double kf, ks, kg, sumf, sums, f, s, sig;
    int64_t count;
} ta_macd;
void ta_macd_init(ta_macd *s, int fast, int slow, int signal, int warmup);
void ta_macd_reset(ta_macd *s);
int ta_macd_update(ta_macd *s, double x, double *line, double *signal, double *hist);
int ta_macd_lookback(int fast, int slow, int signal, int warmup);

/* ---- RSI(n): 100 * avg_gain / (avg_gain + avg_loss), Wilder averages ---- */
typedef struct { int n, warmup; double prev, gain, loss; int64_t count; } ta_rsi;
void ta_rsi_init(ta_rsi *s, int n, int warmup);
void ta_rsi_reset(ta_rsi *s);
int ta_rsi_update(ta_rsi *s, double close, double *out);
int ta_rsi_lookback(int n, int warmup);

/* True range of a bar given the previous close (TA-Lib's order of comparison). */
double ta_true_range(double high, double low, double prev_close);

/* ---- ATR(n): Wilder average of the true range; NATR = ATR / close * 100 ---- */
typedef struct { int n, warmup; double prevc, sum, atr; int64_t count; } ta_atr;
void ta_atr_init(ta_atr *s, int n, int warmup);
void ta_atr_reset(ta_atr *s);
int ta_atr_update(ta_atr *s, double high, double low, double close, double *atr);
int ta_atr_lookback(int n, int warmup);
int ta_natr_update(ta_atr *s, double high, double low, double close, double *natr);

/* ---- DMI(n): +DI, -DI (defined from ta_di_lookback) and ADX (from
 * ta_adx_lookback). Returns a bit mask: 1 = DI defined, 2 = ADX defined. ---- */
typedef struct {
    int n, warmup;
    double ph, pl, pc, pdm, mdm, tr, sumdx, adx;
    int64_t count;
} ta_dmi;
void ta_dmi_init(ta_dmi *s, int n, int warmup);
void ta_dmi_reset(ta_dmi *s);
int ta_dmi_update(ta_dmi *s, double high, double low, double close, double *plus_di, double *minus_di,
                  double *adx);
int ta_di_lookback(int n, int warmup);
int ta_adx_lookback(int n, int warmup);

/* Typical price (high + low + close) / 3 (CCI, MFI). */
static inline double ta_typical_price(double high, double low, double close) { return (high + low + close) / 3; }

/* ---- CCI(n): (tp - SMA(tp)) / (0.015 * mean |tp - SMA(tp)|), tp = (h+l+c)/3.
 * 0 when the mean deviation is below 1e-12 of the average (a flat window):
 * TA-Lib's zero rule with a scale-aware test, so that rounding residue of a
 * flat window is not divided into a spurious value. ---- */
typedef struct { int n; ta_ring tp; } ta_cci;
void ta_cci_init(ta_cci *s, int n);
void ta_cci_free(ta_cci *s);
void ta_cci_reset(ta_cci *s);
int ta_cci_update(ta_cci *s, double high, double low, double close, double *out);
/* The same from the bar's typical price tp = ta_typical_price(high, low, close)
 * (kml-features computes it once for CCI, MFI and its VWAP stand-in). */
int ta_cci_update_tp(ta_cci *s, double tp, double *out);
int ta_cci_lookback(int n);

/* ---- Highest high / lowest low of n bars (WILLR, STOCH, Donchian) ---- */
typedef struct { int n; ta_ring h, l; } ta_hilo;
void ta_hilo_init(ta_hilo *s, int n);
void ta_hilo_free(ta_hilo *s);
void ta_hilo_reset(ta_hilo *s);
int ta_hilo_update(ta_hilo *s, double high, double low, double *hh, double *ll);
int ta_hilo_lookback(int n);

/* ---- WILLR(n): (HH - close) / ((HH - LL) / -100); 0 when HH == LL ---- */
typedef struct { ta_hilo hl; } ta_willr;
void ta_willr_init(ta_willr *s, int n);
void ta_willr_free(ta_willr *s);
void ta_willr_reset(ta_willr *s);
int ta_willr_update(ta_willr *s, double high, double low, double close, double *out);
/* WILLR from the window's HH and LL (a ta_hilo shared with STOCH). */
double ta_willr_of(double hh, double ll, double close);
int ta_willr_lookback(int n);

/* ---- STOCH(k, sk, sd): fast %K = (close - LL) / ((HH - LL) / 100) (0 when
 * HH == LL); slow %K = SMA(fast %K, sk); slow %D = SMA(slow %K, sd) ---- */
typedef struct { ta_hilo hl; ta_sma sk, sd; } ta_stoch;
void ta_stoch_init(ta_stoch *s, int k, int sk, int sd);
void ta_stoch_free(ta_stoch *s);
void ta_stoch_reset(ta_stoch *s);
int ta_stoch_update(ta_stoch *s, double high, double low, double close, double *slowk, double *slowd);
/* The same from the k-bar HH and LL of a ta_hilo kept elsewhere (s->hl is
 * then not used): for one bar, when that ta_hilo has a defined window. */
int ta_stoch_update_hl(ta_stoch *s, double hh, double ll, double close, double *slowk, double *slowd);
int ta_stoch_lookback(int k, int sk, int sd);

/* ---- MFI(n): 100 * positive flow / (positive + negative flow) over n bars;
 * money flow = tp * volume, positive when tp rose, negative when it fell,
 * none when it did not move (|change| <= 1e-14 (|tp| + |prev tp|)); 0 when
 * the window holds no flow. ---- */
typedef struct { int n; double prevtp; ta_ring pos, neg; int64_t count; } ta_mfi;
void ta_mfi_init(ta_mfi *s, int n);
void ta_mfi_free(ta_mfi *s);
void ta_mfi_reset(ta_mfi *s);
int ta_mfi_update(ta_mfi *s, double high, double low, double close, double volume, double *out);
int ta_mfi_update_tp(ta_mfi *s, double tp, double volume, double *out); /* tp as for ta_cci_update_tp */
int ta_mfi_lookback(int n);

/* ---- ROC(n): (close / close[n ago] - 1) * 100 ---- */
typedef struct { int n; ta_ring c; } ta_roc;
void ta_roc_init(ta_roc *s, int n);
void ta_roc_free(ta_roc *s);
void ta_roc_reset(ta_roc *s);
int ta_roc_update(ta_roc *s, double close, double *out);
int ta_roc_lookback(int n);

/* ---- BBANDS(n, k): middle = SMA(n), upper/lower = middle +- k * population
 * standard deviation of the same n closes ---- */
typedef struct { int n; double k; ta_ring c; } ta_bbands;
void ta_bbands_init(ta_bbands *s, int n, double k);
void ta_bbands_free(ta_bbands *s);
void ta_bbands_reset(ta_bbands *s);
int ta_bbands_update(ta_bbands *s, double close, double *upper, double *middle, double *lower);
int ta_bbands_lookback(int n);

/* ---- Rolling standard deviation of n values (ddof 0 or 1) ---- */
typedef struct { int n, ddof; ta_ring r; } ta_stddev;
void ta_stddev_init(ta_stddev *s, int n, int ddof);
void ta_stddev_free(ta_stddev *s);
void ta_stddev_reset(ta_stddev *s);
int ta_stddev_update(ta_stddev *s, double x, double *out);
int ta_stddev_lookback(int n);

/* ---- Z-score of x within its last n values: (x - mean) / population sd;
 * 0 when sd <= 1e-12 * |mean| or sd == 0 (a constant window) ---- */
typedef struct { int n; ta_ring r; } ta_zscore;
void ta_zscore_init(ta_zscore *s, int n);
void ta_zscore_free(ta_zscore *s);
void ta_zscore_reset(ta_zscore *s);
int ta_zscore_update(ta_zscore *s, double x, double *out);
int ta_zscore_lookback(int n);

/* ---- Range-based volatility over n bars (per bar, not annualised) ----
 * Parkinson: sqrt(sum(ln(H/L)^2) / (4 n ln 2)).
 * Garman-Klass: sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2)). */
typedef struct { int n; ta_ring r; } ta_rangevol;
void ta_parkinson_init(ta_rangevol *s, int n);
void ta_garman_klass_init(ta_rangevol *s, int n);
void ta_rangevol_free(ta_rangevol *s);
void ta_rangevol_reset(ta_rangevol *s);
int ta_parkinson_update(ta_rangevol *s, double high, double low, double *out);
int ta_garman_klass_update(ta_rangevol *s, double open, double high, double low, double close, double *out);
/* The same from hl = log(high / low) and co = log(close / open), so that
 * Parkinson and Garman-Klass windows of one bar share the logarithms. */
int ta_parkinson_update_log(ta_rangevol *s, double hl, double *out);
int ta_garman_klass_update_log(ta_rangevol *s, double hl, double co, double *out);
int ta_rangevol_lookback(int n);

/* ---- Array forms: out[i] = NaN before the lookback; return the index of
 * the first defined output (or n when none). ---- */
int ta_run_ema(double *out, const double *x, int n, int period, int warmup);
int ta_run_rsi(double *out, const double *close, int n, int period, int warmup);
int ta_run_natr(double *out, const double *high, const double *low, const double *close, int n, int period,
                int warmup);
int ta_run_dmi(double *plus_di, double *minus_di, double *adx, const double *high, const double *low,
               const double *close, int n, int period, int warmup);
int ta_run_cci(double *out, const double *high, const double *low, const double *close, int n, int period);
int ta_run_willr(double *out, const double *high, const double *low, const double *close, int n, int period);
int ta_run_stoch(double *slowk, double *slowd, const double *high, const double *low, const double *close, int n,
                 int k, int sk, int sd);
int ta_run_mfi(double *out, const double *high, const double *low, const double *close, const double *volume,
               int n, int period);
int ta_run_roc(double *out, const double *close, int n, int period);
int ta_run_bbands(double *upper, double *middle, double *lower, const double *close, int n, int period, double k);
int ta_run_macd(double *line, double *signal, double *hist, const double *close, int n, int fast, int slow,
                int sig, int warmup);

#endif
