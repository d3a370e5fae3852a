/* progress.c: a progress bar on stderr when it is a terminal (see progress.h). */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "util.h"

int progress_enabled(int quiet) { return !quiet && isatty(2); }

void progress_init(progress *p, const char *label, long total, int quiet)
{
    p->label = label;
    p->total = total;
    p->enabled = progress_enabled(quiet);
    p->t0 = now_seconds();
    p->last = 0;
    p->drawn = 0;
}

void progress_update(progress *p, long done, const char *note)
{
    if (!p->enabled) return;
    double t = now_seconds();
    if (p->drawn && t - p->last < 0.1 && done < p->total) return;
    p->last = t;
    p->drawn = 1;
    double el = t - p->t0;
    if (p->total > 0) {
        double frac = (double)done / (double)p->total;
        if (frac > 1) frac = 1;
        int w = 30, fill = (int)(frac * w);
        char bar[32];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '-';
        bar[w] = 0;
        double left = frac > 0 ? el * (1 - frac) / frac : 0;
        fprintf(stderr, "\r%s [%s] %3.0f%% %ld/%ld %s eta %.0fs\033[K", p->label, bar, 100 * frac, done, p->total,
                note ? note : "", left);
    } else {
        fprintf(stderr, "\r%s %ld %s %.0fs\033[K", p->label, done, note ? note : "", el);
    }
    fflush(stderr);
}

void progress_done(progress *p)
{
    if (p->enabled && p->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->drawn = 0;
}
