/* plot.c: --visualize, PNG plots drawn by gnuplot (loss per epoch, confusion
 * matrix, reliability diagram, predicted edge against realised return). The
 * data goes inline as gnuplot datablocks; each PNG is written to a temporary
 * name and renamed, so a failed plot never leaves half a file. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "train.h"
#include "train/metrics.h"
#include "util.h"

/* pngcairo when this gnuplot has it, else the libgd png terminal. */
static const char *terminal(void) {
    static const char *t;
    if (!t) {
        int rc = system("gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1");
        t = rc == 0 ? "pngcairo size 800,600" : "png size 800,600";
    }
    return t;
}

/* Run script through gnuplot writing out; returns 0 on success. */
static int run_gnuplot(const char *script, const char *out) {
    char tmp[4200], cmd[64];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
    snprintf(cmd, sizeof cmd, "gnuplot");
    FILE *g = popen(cmd, "w");
    if (!g) return -1;
    fprintf(g, "set terminal %s\nset output '%s'\n%s\nset output\n", terminal(), tmp, script);
    int rc = pclose(g);
    if (rc != 0 || rename(tmp, out) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static char *append(char *s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *append(char *s, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    s = xrealloc(s, *len + (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
    return s;
}

static void emit(cJSON *paths, const char *outdir, const char *arch, const char *what, const char *script) {
    char out[4096];
    snprintf(out, sizeof out, "%s/%s_%s.png", outdir, arch, what);
    if (run_gnuplot(script, out) == 0) {
        cJSON_AddItemToArray(paths, cJSON_CreateString(out));
        fprintf(stderr, "%s: wrote %s\n", progname, out);
    } else {
        warn("gnuplot failed to draw %s (is gnuplot installed?)", out);
    }
}

cJSON *plot_all(const char *outdir, const char *arch, const fit_result *fr, const double *p, const int *y,
                const double *ret, long n) {
    cJSON *paths = cJSON_CreateArray();
    char *s = NULL;
    size_t len = 0;

    s = append(s, &len, "$d << EOD\n");
    for (int e = 0; e < fr->epochs_run; e++) s = append(s, &len, "%d %.9g %.9g\n", e + 1, fr->train_loss[e], fr->val_loss[e]);
    s = append(s, &len,
               "EOD\nset title '%s: loss per epoch (best epoch %d)'\nset xlabel 'epoch'\nset ylabel 'weighted "
               "cross-entropy'\nset grid\nplot $d using 1:2 with linespoints title 'train', $d using 1:3 with "
               "linespoints title 'validation'",
               arch, fr->best_epoch);
    emit(paths, outdir, arch, "loss", s);

    static const char *const cls[3] = {"down", "flat", "up"};
    long cm[3][3] = {{0}};
    for (long i = 0; i < n; i++) {
        const double *q = p + 3 * i;
        int k = q[1] > q[0] ? 1 : 0;
        if (q[2] > q[k]) k = 2;
        cm[y[i]][k]++;
    }
    len = 0;
    s = append(s, &len, "$d << EOD\n");
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < 3; k++) s = append(s, &len, "%d %d %ld\n", k, t, cm[t][k]);
    s = append(s, &len,
               "EOD\nset title '%s: confusion matrix (test)'\nset xlabel 'predicted'\nset ylabel 'true'\n"
               "set xtics ('%s' 0, '%s' 1, '%s' 2)\nset ytics ('%s' 0, '%s' 1, '%s' 2)\nset xrange [-0.5:2.5]\n"
               "set yrange [-0.5:2.5]\nset palette defined (0 'white', 1 'steelblue')\n"
               "plot $d using 1:2:3 with image notitle, $d using 1:2:(sprintf('%%d', $3)) with labels notitle",
               arch, cls[0], cls[1], cls[2], cls[0], cls[1], cls[2]);
    emit(paths, outdir, arch, "confusion", s);

    double conf[KML_ECE_BINS], acc[KML_ECE_BINS];
    long count[KML_ECE_BINS];
    double ece = metrics_ece(p, y, n, conf, acc, count);
    len = 0;
    s = append(s, &len, "$d << EOD\n");
    for (int b = 0; b < KML_ECE_BINS; b++)
        if (count[b]) s = append(s, &len, "%.9g %.9g %ld\n", conf[b], acc[b], count[b]);
    s = append(s, &len,
               "EOD\nset title '%s: reliability (test, ECE %.4f)'\nset xlabel 'confidence of the top class'\n"
               "set ylabel 'accuracy'\nset xrange [0:1]\nset yrange [0:1]\nset grid\nset key left top\n"
               "plot x with lines dashtype 2 title 'perfect', $d using 1:2 with linespoints pt 7 title 'model'",
               arch, ece);
    emit(paths, outdir, arch, "reliability", s);

    if (ret) {
        len = 0;
        s = append(s, &len, "$d << EOD\n");
        /* Least-squares line of return on edge, computed here (gnuplot's fit writes fit.log). */
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        long m = 0;
        for (long i = 0; i < n; i++) {
            if (isnan(ret[i])) continue;
            double e = p[3 * i + 2] - p[3 * i];
            s = append(s, &len, "%.9g %.9g\n", e, ret[i]);
            sx += e, sy += ret[i], sxx += e * e, sxy += e * ret[i], m++;
        }
        if (m == 0) s = append(s, &len, "0 0\n");
        double var = m ? sxx - sx * sx / m : 0, slope = var > 0 ? (sxy - sx * sy / m) / var : 0;
        double icpt = m ? (sy - slope * sx) / m : 0;
        s = append(s, &len,
                   "EOD\nset title '%s: predicted edge against realised return (test)'\nset xlabel 'p_up - p_down'\n"
                   "set ylabel 'forward log return'\nset grid\n"
                   "plot $d using 1:2 with points pt 7 ps 0.3 title 'bars', %.9g*x + %.9g with lines lw 2 title "
                   "'least squares'",
                   arch, slope, icpt);
        emit(paths, outdir, arch, "edge", s);
    }
    free(s);
    return paths;
}
