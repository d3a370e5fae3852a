/* test_feat.c: the feature/label engine of lib/ta/feat.c: gaps (restart,
 * bridge, fill), labels (forward return, class, triple barrier, liquidation
 * barrier, rows past the end), the look-ahead check and the small parsers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "ta/feat.h"
#include "util.h"

/* ---- collecting rows ---- */

typedef struct {
    long n;
    int nf, ny;
    int64_t time[4096];
    long index[4096];
    double f[4096][8], y[4096][4];
} rows;

static void collect(void *ctx, const feat_row *r)
{
    rows *t = ctx;
    ASSERT(t->n < 4096 && t->nf <= 8 && t->ny <= 4);
    t->time[t->n] = r->time;
    t->index[t->n] = r->index;
    memcpy(t->f[t->n], r->f, t->nf * sizeof(double));
    if (t->ny) memcpy(t->y[t->n], r->y, t->ny * sizeof(double));
    t->n++;
}

static feat_stats run(const feat_bar *b, long n, const feat_opts *o, rows *out)
{
    memset(out, 0, sizeof *out);
    out->nf = o->nsel;
    out->ny = feat_nlabels(o);
    feat_engine *e = feat_new(o, collect, out);
    for (long i = 0; i < n; i++) ASSERT(feat_push(e, &b[i]) == FEAT_OK);
    feat_finish(e);
    feat_stats st = *feat_get_stats(e);
    feat_free(e);
    return st;
}

/* A random walk of n hourly bars starting at t0. */
static void walk(feat_bar *b, long n, int64_t t0, unsigned seed)
{
    double c = 100;
    for (long i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        double r = ((double)(seed >> 8 & 0xffff) / 65536.0 - 0.5) * 0.02;
        double o = c;
        c = o * exp(r);
        double hi = fmax(o, c) * (1 + 0.002 * ((seed >> 3) & 7)), lo = fmin(o, c) * (1 - 0.002 * ((seed >> 6) & 7));
        b[i] = (feat_bar){t0 + 3600 * i, o, hi, lo, c, NAN, 1 + (double)((seed >> 12) & 63)};
    }
}

static void choose(feat_opts *o, const char *list)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    o->nsel = 0;
    for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
        int id = feat_find(s);
        ASSERT(id >= 0);
        o->sel[o->nsel++] = id;
    }
}

#define SEL "ret_1,rsi_14,adx_14,macd_n,bb_pctb_20,obv_z_24,mfi_14,dow_sin"

static void a_long_gap_restarts_as_a_fresh_start(void)
{
    static feat_bar b[1600], tail[800];
    walk(b, 1600, 1700000000, 3);
    /* 3 bars missing after bar 799 */
    for (long i = 800; i < 1600; i++) b[i].time += 3 * 3600;
    memcpy(tail, b + 800, sizeof tail);
    feat_opts o;
    feat_opts_default(&o);
    choose(&o, SEL);
    o.interval = 3600;
    o.max_gap = 2;
    static rows all, fresh;
    feat_stats st = run(b, 1600, &o, &all);
    run(tail, 800, &o, &fresh);
    CHECK_EQ_INT(st.gaps, 1);
    CHECK_EQ_INT(st.restarts, 1);
    int first = feat_first_row(o.sel, o.nsel);
    CHECK(first > 400 && first < 800);
    /* rows before the gap: from bar `first`; after it: again only after a full warm-up */
    long k = 0;
    while (k < all.n && all.index[k] < 800) k++;
    CHECK_EQ_INT(k, 800 - first);
    CHECK_EQ_INT(all.n - k, fresh.n);
    CHECK_EQ_INT(all.index[k], 800 + first);
    for (long i = 0; i < fresh.n && k + i < all.n; i++) {
        CHECK(all.time[k + i] == fresh.time[i]);
        CHECK(!memcmp(all.f[k + i], fresh.f[i], o.nsel * sizeof(double)));
    }
    /* the default max_gap 0 restarts on a single missing bar too */
    o.max_gap = 0;
    st = run(b, 1600, &o, &all);
    CHECK_EQ_INT(st.restarts, 1);
}

/* Segments between restarts too short for a row are counted at the restart
 * and at the end (kml-features says so once); feat_min_bars is the bars a
 * segment needs for its first row, labels' horizon included. */
static void short_segments_are_counted(void)
{
    static feat_bar b[3000];
    walk(b, 3000, 1700000000, 5);
    feat_opts o;
    feat_opts_default(&o);
    choose(&o, SEL);
    o.interval = 3600;
    int first = feat_first_row(o.sel, o.nsel);
    /* segments of 900, 300, first (one short of a row), first + 1 (one row) and the rest */
    long cut[4] = {900, 1200, 1200 + first, 1200 + 2 * first + 1};
    for (int k = 0; k < 4; k++)
        for (long i = cut[k]; i < 3000; i++) b[i].time += 5 * 3600;
    static rows r;
    feat_stats st = run(b, 3000, &o, &r);
    CHECK_EQ_INT(st.restarts, 4);
    CHECK_EQ_INT(st.short_segments, 2);
    CHECK_EQ_INT(st.short_bars, 300 + first);
    long last = 3000 - cut[3];
    CHECK(last > first + 7);
    CHECK_EQ_INT(st.rows, (900 - first) + 1 + (last - first));
    feat_engine *e = feat_new(&o, collect, &r);
    CHECK_EQ_INT(feat_min_bars(e), first + 1);
    feat_free(e);
    o.labels = 1;
    o.horizon = 7;
    e = feat_new(&o, collect, &r);
    CHECK_EQ_INT(feat_min_bars(e), first + 1 + 7);
    feat_free(e);
    /* with labels, the segment of first + 1 bars gives no row any more */
    memset(&r, 0, sizeof r);
    st = run(b, 3000, &o, &r);
    CHECK_EQ_INT(st.short_segments, 3);
    CHECK_EQ_INT(st.short_bars, 300 + first + first + 1);
}

/* Windowed features (no warm-up) are started only lw bars before a
 * segment's first row, where lw is the longest windowed lookback: alone
 * (first row = their own lookback) they run from the segment's first bar,
 * beside ema_ratio_50 (first row 798) from bar 798 - lw. Every one must give
 * the same values either way, in both segments of a walk with a restart. */
static void windowed_features_started_late_give_the_same_values(void)
{
    static feat_bar b[2400];
    walk(b, 2400, 1700000000, 11);
    for (long i = 1100; i < 2400; i++) b[i].time += 5 * 3600; /* a restart after bar 1099 */
    feat_opts o;
    feat_opts_default(&o);
    o.interval = 3600;
    static rows alone, late;
    int tested = 0;
    for (int id = 0; id < F_COUNT; id++) {
        if (feat_info_of(id)->warmup != 0) continue;
        o.nsel = 1;
        o.sel[0] = id;
        run(b, 2400, &o, &alone);
        o.nsel = 2;
        o.sel[1] = feat_find("ema_ratio_50");
        run(b, 2400, &o, &late);
        CHECK(late.n == (1100 - 798) + (1300 - 798) && alone.n > late.n);
        long k = 0, same = 0;
        for (long i = 0; i < late.n; i++) {
            while (k < alone.n && alone.index[k] < late.index[i]) k++;
            same += k < alone.n && alone.index[k] == late.index[i] && !memcmp(&alone.f[k][0], &late.f[i][0], sizeof(double));
        }
        if (same != late.n) t_fail(__FILE__, __LINE__, "%s: %ld of %ld rows differ when started late", feat_info_of(id)->name, late.n - same, late.n);
        tested++;
    }
    CHECK(tested >= 25);
}

static void a_short_gap_is_bridged_or_filled(void)
{
    static feat_bar b[1200], c[1200], d[1202];
    walk(b, 1200, 1700000000, 5);
    memcpy(c, b, sizeof c);
    for (long i = 900; i < 1200; i++) b[i].time += 2 * 3600; /* 2 missing bars after bar 899 */
    feat_opts o;
    feat_opts_default(&o);
    choose(&o, SEL);
    o.interval = 3600;
    o.max_gap = 2;
    static rows gap, cont, filled, explicit_;
    feat_stats st = run(b, 1200, &o, &gap);
    CHECK_EQ_INT(st.bridged, 1);
    CHECK_EQ_INT(st.restarts, 0);
    /* bridged: the same numbers as the bars placed back to back (the time
     * features aside, which see the true clock) */
    choose(&o, "ret_1,rsi_14,adx_14,macd_n,bb_pctb_20,obv_z_24,mfi_14");
    run(b, 1200, &o, &gap);
    run(c, 1200, &o, &cont);
    CHECK_EQ_INT(gap.n, cont.n);
    for (long i = 0; i < gap.n && i < cont.n; i++) CHECK(!memcmp(gap.f[i], cont.f[i], o.nsel * sizeof(double)));
    /* filled: the same as the two synthetic bars written out explicitly, minus
     * their rows */
    o.fill = 1;
    st = run(b, 1200, &o, &filled);
    CHECK_EQ_INT(st.filled, 2);
    memcpy(d, b, 900 * sizeof *d);
    for (int k = 0; k < 2; k++) {
        double p = b[899].close;
        d[900 + k] = (feat_bar){b[899].time + 3600 * (k + 1), p, p, p, p, NAN, 0};
    }
    memcpy(d + 902, b + 900, 300 * sizeof *d);
    o.fill = 0;
    run(d, 1202, &o, &explicit_);
    CHECK_EQ_INT(explicit_.n, filled.n + 2);
    long j = 0;
    for (long i = 0; i < explicit_.n; i++) {
        if (explicit_.index[i] == 900 || explicit_.index[i] == 901) continue;
        CHECK(j < filled.n && explicit_.time[i] == filled.time[j]);
        CHECK(!memcmp(explicit_.f[i], filled.f[j], o.nsel * sizeof(double)));
        j++;
    }
    CHECK_EQ_INT(j, filled.n);
    /* a gap larger than max_gap is not filled: it restarts */
    o.fill = 1;
    o.max_gap = 1;
    st = run(b, 1200, &o, &filled);
    CHECK_EQ_INT(st.filled, 0);
    CHECK_EQ_INT(st.restarts, 1);
}

static void off_grid_and_disorder_are_reported(void)
{
    feat_opts o;
    feat_opts_default(&o);
    o.interval = 3600;
    rows r;
    memset(&r, 0, sizeof r);
    r.nf = o.nsel;
    feat_engine *e = feat_new(&o, collect, &r);
    feat_bar b = {3600, 1, 1, 1, 1, NAN, 1};
    CHECK_EQ_INT(feat_push(e, &b), FEAT_OK);
    b.time = 3600 + 1800;
    CHECK_EQ_INT(feat_push(e, &b), FEAT_EGRID);
    b.time = 3600;
    CHECK_EQ_INT(feat_push(e, &b), FEAT_EORDER);
    feat_free(e);
}

/* Bars at close 100 with chosen highs and lows after bar 0. */
static void flat_bars(feat_bar *b, int n)
{
    for (int i = 0; i < n; i++) b[i] = (feat_bar){3600 * (i + 1), 100, 100.01, 99.99, 100, NAN, 1};
}

static void labels_forward_return_class_and_past_the_end(void)
{
    feat_bar b[12];
    flat_bars(b, 12);
    b[5].close = 101, b[5].high = 101; /* the close of bar 1 + 4 */
    b[6].close = 99.6, b[6].low = 99.6;
    feat_opts o;
    feat_opts_default(&o);
    choose(&o, "ret_1");
    o.labels = 1;
    o.horizon = 4;
    rows r;
    run(b, 12, &o, &r);
    /* rows of bars 1..7 (bar 0 has no ret_1; 8..11 have no horizon) */
    CHECK_EQ_INT(r.n, 7);
    CHECK_EQ_INT(r.index[0], 1);
    CHECK_EQ_INT(r.index[r.n - 1], 7);
    CHECK(r.y[0][0] == log(101.0 / 100)); /* bar 1 -> bar 5 */
    CHECK(r.y[0][1] == 2);                /* +1 % beats 0.52 % */
    CHECK(r.y[1][0] == log(99.6 / 100));
    CHECK(r.y[1][1] == 1); /* -0.4 %: flat under the fee */
    CHECK(r.y[2][1] == 1);
    /* bar 1: 101 -> 100 is -0.99 %: down */
    CHECK(r.y[4][0] == log(100 / 101.0) && r.y[4][1] == 0);
    /* --flat-vol: the threshold is k rv_24 sqrt(h); rv_24 is needed, so fewer rows */
    o.flat_vol = 1;
    run(b, 12, &o, &r);
    CHECK_EQ_INT(r.n, 0);
}

static void triple_barrier_first_touch_and_liquidation(void)
{
    feat_bar b[12];
    feat_opts o;
    feat_opts_default(&o);
    choose(&o, "ret_1");
    o.labels = 1;
    o.horizon = 4;
    o.barrier = 1;
    o.upper = (feat_dist){0.02, 0};
    o.lower = (feat_dist){0.01, 0};
    rows r;
    /* bar 1 (close 100): bar 3 reaches 102 -> upper after 2 bars */
    flat_bars(b, 12);
    b[3].high = 102;
    run(b, 12, &o, &r);
    CHECK_EQ_INT(r.index[0], 1);
    CHECK(r.y[0][2] == 2 && r.y[0][3] == 2);
    /* 101.99 is not a touch: vertical barrier, h bars */
    b[3].high = 101.99;
    run(b, 12, &o, &r);
    CHECK(r.y[0][2] == 1 && r.y[0][3] == 4);
    /* both on one bar: the lower (adverse) one is taken first */
    b[2].high = 103, b[2].low = 98;
    run(b, 12, &o, &r);
    CHECK(r.y[0][2] == 0 && r.y[0][3] == 1);
    /* liquidation barrier: at 50x and Kraken's margin_stop of 40 % the lower
     * barrier is (1 - 0.4) / 50 = 1.2 % below the entry (docs/margin.md) */
    flat_bars(b, 12);
    o.leverage = 50;
    margin_params_default(&o.margin);
    b[4].low = 100 * (1 - 0.012) + 0.01;
    run(b, 12, &o, &r);
    CHECK(r.y[0][2] == 1);
    b[4].low = 100 * (1 - 0.012) - 0.01;
    run(b, 12, &o, &r);
    CHECK(r.y[0][2] == 0 && r.y[0][3] == 3);
    CHECK_EQ_STR(feat_label_name(&o, 2), "y_tb_lev50");
    CHECK_EQ_STR(feat_label_name(&o, 3), "y_tb_lev50_bars");
    o.leverage = 0;
    CHECK_EQ_STR(feat_label_name(&o, 2), "y_tb");
    CHECK_EQ_STR(feat_label_name(&o, 0), "y_ret_4");
}

static void no_label_crosses_a_restart(void)
{
    feat_bar b[20];
    flat_bars(b, 20);
    for (int i = 10; i < 20; i++) b[i].time += 5 * 3600;
    feat_opts o;
    feat_opts_default(&o);
    choose(&o, "ret_1");
    o.labels = 1;
    o.horizon = 4;
    o.interval = 3600;
    rows r;
    run(b, 20, &o, &r);
    /* segment 1: rows 1..5 (6..9 would look across the gap); segment 2: 11..15 */
    CHECK_EQ_INT(r.n, 10);
    for (long i = 0; i < r.n; i++) CHECK((r.index[i] >= 1 && r.index[i] <= 5) || (r.index[i] >= 11 && r.index[i] <= 15));
}

static void the_lookahead_check_passes_and_reports(void)
{
    static feat_bar b[2000];
    walk(b, 2000, 1700000000, 11);
    for (long i = 900; i < 2000; i++) b[i].time += 3600; /* one restart */
    feat_opts o;
    feat_opts_default(&o);
    o.interval = 3600;
    o.barrier = 1;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = feat_check_lookahead(b, 2000, &o, 12, "walk", f);
    fclose(f);
    if (rc != 0) fputs(buf, stderr);
    CHECK_EQ_INT(rc, 0);
    CHECK(strstr(buf, "PASS") != NULL);
    CHECK(strstr(buf, "features bitwise identical: yes") != NULL);
    free(buf);
    /* too short for the warm-up: the check fails rather than passing vacuously */
    buf = NULL;
    f = open_memstream(&buf, &len);
    rc = feat_check_lookahead(b, 300, &o, 5, "short", f);
    fclose(f);
    CHECK_EQ_INT(rc, 1);
    CHECK(strstr(buf, "no row was written") != NULL);
    free(buf);
}

static void reading_parses_numbers_as_strtod_does(void)
{
    /* the fast decimal path and the general one give the same doubles */
    static const char *nums[] = {"417.253", "0.1", "123456789012345", "1234567890.12345", "0.0000000000000000000001",
                                 "1e3", "12478.0936008401", "3.14159265358979323846", "007.50", "5.", ".5",
                                 "99999999999999.99", "1234567890123456789"};
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "time,open,high,low,close,vwap,volume\n");
    int n = (int)(sizeof nums / sizeof *nums);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,%s,%s,%s,%s,,%s\n", 3600 * (i + 1), nums[i], nums[i],
                                nums[i], nums[i], nums[i]);
    char *path = t_tmpfile(text);
    long got;
    feat_bar *b = feat_read_all(path, &got);
    CHECK_EQ_INT(got, n);
    for (int i = 0; i < n && i < got; i++) {
        double want = strtod(nums[i], NULL);
        if (b[i].close != want || b[i].volume != want || b[i].open != want)
            t_fail(__FILE__, __LINE__, "\"%s\" read as %.17g, strtod gives %.17g", nums[i], b[i].close, want);
        CHECK(isnan(b[i].vwap));
    }
    free(b);
    unlink(path);
    free(path);

    /* Random plain decimals of 1 to 22 digits with the point anywhere (the
     * fast path takes those whose digits are at most 2^53, the rest go to
     * strtod), leading zeros, and a volume of -0: bit for bit strtod's. */
    enum { R = 20000 };
    char (*s)[32] = malloc(R * sizeof *s);
    char *big = malloc(R * 200);
    size_t blen = (size_t)snprintf(big, (size_t)R * 200, "time,open,high,low,close,vwap,volume\n");
    unsigned long long u = 0x2545F4914F6CDD1DULL;
    for (int i = 0; i < R; i++) {
        u ^= u << 13, u ^= u >> 7, u ^= u << 17;
        int nd = 1 + (int)(u % 22), point = (int)((u >> 8) % (unsigned)(nd + 1)), k = 0;
        unsigned long long w = u;
        for (int j = 0; j < nd; j++) {
            if (j == point && j > 0) s[i][k++] = '.';
            if (j % 16 == 0) w = w * 6364136223846793005ULL + 1442695040888963407ULL;
            s[i][k++] = (char)('0' + (w >> (4 * (j % 16))) % 10);
        }
        s[i][k] = 0;
        if (strtod(s[i], NULL) == 0) s[i][k - 1] = '7'; /* prices must be positive */
        blen += (size_t)snprintf(big + blen, (size_t)R * 200 - blen, "%d,%s,%s,%s,%s,,%s\n", 60 * (i + 1), s[i],
                                 s[i], s[i], s[i], i % 100 ? s[i] : "-0");
    }
    path = t_tmpfile(big);
    b = feat_read_all(path, &got);
    CHECK_EQ_INT(got, R);
    long bad = 0;
    for (int i = 0; i < R && i < got; i++) {
        double want = strtod(s[i], NULL), vol = i % 100 ? want : -0.0;
        if ((memcmp(&b[i].close, &want, sizeof want) || memcmp(&b[i].volume, &vol, sizeof vol)) && bad++ < 5)
            t_fail(__FILE__, __LINE__, "\"%s\" read as %.17g, strtod gives %.17g", s[i], b[i].close, want);
    }
    free(b);
    unlink(path);
    free(path);
    free(big);
    free(s);
}

/* The engine remembers sin and cos per minute of the day: bars 37 s apart
 * (several in a minute, every second of the day reached over the run) and
 * hourly bars must give exactly sin/cos(2 pi s / 86400) and the weekday's. */
static void time_features_are_exact_for_any_second(void)
{
    static feat_bar b[4000];
    static rows out;
    for (int pass = 0; pass < 2; pass++) {
        int64_t step = pass ? 3600 : 37, t0 = 1700000000 + 13;
        for (int i = 0; i < 4000; i++) b[i] = (feat_bar){t0 + step * i, 1, 1, 1, 1, NAN, 1};
        feat_opts o;
        feat_opts_default(&o);
        choose(&o, "hour_sin,hour_cos,dow_sin,dow_cos");
        run(b, 4000, &o, &out);
        CHECK_EQ_INT(out.n, 4000);
        long bad = 0;
        for (long i = 0; i < out.n; i++) {
            int64_t sod = out.time[i] % 86400, dow = (out.time[i] / 86400 + 3) % 7;
            double ah = 2 * M_PI * (double)sod / 86400, ad = 2 * M_PI * (double)dow / 7;
            if ((out.f[i][0] != sin(ah) || out.f[i][1] != cos(ah) || out.f[i][2] != sin(ad) || out.f[i][3] != cos(ad)) &&
                bad++ < 3)
                t_fail(__FILE__, __LINE__, "time %lld: %.17g %.17g %.17g %.17g", (long long)out.time[i], out.f[i][0],
                       out.f[i][1], out.f[i][2], out.f[i][3]);
        }
    }
}

static void a_clone_continues_exactly_like_the_original(void)
{
    static feat_bar b[1400];
    walk(b, 1400, 1700000000, 17);
    feat_opts o;
    feat_opts_default(&o);
    o.labels = 1;
    o.barrier = 1;
    o.nsel = 8;
    choose(&o, SEL);
    static rows ra, rb, rc;
    memset(&ra, 0, sizeof ra), memset(&rb, 0, sizeof rb), memset(&rc, 0, sizeof rc);
    ra.nf = rb.nf = rc.nf = o.nsel;
    ra.ny = rb.ny = rc.ny = feat_nlabels(&o);
    feat_engine *e = feat_new(&o, collect, &ra);
    for (int i = 0; i < 1000; i++) feat_push(e, &b[i]);
    feat_engine *k = feat_clone(e, collect, &rb);
    for (int i = 1000; i < 1400; i++) feat_push(e, &b[i]), feat_push(k, &b[i]);
    feat_finish(e);
    feat_finish(k);
    feat_free(e); /* the clone owns its own memory: freeing the original leaves it intact */
    run(b, 1400, &o, &rc);
    /* the clone wrote exactly the original's rows written after the copy */
    long off = ra.n - rb.n;
    CHECK(rb.n > 300 && off > 0);
    for (long i = 0; i < rb.n; i++) {
        CHECK(rb.time[i] == ra.time[off + i]);
        CHECK(!memcmp(rb.f[i], ra.f[off + i], o.nsel * sizeof(double)));
        CHECK(!memcmp(rb.y[i], ra.y[off + i], rb.ny * sizeof(double)));
    }
    CHECK_EQ_INT(rc.n, ra.n);
    feat_free(k);
}

static void parsers(void)
{
    feat_dist d;
    CHECK(feat_parse_dist("0.02", &d) == 0 && d.frac == 0.02 && d.vol == 0);
    CHECK(feat_parse_dist("1.5v", &d) == 0 && d.frac == 0 && d.vol == 1.5);
    CHECK(feat_parse_dist("1.5", &d) != 0); /* a fraction must be below 1 */
    CHECK(feat_parse_dist("-0.1", &d) != 0);
    CHECK(feat_parse_dist("v", &d) != 0);
    CHECK(feat_parse_dist("", &d) != 0);
    CHECK(feat_parse_dist("0.1x", &d) != 0);
    int ids[F_COUNT];
    int n = feat_default_set(ids);
    CHECK(n >= 32);
    CHECK_EQ_INT(feat_find("rsi_14"), F_RSI_14);
    CHECK_EQ_INT(feat_find("nope"), -1);
    /* the recursive features carry a warm-up, the window ones none */
    CHECK(feat_info_of(F_RSI_14)->warmup > 0 && feat_info_of(F_EMA_RATIO_200)->warmup > feat_info_of(F_EMA_RATIO_50)->warmup);
    CHECK_EQ_INT(feat_info_of(F_CCI_20)->warmup, 0);
}

/* park_4 (the short-window Parkinson volatility kml-regime uses): in the
 * default set, lookback 3, no warm-up; its first row is bar 3 of a segment,
 * again 3 bars after a restart, and each value is the formula over its own
 * segment's last 4 bars, worked here by hand. */
static void park_4_starts_at_bar_3_of_each_segment(void)
{
    int id = feat_find("park_4");
    CHECK_EQ_INT(id, F_PARK_4);
    const feat_info *fi = feat_info_of(F_PARK_4);
    CHECK_EQ_INT(fi->lookback, 3);
    CHECK_EQ_INT(fi->warmup, 0);
    CHECK_EQ_INT(fi->in_default, 1);
    CHECK_EQ_INT(feat_first_row(&id, 1), 3);
    static feat_bar b[40];
    walk(b, 40, 1700000000, 5);
    for (long i = 20; i < 40; i++) b[i].time += 2 * 3600; /* 2 bars missing after bar 19 */
    feat_opts o;
    feat_opts_default(&o);
    choose(&o, "park_4");
    o.interval = 3600;
    static rows r;
    run(b, 40, &o, &r);
    CHECK_EQ_INT(r.n, (20 - 3) + (20 - 3));
    for (long k = 0; k < r.n; k++) {
        long i = r.index[k], seg = i < 20 ? 0 : 20;
        CHECK(i - seg >= 3);
        double s = 0;
        for (long j = i - 3; j <= i; j++) s += log(b[j].high / b[j].low) * log(b[j].high / b[j].low);
        CHECK_REL(r.f[k][0], sqrt(s / (4 * 4 * M_LN2)), 1e-14);
    }
    CHECK_EQ_INT(r.index[0], 3);
    CHECK_EQ_INT(r.index[17], 23);
}

int main(void)
{
    t_run("a gap longer than --max-gap restarts exactly like a fresh start", a_long_gap_restarts_as_a_fresh_start);
    t_run("segments too short for a row are counted at restarts and at the end", short_segments_are_counted);
    t_run("park_4: first row at bar 3 of each segment, the formula over the last 4 bars", park_4_starts_at_bar_3_of_each_segment);
    t_run("windowed features started just before the first row give the same values", windowed_features_started_late_give_the_same_values);
    t_run("a gap up to --max-gap is bridged, or filled with explicit flat bars", a_short_gap_is_bridged_or_filled);
    t_run("off-grid and out-of-order bars are refused", off_grid_and_disorder_are_reported);
    t_run("labels: forward return, class against the fee, rows past the end dropped",
          labels_forward_return_class_and_past_the_end);
    t_run("triple barrier: first touch, adverse first on a tie, liquidation barrier",
          triple_barrier_first_touch_and_liquidation);
    t_run("no label looks across a restart", no_label_crosses_a_restart);
    t_run("the look-ahead check passes on a walk and fails when nothing is written", the_lookahead_check_passes_and_reports);
    t_run("a clone continues exactly like the original, with its own memory", a_clone_continues_exactly_like_the_original);
    t_run("candles are read to the same doubles as strtod gives", reading_parses_numbers_as_strtod_does);
    t_run("time of day and weekday features are exact for any second", time_features_are_exact_for_any_second);
    t_run("barrier distances, feature table", parsers);
    return t_done();
}
