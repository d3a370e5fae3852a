/* files.c: equity.csv, trades.csv and metrics.json (out.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "csv.h"
#include "jsonl.h"
#include "out.h"
#include "util.h"

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

void report_write_files(const char *dir, const report_result *res, const report_input *in, const cJSON *metrics)
{
    char path[4096], col[80];
    const int P = res->P;
    double *dd = xmalloc((size_t)res->n * sizeof *dd), *bdd = xmalloc((size_t)res->n * sizeof *bdd);
    drawdown_series(dd, res->equity, res->n);
    drawdown_series(bdd, res->bench, res->n);

    path_in(path, sizeof path, dir, "equity.csv");
    atomic_file *af = atomic_open(path);
    csv_writer w;
    csvw_init(&w, af->f);
    csvw_str(&w, "time");
    csvw_str(&w, "equity");
    csvw_str(&w, "benchmark");
    csvw_str(&w, "drawdown");
    csvw_str(&w, "benchmark_drawdown");
    for (int p = 0; p < P; p++) {
        snprintf(col, sizeof col, "pnl_%s", in->pair[p].alt);
        csvw_str(&w, col);
        snprintf(col, sizeof col, "position_%s", in->pair[p].alt);
        csvw_str(&w, col);
    }
    csvw_end(&w);
    for (long i = 0; i < res->n; i++) {
        csvw_int(&w, res->t[i]);
        csvw_double(&w, res->equity[i]);
        csvw_double(&w, res->bench[i]);
        csvw_double(&w, dd[i]);
        csvw_double(&w, bdd[i]);
        for (int p = 0; p < P; p++) {
            csvw_double(&w, res->pnl[i * P + p]);
            csvw_double(&w, res->pos[i * P + p]);
        }
        csvw_end(&w);
    }
    atomic_commit(af);
    free(dd);
    free(bdd);

    path_in(path, sizeof path, dir, "trades.csv");
    af = atomic_open(path);
    csvw_init(&w, af->f);
    static const char *const hdr[] = {"pair", "side", "entry_time", "exit_time", "entry_price", "exit_price",
                                      "volume", "fees", "pnl"};
    for (size_t k = 0; k < sizeof hdr / sizeof *hdr; k++) csvw_str(&w, hdr[k]);
    csvw_end(&w);
    for (long j = 0; j < res->ntrades; j++) {
        const rp_trade *t = &res->trades[j];
        csvw_str(&w, in->pair[t->pair].name);
        csvw_str(&w, t->side > 0 ? "long" : "short");
        csvw_int(&w, t->entry_time);
        csvw_int(&w, t->exit_time);
        csvw_double(&w, t->entry_price);
        csvw_double(&w, t->exit_price);
        csvw_double(&w, t->volume);
        csvw_double(&w, t->fees);
        csvw_double(&w, t->pnl);
        csvw_end(&w);
    }
    atomic_commit(af);

    path_in(path, sizeof path, dir, "metrics.json");
    char *text = json_print(metrics, 1);
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    atomic_write(path, text, len);
    free(text);
}
