/* progress.h: a progress bar on stderr, drawn only when stderr is a terminal
 * and not quiet; redrawn at most 10 times a second; erased by progress_done(). */
#ifndef KML_PROGRESS_H
#define KML_PROGRESS_H

typedef struct {
    const char *label;
    long total;     /* 0 when unknown: a counter is shown */
    int enabled;
    double t0, last;
    int drawn;
} progress;

void progress_init(progress *p, const char *label, long total, int quiet);
/* done units of total; note is an optional short text ("loss=0.91"), may be NULL. */
void progress_update(progress *p, long done, const char *note);
void progress_done(progress *p);
/* Whether a bar would be drawn (isatty(2) and not quiet). */
int progress_enabled(int quiet);

#endif
