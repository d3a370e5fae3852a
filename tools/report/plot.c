/* plot.c: the report's PNG plots, drawn by gnuplot (out.h). The data goes
 * inline as gnuplot datablocks; each PNG is written under a temporary name
 * and renamed, so a failed plot never leaves half an image. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"
#include "util.h"

/* Background colours of the regimes, in the order they are first met. */
static const char *const regime_rgb[] = {"#b8e0b8", "#f4c2c2", "#c8d8f0", "#f7e3a1", "#d9c8ef", "#c9ecec"};
#define NREGCOL (int)(sizeof regime_rgb / sizeof *regime_rgb)

typedef struct {
    char *p;
    size_t n;
} sbuf;

static void sb(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    b->p = xrealloc(b->p, b->n + (size_t)k + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

/* pngcairo when this gnuplot has it, else the libgd png terminal. */
static const char *terminal(void)
{
    static const char *t;
    if (!t) {
        int rc = system("gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1");
        t = rc == 0 ? "pngcairo size 1000,480 font ',10'" : "png size 1000,480";
    }
    return t;
}

/* Draws script into dir/name; a failure is a warning naming gnuplot's
 * messages, kept in dir/name.err. */
static void draw(const char *dir, const char *name, const char *script)
{
    char out[4096], tmp[4200], err[4200], cmd[4400];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
    snprintf(err, sizeof err, "%s.err", out);
    snprintf(cmd, sizeof cmd, "gnuplot 2>'%s'", err);
    FILE *g = popen(cmd, "w");
    if (!g) {
        warn("cannot run gnuplot for %s:", out);
        return;
    }
    fprintf(g, "set terminal %s\nset output '%s'\n%s\nset output\n", terminal(), tmp, script);
    int rc = pclose(g);
    if (rc != 0 || rename(tmp, out) != 0) {
        unlink(tmp);
        warn("gnuplot failed to draw %s (its messages: %s)", out, err);
        return;
    }
    unlink(err);
}

static void time_axis(sbuf *b)
{
    sb(b, "set xdata time\nset timefmt '%%s'\nset format x '%%Y-%%m-%%d'\nset xtics rotate by 30 right\n"
          "set grid\nset key top left opaque\nset termoption noenhanced\n");
}

/* The regime of pair p over each curve bar as a datablock $reg of
 * "time colour" rows; returns whether any bar has a regime. */
static int regime_block(sbuf *b, const report_result *res, int p)
{
    int any = 0;
    sb(b, "$reg << EOD\n");
    for (long i = 1; i < res->n; i++) {
        int g = res->regime[i * res->P + p];
        if (g < 0) continue;
        any = 1;
        unsigned col;
        sscanf(regime_rgb[g % NREGCOL] + 1, "%x", &col);
        sb(b, "%lld %u\n", (long long)res->t[i], col);
    }
    sb(b, "EOD\n");
    return any;
}

/* Background boxes of $reg up to y = top, with a key entry per regime. */
static void regime_plot(sbuf *b, const report_result *res, const report_input *in, double top)
{
    sb(b, "$reg using 1:(%.17g):2 with boxes fs solid 0.55 noborder lc rgb variable notitle, ", top);
    for (int g = 0; g < in->nregimes; g++)
        sb(b, "keyentry with boxes fs solid 0.55 noborder lc rgb '%s' title '%s', ", regime_rgb[g % NREGCOL],
           in->regimes[g]);
    (void)res;
}

void report_plots(const char *dir, const report_result *res, const report_input *in, const report_opts *o)
{
    const long n = res->n;
    const int P = res->P;
    sbuf b = {0};
    char name[200];

    /* Equity against the benchmark. */
    sb(&b, "$d << EOD\n");
    for (long i = 0; i < n; i++) sb(&b, "%lld %.10g %.10g\n", (long long)res->t[i], res->equity[i], res->bench[i]);
    sb(&b, "EOD\n");
    time_axis(&b);
    sb(&b, "set title 'Equity against buy and hold (after costs)'\nset ylabel 'equity'\n"
           "plot $d using 1:2 with lines lw 2 lc rgb '#1f5fbf' title 'strategy', "
           "$d using 1:3 with lines lw 1.5 lc rgb '#888888' title 'buy and hold'\n");
    draw(dir, "equity.png", b.p);

    /* Drawdowns. */
    b.n = 0;
    double *dd = xmalloc((size_t)n * sizeof *dd), *bdd = xmalloc((size_t)n * sizeof *bdd);
    drawdown_series(dd, res->equity, n);
    drawdown_series(bdd, res->bench, n);
    sb(&b, "$d << EOD\n");
    for (long i = 0; i < n; i++) sb(&b, "%lld %.10g %.10g\n", (long long)res->t[i], -100 * dd[i], -100 * bdd[i]);
    sb(&b, "EOD\n");
    time_axis(&b);
    sb(&b, "set key bottom left opaque\nset title 'Drawdown from the running peak'\nset ylabel 'drawdown (%%)'\n"
           "plot $d using 1:2 with filledcurves y1=0 fs transparent solid 0.35 lc rgb '#c03030' title 'strategy', "
           "$d using 1:3 with lines lw 1.5 lc rgb '#555555' title 'buy and hold'\n");
    draw(dir, "drawdown.png", b.p);
    free(dd);
    free(bdd);

    /* Each pair's price with its entries, exits, stops and liquidations. */
    for (int p = 0; p < P; p++) {
        const rp_series *s = &in->pair[p];
        b.n = 0;
        double lo = INFINITY, hi = -INFINITY;
        sb(&b, "$c << EOD\n");
        for (long k = 0; k < s->n; k++) {
            if (s->t[k] < res->t[0] || s->t[k] > res->t[n - 1]) continue;
            sb(&b, "%lld %.10g\n", (long long)s->t[k], s->close[k]);
            lo = fmin(lo, s->close[k]);
            hi = fmax(hi, s->close[k]);
        }
        sb(&b, "EOD\n");
        /* Markers: column 2 price, 3 kind (0 entry long, 1 entry short,
         * 2 exit, 3 stop, 4 take-profit, 5 liquidation). */
        sb(&b, "$m << EOD\n");
        double q = 0;
        for (long e = 0; e < in->nev; e++) {
            const rp_event *ev = &in->ev[e];
            if (ev->pair != p || ev->dq == 0) continue;
            double q1 = q + ev->dq;
            int kind = ev->kind == RP_STOP ? 3 : ev->kind == RP_TAKE_PROFIT ? 4 : ev->kind == RP_LIQUIDATION ? 5
                     : fabs(q1) > fabs(q) || (q1 > 0) != (q > 0) ? (q1 > 0 ? 0 : 1) : 2;
            if (ev->price > 0) { /* an adopted position (no price) has no marker */
                sb(&b, "%lld %.10g %d\n", (long long)ev->time, ev->price, kind);
                lo = fmin(lo, ev->price);
                hi = fmax(hi, ev->price);
            }
            q = fabs(q1) <= 1e-12 * fmax(fabs(q), fabs(ev->dq)) ? 0 : q1;
        }
        sb(&b, "EOD\n");
        int reg = regime_block(&b, res, p);
        if (!(hi > lo)) hi = lo * 1.01 + 1e-9, lo = lo * 0.99;
        double pad = 0.04 * (hi - lo);
        time_axis(&b);
        sb(&b, "set title '%s: price, trades and regimes'\nset ylabel 'price'\nset yrange [%.10g:%.10g]\n"
               "set boxwidth %lld absolute\nplot ",
           s->name, lo - pad, hi + pad, (long long)res->interval);
        if (reg) regime_plot(&b, res, in, hi + 2 * pad);
        sb(&b, "$c using 1:2 with lines lw 1 lc rgb '#202020' title 'close', "
               "$m using 1:($3==0?$2:NaN) with points pt 9 ps 1.3 lc rgb '#108010' title 'entry long', "
               "$m using 1:($3==1?$2:NaN) with points pt 11 ps 1.3 lc rgb '#c02020' title 'entry short', "
               "$m using 1:($3==2?$2:NaN) with points pt 7 ps 0.9 lc rgb '#2050c0' title 'exit', "
               "$m using 1:($3==3?$2:NaN) with points pt 2 ps 1.4 lc rgb '#e07000' title 'stop', "
               "$m using 1:($3==4?$2:NaN) with points pt 6 ps 1.2 lc rgb '#008080' title 'take profit', "
               "$m using 1:($3==5?$2:NaN) with points pt 3 ps 2 lw 2 lc rgb '#000000' title 'liquidation'\n");
        snprintf(name, sizeof name, "price_%s.png", s->alt);
        draw(dir, name, b.p);
    }

    /* Strategy weights over time, regimes shaded. */
    if (in->nstrats > 0 && in->ndec > 0)
        for (int p = 0; p < P; p++) {
            b.n = 0;
            long rows = 0;
            sb(&b, "$w << EOD\n");
            for (long d = 0; d < in->ndec; d++) {
                const rp_decision *dc = &in->dec[d];
                if (dc->pair != p) continue;
                sb(&b, "%lld", (long long)dc->time);
                for (int s = 0; s < in->nstrats; s++) sb(&b, " %.10g", dc->weight[s]);
                sb(&b, "\n");
                rows++;
            }
            sb(&b, "EOD\n");
            if (rows == 0) continue;
            int reg = regime_block(&b, res, p);
            time_axis(&b);
            sb(&b, "set key outside right top\nset title '%s: strategy weights by regime over time'\n"
                   "set ylabel 'weight'\nset yrange [0:1.05]\nset boxwidth %lld absolute\nplot ",
               in->pair[p].name, (long long)res->interval);
            if (reg) regime_plot(&b, res, in, 2);
            for (int s = 0; s < in->nstrats; s++)
                sb(&b, "%s$w using 1:%d with lines lw 1.5 title '%s'", s ? ", " : "", s + 2, in->strats[s]);
            sb(&b, "\n");
            snprintf(name, sizeof name, "weights_%s.png", in->pair[p].alt);
            draw(dir, name, b.p);
        }
    free(b.p);
    (void)o;
}
