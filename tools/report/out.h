/* out.h: kml-report's outputs: the data files, the gnuplot plots and the
 * HTML page (tools/report). */
#ifndef KML_REPORT_OUT_H
#define KML_REPORT_OUT_H

#include <cJSON.h>

#include "report/report.h"

typedef struct {
    const char *title;
    int plots;      /* PNG plots drawn (and inlined) */
    int synthetic;  /* the decisions came from a synthetic market */
} report_opts;

/* equity.csv, trades.csv and metrics.json in dir, each replaced atomically. */
void report_write_files(const char *dir, const report_result *res, const report_input *in, const cJSON *metrics);
/* equity.png, drawdown.png, price_<ALT>.png and, with decisions,
 * weights_<ALT>.png; a plot gnuplot fails to draw is a warning. */
void report_plots(const char *dir, const report_result *res, const report_input *in, const report_opts *o);
/* dir/report.html: headline against the benchmark, tables, plots inlined as
 * base64 data URIs; no external resource. */
void report_html(const char *dir, const report_result *res, const report_input *in, const cJSON *metrics,
                 const report_opts *o);

#endif
