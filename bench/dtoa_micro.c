/* dtoa_micro.c: ns per number of ta_fmt_doubles() on the rows kml-features
 * prints. Not built by make; by hand, with the flags of the build:
 *   bin/kml-features ../shared/data/kraken/XBTUSD_60.csv > /tmp/dtoa_feat.csv
 *   git show 80cbb11:lib/dtoa.c > /tmp/dtoa_base.c   # a baseline, optional
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -g -iquote lib -DBASE='"/tmp/dtoa_base.c"' \
 *       bench/dtoa_micro.c lib/dtoa.c lib/util.c -lm -o /tmp/dtoa_micro
 *   /tmp/dtoa_micro /tmp/dtoa_feat.csv [reps]
 * Each row is printed as emit() in tools/features/main.c prints it: close
 * (n = 1), the 35 feature columns in one call, the last four through memos;
 * ns per number counts the 36 values through ta_fmt_doubles(), best of reps
 * (CPU time). BASE, when given, is another dtoa.c compiled under other names
 * and timed in the same runs (interleaved, so a busy machine moves both):
 * its output must be byte-identical. "all 40 direct": the four memo columns
 * through ta_fmt_doubles() too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtoa.h"

#ifdef BASE
#define ta_fmt_double base_fmt_double
#define ta_fmt_doubles base_fmt_doubles
#define ta_fmt_memo_init base_fmt_memo_init
#define ta_fmt_memo_fill base_fmt_memo_fill
#define ta_fmt_memo_double base_fmt_memo_double
#define ta_fmt_int base_fmt_int
#define etab base_etab
#include BASE
#undef ta_fmt_double
#undef ta_fmt_doubles
#undef ta_fmt_memo_init
#undef ta_fmt_memo_fill
#undef ta_fmt_memo_double
#undef ta_fmt_int
#endif

enum { NC = 40, RUN = 35 }; /* close + 39 features; the run: columns 1..35 */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef char *(*rowsfn)(char *, const double *, int);

static size_t print_all(char *out, const double *v, long nrows, rowsfn f, ta_fmt_memo *memo,
                        char *(*memofn)(ta_fmt_memo *, char *, double))
{
    char *p = out;
    for (long r = 0; r < nrows; r++) {
        const double *x = v + r * NC;
        p = f(p, x, 1);
        p = f(p, x + 1, RUN);
        for (int j = 0; j < 4; j++) p = memofn ? memofn(&memo[j], p, x[1 + RUN + j]) : f(p, x + 1 + RUN + j, 1);
        *p++ = '\n';
    }
    return (size_t)(p - out);
}

static char *memo_cur(ta_fmt_memo *m, char *p, double x) { return ta_fmt_memo_double(m, p, x); }
#ifdef BASE
static char *memo_base(ta_fmt_memo *m, char *p, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    unsigned i = (unsigned)((bits * 0x9E3779B97F4A7C15ULL) >> 58);
    if (m->e[i].len == 0 || m->e[i].bits != bits) base_fmt_memo_fill(m, i, bits, x);
    memcpy(p, m->e[i].text, 32);
    return p + m->e[i].len;
}
#endif

int main(int argc, char **argv)
{
    FILE *f = fopen(argc > 1 ? argv[1] : "/tmp/dtoa_feat.csv", "r");
    int reps = argc > 2 ? atoi(argv[2]) : 15;
    if (!f) return perror("input"), 1;
    char *line = NULL;
    size_t cap = 0;
    long n = 0, ncap = 1 << 16;
    double *v = malloc((size_t)ncap * NC * sizeof *v);
    if (getline(&line, &cap, f) < 0) return 1; /* header */
    while (getline(&line, &cap, f) > 0) {
        if (n == ncap) v = realloc(v, (size_t)(ncap *= 2) * NC * sizeof *v);
        char *s = strchr(line, ',');
        for (int j = 0; j < NC; j++) v[n * NC + j] = strtod(s + 1, &s);
        n++;
    }
    size_t outcap = (size_t)n * (NC * 26 + 64);
    char *out = malloc(outcap), *out2 = malloc(outcap);
    static ta_fmt_memo memo[4];
    double best = 1e9, bestb = 1e9, bestn = 1e9;
    size_t len = 0, len2 = 0;
    for (int k = 0; k < reps; k++) {
        for (int j = 0; j < 4; j++) ta_fmt_memo_init(&memo[j]);
        double t0 = now();
        len = print_all(out, v, n, ta_fmt_doubles, memo, memo_cur);
        double t1 = now();
        if (t1 - t0 < best) best = t1 - t0;
#ifdef BASE
        for (int j = 0; j < 4; j++) ta_fmt_memo_init(&memo[j]);
        t0 = now();
        len2 = print_all(out2, v, n, base_fmt_doubles, memo, memo_base);
        t1 = now();
        if (t1 - t0 < bestb) bestb = t1 - t0;
#endif
        /* the 36 non-memo columns only, without the memos (printed directly) */
        t0 = now();
        print_all(out2 + 0, v, n, ta_fmt_doubles, memo, NULL);
        t1 = now();
        if (t1 - t0 < bestn) bestn = t1 - t0;
    }
#ifdef BASE
    for (int j = 0; j < 4; j++) ta_fmt_memo_init(&memo[j]);
    len2 = print_all(out2, v, n, base_fmt_doubles, memo, memo_base);
    if (len != len2 || memcmp(out, out2, len)) {
        size_t i = 0;
        while (i < len && out[i] == out2[i]) i++;
        fprintf(stderr, "DIFFERENT at byte %zu: \"%.40s\" vs base \"%.40s\"\n", i, out + (i > 20 ? i - 20 : 0),
                out2 + (i > 20 ? i - 20 : 0));
        return 1;
    }
#endif
    (void)len2, (void)bestb;
    long nn = n * 36; /* the numbers through ta_fmt_doubles */
    printf("%ld rows, %zu bytes; ta_fmt_doubles %.2f ns/number (%.1f ms)", n, len, best * 1e9 / (double)nn, best * 1e3);
#ifdef BASE
    printf("; base %.2f ns/number (%.1f ms), %.1f%% less; identical", bestb * 1e9 / (double)nn, bestb * 1e3,
           100 * (1 - best / bestb));
#endif
    printf("; all 40 direct %.2f ns/number\n", bestn * 1e9 / (double)(n * NC));
    return 0;
}
