/* candles.c: trades -> candles, Kraken OHLCVT import, gap listing (see candles.h). */
#include "candles.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- exact decimal sums ---- */

#define DEC_MAX_SCALE 18
#define DEC_LIMIT ((unsigned __int128)1 << 120) /* stay far from overflow */

static unsigned __int128 pow10_u128(int k)
{
    unsigned __int128 p = 1;
    while (k-- > 0) p *= 10;
    return p;
}

void dec_sum_init(dec_sum *s)
{
    memset(s, 0, sizeof *s);
    s->exact = 1;
}

int dec_sum_add(dec_sum *s, const char *text)
{
    double x;
    if (parse_double(text, &x) != 0 || x < 0) return -1;
    s->approx += x;
    if (!s->exact) return 0;
    /* digits [. digits], nothing else, is summed exactly */
    unsigned __int128 v = 0;
    int scale = 0, dot = 0, digits = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '.' && !dot) {
            dot = 1;
        } else if (*p >= '0' && *p <= '9') {
            if (dot) scale++;
            if (++digits > 30 || scale > DEC_MAX_SCALE) {
                s->exact = 0;
                return 0;
            }
            v = v * 10 + (unsigned)(*p - '0');
        } else {
            s->exact = 0;
            return 0;
        }
    }
    if (scale > s->scale) {
        s->units *= pow10_u128(scale - s->scale);
        s->scale = scale;
    } else {
        v *= pow10_u128(s->scale - scale);
    }
    s->units += v;
    if (s->units > DEC_LIMIT) s->exact = 0;
    return 0;
}

char *dec_sum_text(const dec_sum *s, char *buf)
{
    if (!s->exact) return fmt_double(buf, s->approx);
    unsigned __int128 p = pow10_u128(s->scale), ip = s->units / p, fp = s->units % p;
    char tmp[48];
    int n = 0;
    do { /* integer part, reversed */
        tmp[n++] = (char)('0' + (int)(ip % 10));
        ip /= 10;
    } while (ip);
    int k = 0;
    while (n) buf[k++] = tmp[--n];
    if (fp) {
        char frac[DEC_MAX_SCALE + 1];
        for (int i = s->scale - 1; i >= 0; i--) {
            frac[i] = (char)('0' + (int)(fp % 10));
            fp /= 10;
        }
        int len = s->scale;
        while (len > 0 && frac[len - 1] == '0') len--;
        buf[k++] = '.';
        memcpy(buf + k, frac, (size_t)len);
        k += len;
    }
    buf[k] = 0;
    return buf;
}

/* ---- trades -> candles ---- */

void candle_agg_init(candle_agg *a, int minutes)
{
    ASSERT(minutes > 0);
    memset(a, 0, sizeof *a);
    a->step = (int64_t)minutes * 60;
    a->bucket = INT64_MIN;
    a->last_time = -INFINITY;
}

static void agg_emit(const candle_agg *a, candle *c)
{
    c->time = a->bucket;
    c->open = a->open, c->high = a->high, c->low = a->low, c->close = a->close;
    dec_sum_text(&a->vol, c->volume);
    double v = a->vol.approx;
    /* a candle of zero-volume trades has no volume-weighted price: use the close */
    c->vwap = v > 0 ? a->pv / v : a->close;
    if (c->vwap < a->low) c->vwap = a->low; /* rounding of pv / v */
    if (c->vwap > a->high) c->vwap = a->high;
    c->count = a->count;
}

int candle_agg_add(candle_agg *a, double time, double price, const char *volume, candle *done)
{
    if (time < a->last_time) return -1;
    double v;
    if (parse_double(volume, &v) != 0 || v < 0) return -2;
    a->last_time = time;
    int64_t t = (int64_t)floor(time);
    int64_t b = t - (((t % a->step) + a->step) % a->step);
    int emitted = 0;
    if (b != a->bucket) {
        if (a->bucket != INT64_MIN) {
            agg_emit(a, done);
            emitted = 1;
        }
        a->bucket = b;
        a->open = a->high = a->low = price;
        a->pv = 0;
        a->count = 0;
        dec_sum_init(&a->vol);
    }
    if (price > a->high) a->high = price;
    if (price < a->low) a->low = price;
    a->close = price;
    a->pv += price * v;
    dec_sum_add(&a->vol, volume);
    a->count++;
    return emitted;
}

int candle_agg_flush(candle_agg *a, candle *done)
{
    if (a->bucket == INT64_MIN) return 0;
    agg_emit(a, done);
    a->bucket = INT64_MIN;
    return 1;
}

void candle_write_header(FILE *f) { fputs("time,open,high,low,close,vwap,volume,count\n", f); }

void candle_write(csv_writer *w, const candle *c)
{
    csvw_int(w, c->time);
    csvw_double(w, c->open);
    csvw_double(w, c->high);
    csvw_double(w, c->low);
    csvw_double(w, c->close);
    csvw_double(w, c->vwap);
    csvw_str(w, c->volume);
    csvw_int(w, c->count);
    csvw_end(w);
}

long candles_from_trades(const char *path, FILE *out, int minutes)
{
    csv_reader *r = csv_open(path);
    int ct = csv_col(r, "time"), cp = csv_col(r, "price"), cv = csv_col(r, "volume");
    candle_agg a;
    candle_agg_init(&a, minutes);
    csv_writer w;
    csvw_init(&w, out);
    candle_write_header(out);
    candle c;
    long n = 0;
    while (csv_next(r)) {
        double t = csv_double(r, ct), p = csv_double(r, cp);
        if (t < 0) csv_die(r, ct, "negative time: \"%s\"", csv_field(r, ct));
        if (!(p > 0)) csv_die(r, cp, "price must be positive: \"%s\"", csv_field(r, cp));
        const char *v = csv_field(r, cv);
        if (!*v) csv_die(r, cv, "empty field, expected a number");
        int rc = candle_agg_add(&a, t, p, v, &c);
        if (rc == -1)
            csv_die(r, ct, "time %s is before the previous trade's (trades must be in time order)", csv_field(r, ct));
        if (rc == -2) csv_die(r, cv, "not a non-negative number: \"%s\"", v);
        if (rc == 1) candle_write(&w, &c), n++;
    }
    if (candle_agg_flush(&a, &c)) candle_write(&w, &c), n++;
    csv_close(r);
    return n;
}

/* ---- Kraken OHLCVT import ---- */

enum { IMP_NF = 7, IMP_FLEN = 64 };
static const char *const imp_names[IMP_NF] = {"time", "open", "high", "low", "close", "volume", "trades"};

typedef struct {
    csv_reader *r;
    int live;
    int64_t t, prev;
    long line;
    double num[IMP_NF];
    char f[IMP_NF][IMP_FLEN];
} imp_src;

/* Read and check the next row of s; s->live = 0 at its end. */
static void imp_next(imp_src *s)
{
    if (!csv_next(s->r)) {
        s->live = 0;
        return;
    }
    s->t = csv_time_increasing(s->r, 0, &s->prev);
    s->line = csv_line(s->r);
    for (int i = 0; i < IMP_NF; i++) {
        const char *txt = csv_field(s->r, i);
        if (strlen(txt) >= IMP_FLEN) csv_die(s->r, i, "field too long");
        strcpy(s->f[i], txt);
        if (i == 6) s->num[i] = (double)csv_int(s->r, i);
        else if (i > 0) s->num[i] = csv_double(s->r, i);
    }
    if (s->num[6] < 0) csv_die(s->r, 6, "negative trade count");
    if (s->num[5] < 0) csv_die(s->r, 5, "negative volume");
    for (int i = 1; i <= 4; i++)
        if (!(s->num[i] > 0)) csv_die(s->r, i, "price must be positive: \"%s\"", s->f[i]);
    if (s->num[2] < fmax(s->num[1], s->num[4]) || s->num[3] > fmin(s->num[1], s->num[4]))
        csv_die(s->r, -1, "high/low do not contain open and close (o=%s h=%s l=%s c=%s)", s->f[1], s->f[2], s->f[3],
                s->f[4]);
}

long candles_import(char *const *paths, int n, FILE *out, long *dups)
{
    ASSERT(n > 0);
    imp_src *s = xcalloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        s[i].r = csv_open_noheader(paths[i], IMP_NF, imp_names);
        s[i].live = 1;
        s[i].prev = INT64_MIN;
        imp_next(&s[i]);
    }
    candle_write_header(out);
    long rows = 0, nd = 0;
    for (;;) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (s[i].live && (best < 0 || s[i].t < s[best].t)) best = i;
        if (best < 0) break;
        imp_src *b = &s[best];
        fprintf(out, "%lld,%s,%s,%s,%s,,%s,%s\n", (long long)b->t, b->f[1], b->f[2], b->f[3], b->f[4], b->f[5],
                b->f[6]);
        rows++;
        for (int i = 0; i < n; i++) {
            if (i == best || !s[i].live || s[i].t != b->t) continue;
            for (int k = 1; k < IMP_NF; k++)
                if (s[i].num[k] != b->num[k])
                    die(EX_DATAERR, "%s:%ld: column '%s': %s differs from %s at %s:%ld for time %lld",
                        csv_path(s[i].r), s[i].line, imp_names[k], s[i].f[k], b->f[k], csv_path(b->r), b->line,
                        (long long)b->t);
            nd++;
            imp_next(&s[i]);
        }
        imp_next(b);
    }
    for (int i = 0; i < n; i++) csv_close(s[i].r);
    free(s);
    if (dups) *dups = nd;
    return rows;
}

/* ---- gaps ---- */

int candles_minutes_from_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *us = strrchr(base, '_'), *dot = strrchr(base, '.');
    if (!us || us != strchr(base, '_') || !dot || dot < us || strcmp(dot, ".csv")) return 0;
    int m = 0;
    for (const char *p = us + 1; p < dot; p++) {
        if (*p < '0' || *p > '9' || m > 100000) return 0;
        m = m * 10 + (*p - '0');
    }
    return m;
}

long candles_gaps(const char *path, int minutes, FILE *out, long *missing, long *rows, int64_t *last)
{
    ASSERT(minutes > 0);
    int64_t step = (int64_t)minutes * 60, prev = INT64_MIN;
    csv_reader *r = csv_open(path);
    int ct = csv_col(r, "time");
    long ngap = 0, nmiss = 0, nrow = 0;
    if (out) fputs("from,to,missing\n", out);
    while (csv_next(r)) {
        int64_t before = prev, t = csv_time_increasing(r, ct, &prev);
        if (t % step != 0) csv_die(r, ct, "time %lld is not a multiple of the interval (%d minutes)", (long long)t, minutes);
        nrow++;
        if (before != INT64_MIN && t - before > step) {
            long k = (long)((t - before) / step - 1);
            ngap++;
            nmiss += k;
            if (out) fprintf(out, "%lld,%lld,%ld\n", (long long)(before + step), (long long)(t - step), k);
        }
    }
    csv_close(r);
    if (missing) *missing = nmiss;
    if (rows) *rows = nrow;
    if (last) *last = prev;
    return ngap;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t candles_infer_interval(const int64_t *t, long n)
{
    if (n < 2) return 0;
    long m = n - 1;
    int64_t *d = xmalloc((size_t)m * sizeof *d);
    for (long i = 0; i < m; i++) d[i] = t[i + 1] - t[i];
    qsort(d, (size_t)m, sizeof *d, cmp_i64);
    int64_t best = 0;
    long best_run = 0;
    for (long i = 0; i < m;) {
        long j = i;
        while (j < m && d[j] == d[i]) j++;
        if (d[i] > 0 && j - i > best_run) best = d[i], best_run = j - i; /* strict: ties keep the smaller */
        i = j;
    }
    free(d);
    return best;
}
