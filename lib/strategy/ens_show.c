/* ens_show.c: ensemble.json as a readable table (kml-ensemble show):
 * regimes down, strategies across, "weight sharpe" in each cell. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ensemble.h"
#include "util.h"

__attribute__((noreturn, format(printf, 2, 3))) static void bad(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie_at(EX_DATAERR, name, fmt, ap);
}

static const cJSON *get(const cJSON *o, const char *key, const char *path, const char *name, int type)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) bad(name, "key '%s%s': missing", path, key);
    if (!(v->type & type)) {
        const char *want = type == cJSON_Number ? "a number"
                           : type == cJSON_Array ? "an array"
                           : type == cJSON_Object ? "an object"
                           : type == cJSON_String ? "a string"
                                                  : "another type";
        bad(name, "key '%s%s': expected %s", path, key, want);
    }
    return v;
}

static const char *strs_at(const cJSON *a, int i, const char *key, const char *name)
{
    const cJSON *v = cJSON_GetArrayItem(a, i);
    if (!cJSON_IsString(v)) bad(name, "key '%s[%d]': expected a string", key, i);
    return v->valuestring;
}

static void day(char *buf, size_t n, double t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
}

static void cell(FILE *out, double w, const cJSON *st, int width)
{
    char b[64];
    const cJSON *sh = st ? cJSON_GetObjectItemCaseSensitive(st, "sharpe") : NULL;
    if (cJSON_IsNumber(sh)) snprintf(b, sizeof b, "%.3f %+.2f", w, sh->valuedouble);
    else snprintf(b, sizeof b, "%.3f   -", w);
    fprintf(out, " %*s", width, b);
}

void ens_show(FILE *out, const cJSON *doc, const char *name)
{
    if (!cJSON_IsObject(doc)) bad(name, "expected a JSON object (an ensemble.json)");
    const cJSON *fmt = get(doc, "format", "", name, cJSON_String);
    if (strcmp(fmt->valuestring, "kml-ensemble")) bad(name, "key 'format': '%s', expected 'kml-ensemble'", fmt->valuestring);
    const cJSON *strats = get(doc, "strategies", "", name, cJSON_Array);
    const cJSON *regs = get(doc, "regimes", "", name, cJSON_Array);
    const cJSON *W = get(doc, "weights", "", name, cJSON_Object);
    const cJSON *G = get(doc, "global", "", name, cJSON_Object);
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(doc, "stats");
    int S = cJSON_GetArraySize(strats), R = cJSON_GetArraySize(regs);
    int width = 13, rw = 14;
    for (int s = 0; s < S; s++) {
        int l = (int)strlen(strs_at(strats, s, "strategies", name));
        if (l > width) width = l;
    }
    for (int r = 0; r < R; r++) {
        int l = (int)strlen(strs_at(regs, r, "regimes", name));
        if (l > rw) rw = l;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(doc, "objective");
    const cJSON *fee = cJSON_GetObjectItemCaseSensitive(doc, "fee");
    fprintf(out, "%s: objective %s, fee %g", name, cJSON_IsString(obj) ? obj->valuestring : "?",
            cJSON_IsNumber(fee) ? fee->valuedouble : NAN);
    if (cJSON_IsObject(data)) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(data, "pair"),
                    *so = cJSON_GetObjectItemCaseSensitive(data, "source"),
                    *f = cJSON_GetObjectItemCaseSensitive(data, "first"),
                    *l = cJSON_GetObjectItemCaseSensitive(data, "last"),
                    *b = cJSON_GetObjectItemCaseSensitive(data, "bars");
        if (cJSON_IsString(p)) fprintf(out, ", %s", p->valuestring);
        if (cJSON_IsString(so)) fprintf(out, " (%s)", so->valuestring);
        if (cJSON_IsNumber(f) && cJSON_IsNumber(l) && cJSON_IsNumber(b)) {
            char a[32], z[32];
            day(a, sizeof a, f->valuedouble);
            day(z, sizeof z, l->valuedouble);
            fprintf(out, ", %.0f bars %s .. %s UTC", b->valuedouble, a, z);
        }
    }
    fprintf(out, "\ncells: weight and in-sample after-fee Sharpe (annualised)\n%-*s", rw, "regime");
    for (int s = 0; s < S; s++) fprintf(out, " %*s", width, strs_at(strats, s, "strategies", name));
    fputc('\n', out);
    for (int r = 0; r <= R; r++) {
        const char *rn = r < R ? strs_at(regs, r, "regimes", name) : "global";
        const cJSON *row = r < R ? get(W, rn, "weights.", name, cJSON_Object) : G;
        const cJSON *srow = cJSON_IsObject(stats) ? cJSON_GetObjectItemCaseSensitive(stats, r < R ? rn : "all") : NULL;
        fprintf(out, "%-*s", rw, rn);
        for (int s = 0; s < S; s++) {
            const char *sn = strs_at(strats, s, "strategies", name);
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(row, sn);
            if (!cJSON_IsNumber(w)) {
                if (r < R) bad(name, "key 'weights.%s.%s': expected a number", rn, sn);
                bad(name, "key 'global.%s': expected a number", sn);
            }
            cell(out, w->valuedouble, srow ? cJSON_GetObjectItemCaseSensitive(srow, sn) : NULL, width);
        }
        const cJSON *es = cJSON_GetObjectItemCaseSensitive(doc, "ensemble_stats");
        const cJSON *e = cJSON_IsObject(es) ? cJSON_GetObjectItemCaseSensitive(es, r < R ? rn : "all") : NULL;
        const cJSON *eb = e ? cJSON_GetObjectItemCaseSensitive(e, "bars") : NULL;
        const cJSON *esh = e ? cJSON_GetObjectItemCaseSensitive(e, "sharpe") : NULL;
        if (cJSON_IsNumber(eb))
            fprintf(out, "   %6.0f bars, ensemble %s", eb->valuedouble,
                    cJSON_IsNumber(esh) ? "" : "-");
        if (cJSON_IsNumber(eb) && cJSON_IsNumber(esh)) fprintf(out, "%+.2f", esh->valuedouble);
        fputc('\n', out);
    }
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(doc, "fallback");
    if (cJSON_IsArray(fb) && cJSON_GetArraySize(fb)) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(doc, "min_samples");
        fprintf(out, "fallback to global (fewer than %.0f bars):", cJSON_IsNumber(ms) ? ms->valuedouble : NAN);
        const cJSON *x;
        cJSON_ArrayForEach(x, fb) if (cJSON_IsString(x)) fprintf(out, " %s", x->valuestring);
        fputc('\n', out);
    }
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(doc, "thresholds");
    if (cJSON_IsObject(th)) {
        const cJSON *en = cJSON_GetObjectItemCaseSensitive(th, "entry"),
                    *mc = cJSON_GetObjectItemCaseSensitive(th, "min_confidence");
        fprintf(out, "thresholds: entry %g, min_confidence %g\n", cJSON_IsNumber(en) ? en->valuedouble : NAN,
                cJSON_IsNumber(mc) ? mc->valuedouble : NAN);
    }
    const cJSON *wins = cJSON_GetObjectItemCaseSensitive(doc, "windows");
    if (cJSON_IsArray(wins)) {
        int nw = cJSON_GetArraySize(wins);
        fprintf(out, "walk-forward: %d windows", nw);
        if (nw) {
            const cJSON *f0 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(wins, 0), "from");
            const cJSON *t1 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(wins, nw - 1), "to");
            if (cJSON_IsNumber(f0) && cJSON_IsNumber(t1)) {
                char a[32], z[32];
                day(a, sizeof a, f0->valuedouble);
                day(z, sizeof z, t1->valuedouble);
                fprintf(out, " from %s to %s UTC", a, z);
            }
        }
        fputc('\n', out);
        const cJSON *oos = cJSON_GetObjectItemCaseSensitive(doc, "oos");
        const cJSON *os = cJSON_IsObject(oos) ? cJSON_GetObjectItemCaseSensitive(oos, "strategies") : NULL;
        const cJSON *oe = cJSON_IsObject(oos) ? cJSON_GetObjectItemCaseSensitive(oos, "ensemble") : NULL;
        const cJSON *oh = cJSON_IsObject(oos) ? cJSON_GetObjectItemCaseSensitive(oos, "hold") : NULL;
        if (cJSON_IsObject(os) && cJSON_IsObject(oe) && cJSON_IsObject(oh)) {
            fprintf(out, "out-of-sample after-fee Sharpe (annualised), each bar with its window's weights\n%-*s", rw,
                    "regime");
            fprintf(out, " %7s", "bars");
            for (int s = 0; s < S; s++) fprintf(out, " %*s", width, strs_at(strats, s, "strategies", name));
            fprintf(out, " %*s %*s\n", width, "ensemble", width, "buy&hold");
            for (int r = 0; r <= R; r++) {
                const char *rn = r < R ? strs_at(regs, r, "regimes", name) : "all";
                const cJSON *srow = cJSON_GetObjectItemCaseSensitive(os, rn);
                const cJSON *e = cJSON_GetObjectItemCaseSensitive(oe, rn), *h = cJSON_GetObjectItemCaseSensitive(oh, rn);
                const cJSON *b = e ? cJSON_GetObjectItemCaseSensitive(e, "bars") : NULL;
                fprintf(out, "%-*s %7.0f", rw, rn, cJSON_IsNumber(b) ? b->valuedouble : NAN);
                for (int s = 0; s < S + 2; s++) {
                    const cJSON *st = s < S ? (srow ? cJSON_GetObjectItemCaseSensitive(
                                                          srow, strs_at(strats, s, "strategies", name))
                                                    : NULL)
                                    : s == S ? e
                                             : h;
                    const cJSON *sh = st ? cJSON_GetObjectItemCaseSensitive(st, "sharpe") : NULL;
                    if (cJSON_IsNumber(sh)) fprintf(out, " %*.2f", width, sh->valuedouble);
                    else fprintf(out, " %*s", width, "-");
                }
                fputc('\n', out);
            }
        }
    }
}
