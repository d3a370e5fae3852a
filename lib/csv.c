/* csv.c: streaming CSV reader over libcsv, and a writer (see csv.h).
 *
 * The reader feeds libcsv one physical line at a time, so the line number of
 * every record is known exactly (a quoted field spanning lines keeps the line
 * its record starts on). Blank lines carry no data and are skipped. The
 * lines are found in place in 64 KB blocks read with read(2) (no copy of
 * each line as getline makes; read returns what a pipe has, so a stream is
 * not held back waiting for a full block). */
#include "csv.h"

#include <csv.h>
#include <errno.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct csv_reader {
    FILE *f;
    int own;             /* fclose at the end */
    char *path;          /* for messages: "<stdin>" or the path */
    struct csv_parser p;
    char *blk;           /* input block: the lines not yet parsed are blk[pos, len) */
    size_t blkcap, pos, len;
    int blkeof;          /* read(2) has returned 0 */
    long lineno;         /* physical lines read */
    long recline;        /* line the current record started on */
    long rowline;        /* line of the row csv_next returned */
    /* fields of the record being assembled */
    char *buf;
    size_t buflen, bufcap;
    size_t *off;
    int nf, capf;
    int done;            /* a record is complete */
    int eof;
    /* header */
    int ncols;
    char **names;
    char *namebuf;
};

static void on_field(void *data, size_t len, void *ctx)
{
    csv_reader *r = ctx;
    if (r->nf == r->capf) {
        r->capf = r->capf ? 2 * r->capf : 16;
        r->off = xrealloc(r->off, r->capf * sizeof *r->off);
    }
    /* CSV_FIELD_SLACK bytes stay readable past the last field's NUL (see
     * csv.h), zeroed when the buffer grows so that nothing read is undefined */
    if (r->buflen + len + 1 + CSV_FIELD_SLACK > r->bufcap) {
        size_t old = r->bufcap;
        while (r->buflen + len + 1 + CSV_FIELD_SLACK > r->bufcap) r->bufcap = r->bufcap ? 2 * r->bufcap : 256;
        r->buf = xrealloc(r->buf, r->bufcap);
        memset(r->buf + old, 0, r->bufcap - old);
    }
    r->off[r->nf++] = r->buflen;
    if (len) memcpy(r->buf + r->buflen, data, len);
    r->buflen += len;
    r->buf[r->buflen++] = 0;
}

static void on_record(int c, void *ctx)
{
    (void)c;
    csv_reader *r = ctx;
    r->done = 1;
}

static void start_record(csv_reader *r)
{
    r->nf = 0;
    r->buflen = 0;
    r->done = 0;
    r->recline = 0;
}

#define BLOCK (1 << 16)

/* The next physical line, '\n' included when there is one (as getline
 * gives it), in place in r->blk; *s gets its start. Returns its length, or
 * -1 at the end of input. */
static ssize_t next_line(csv_reader *r, char **s)
{
    for (;;) {
        char *nl = memchr(r->blk + r->pos, '\n', r->len - r->pos);
        if (nl || (r->blkeof && r->pos < r->len)) {
            size_t n = nl ? (size_t)(nl - (r->blk + r->pos)) + 1 : r->len - r->pos;
            *s = r->blk + r->pos;
            r->pos += n;
            return (ssize_t)n;
        }
        if (r->blkeof) return -1;
        /* keep the partial line, at the front; a line longer than the block doubles it */
        memmove(r->blk, r->blk + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
        if (r->blkcap - r->len < BLOCK / 2) r->blk = xrealloc(r->blk, r->blkcap *= 2);
        ssize_t got;
        do got = read(fileno(r->f), r->blk + r->len, r->blkcap - r->len);
        while (got < 0 && errno == EINTR);
        if (got < 0) die(EX_IOERR, "%s: read error:", r->path);
        if (got == 0) r->blkeof = 1;
        r->len += (size_t)got;
    }
}

/* Read physical lines until a record is complete; 0 at end of input. */
static int read_record(csv_reader *r)
{
    start_record(r);
    while (!r->done) {
        if (r->eof) return 0;
        char *s;
        ssize_t n = next_line(r, &s);
        if (n < 0) {
            r->eof = 1;
            /* Strict libcsv refuses end of input inside quotes and then
             * submits nothing, whether or not fields of the record were done. */
            if (csv_fini(&r->p, on_field, on_record, r) != 0 || (!r->done && r->nf))
                die(EX_DATAERR, "%s:%ld: unterminated quoted field", r->path, r->recline);
            if (!r->done) return 0;
            break;
        }
        r->lineno++;
        if (r->lineno == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) { /* UTF-8 BOM */
            s += 3;
            n -= 3;
        }
        /* pstate 0 is libcsv's "row not begun": a record starts on this line. */
        if (r->nf == 0 && r->p.pstate == 0) r->recline = r->lineno;
        if (csv_parse(&r->p, s, (size_t)n, on_field, on_record, r) != (size_t)n)
            die(EX_DATAERR, "%s:%ld: malformed CSV: %s", r->path, r->lineno, csv_strerror(csv_error(&r->p)));
    }
    r->rowline = r->recline ? r->recline : r->lineno;
    return 1;
}

static csv_reader *reader_new(const char *path)
{
    csv_reader *r = xcalloc(1, sizeof *r);
    r->f = xfopen(path, "r");
    r->own = r->f != stdin;
    r->blk = xmalloc(r->blkcap = BLOCK);
    r->path = xstrdup(display_name(path));
    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI) != 0) die(EX_OSERR, "libcsv: cannot initialise");
    return r;
}

/* Copy the names into one allocation owned by r. */
static void set_names(csv_reader *r, int n, const char *const *names)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += strlen(names[i]) + 1;
    r->names = xmalloc(n * sizeof *r->names);
    r->namebuf = xmalloc(total);
    char *p = r->namebuf;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(p, names[i], len);
        r->names[i] = p;
        p += len;
    }
    r->ncols = n;
    for (int i = 0; i < n; i++) {
        if (!*r->names[i]) die(EX_DATAERR, "%s:%ld: column %d has an empty name", r->path, r->rowline, i + 1);
        for (int j = 0; j < i; j++)
            if (!strcmp(r->names[i], r->names[j]))
                die(EX_DATAERR, "%s:%ld: column '%s' appears twice in the header", r->path, r->rowline, r->names[i]);
    }
}

csv_reader *csv_open(const char *path)
{
    csv_reader *r = reader_new(path);
    if (!read_record(r)) die(EX_DATAERR, "%s: empty input: no header line", r->path);
    const char **names = xmalloc(r->nf * sizeof *names);
    for (int i = 0; i < r->nf; i++) names[i] = r->buf + r->off[i];
    set_names(r, r->nf, names);
    free(names);
    return r;
}

csv_reader *csv_open_noheader(const char *path, int ncols, const char *const *names)
{
    csv_reader *r = reader_new(path);
    set_names(r, ncols, names);
    return r;
}

void csv_close(csv_reader *r)
{
    if (!r) return;
    if (r->own) fclose(r->f);
    csv_free(&r->p);
    free(r->blk);
    free(r->buf);
    free(r->off);
    free(r->names);
    free(r->namebuf);
    free(r->path);
    free(r);
}

int csv_col_opt(csv_reader *r, const char *name)
{
    for (int i = 0; i < r->ncols; i++)
        if (!strcmp(r->names[i], name)) return i;
    return -1;
}

int csv_col(csv_reader *r, const char *name)
{
    int i = csv_col_opt(r, name);
    if (i >= 0) return i;
    /* List what there is, on the one line. */
    size_t cap = 64;
    for (int k = 0; k < r->ncols; k++) cap += strlen(r->names[k]) + 2;
    char *list = xmalloc(cap), *p = list;
    *p = 0;
    for (int k = 0; k < r->ncols; k++) p += sprintf(p, "%s%s", k ? "," : "", r->names[k]);
    fflush(stdout);
    fprintf(stderr, "%s: %s: no column '%s' (columns: %s)\n", progname, r->path, name, list);
    free(list);
    exit(EX_DATAERR);
}

int csv_ncols(const csv_reader *r) { return r->ncols; }
const char *csv_colname(const csv_reader *r, int i) { return r->names[i]; }
const char *csv_path(const csv_reader *r) { return r->path; }
long csv_line(const csv_reader *r) { return r->rowline; }

int csv_next(csv_reader *r)
{
    if (!read_record(r)) return 0;
    if (r->nf != r->ncols)
        die(EX_DATAERR, "%s:%ld: row has %d fields, expected %d (the header's)", r->path, r->rowline, r->nf,
            r->ncols);
    return 1;
}

const char *csv_field(const csv_reader *r, int col)
{
    ASSERT(col >= 0 && col < r->nf);
    return r->buf + r->off[col];
}

size_t csv_field_len(const csv_reader *r, int col)
{
    ASSERT(col >= 0 && col < r->nf);
    size_t end = col + 1 < r->nf ? r->off[col + 1] : r->buflen;
    return end - r->off[col] - 1;
}

int csv_empty(const csv_reader *r, int col) { return csv_field(r, col)[0] == 0; }

void csv_die(const csv_reader *r, int col, const char *fmt, ...)
{
    char where[4096];
    if (col >= 0)
        snprintf(where, sizeof where, "%s:%ld: column '%s'", r->path, r->rowline, r->names[col]);
    else
        snprintf(where, sizeof where, "%s:%ld", r->path, r->rowline);
    va_list ap;
    va_start(ap, fmt);
    vdie_at(EX_DATAERR, where, fmt, ap);
}

double csv_double(csv_reader *r, int col)
{
    const char *s = csv_field(r, col);
    if (!*s) csv_die(r, col, "empty field, expected a number");
    double x;
    if (parse_double(s, &x) != 0) csv_die(r, col, "not a number: \"%s\"", s);
    return x;
}

double csv_double_or(csv_reader *r, int col, double dflt)
{
    if (col < 0 || csv_empty(r, col)) return dflt;
    return csv_double(r, col);
}

/* A plain integer of at most 18 digits, optional '-' ("1381093200"): its
 * value without strtoll's locale and errno work; 0 for anything else. */
static int plain_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    s += neg;
    uint64_t v = 0;
    int n = 0;
    while (n < 19 && (unsigned)(s[n] - '0') < 10) v = v * 10 + (uint64_t)(s[n++] - '0');
    if (n == 0 || n > 18 || s[n]) return 0;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 1;
}

int64_t csv_int(csv_reader *r, int col)
{
    const char *s = csv_field(r, col);
    int64_t x;
    if (plain_int(s, &x)) return x;
    if (!*s) csv_die(r, col, "empty field, expected an integer");
    if (parse_int64(s, &x) != 0) csv_die(r, col, "not an integer: \"%s\"", s);
    return x;
}

int64_t csv_time_increasing(csv_reader *r, int col, int64_t *prev)
{
    int64_t t = csv_int(r, col);
    if (*prev != INT64_MIN && t <= *prev)
        csv_die(r, col, "time %lld is not after the previous row's %lld", (long long)t, (long long)*prev);
    *prev = t;
    return t;
}

/* ---- writer ---- */

void csvw_init(csv_writer *w, FILE *f)
{
    w->f = f;
    w->nfield = 0;
}

static void sep(csv_writer *w)
{
    if (w->nfield++) putc(',', w->f);
}

void csvw_str(csv_writer *w, const char *s)
{
    sep(w);
    if (strpbrk(s, ",\"\r\n"))
        csv_fwrite(w->f, s, strlen(s));
    else
        fputs(s, w->f);
}

void csvw_double(csv_writer *w, double x)
{
    char buf[32];
    sep(w);
    fputs(fmt_double(buf, x), w->f);
}

void csvw_float(csv_writer *w, float x)
{
    char buf[32];
    sep(w);
    fputs(fmt_float(buf, x), w->f);
}

void csvw_fixed(csv_writer *w, double x, int decimals)
{
    sep(w);
    if (!isnan(x)) fprintf(w->f, "%.*f", decimals, x);
}

void csvw_int(csv_writer *w, int64_t x)
{
    sep(w);
    fprintf(w->f, "%lld", (long long)x);
}

void csvw_end(csv_writer *w)
{
    putc('\n', w->f);
    w->nfield = 0;
}

void csvw_row_of(csv_writer *w, const csv_reader *r, int header)
{
    for (int i = 0; i < r->ncols; i++) csvw_str(w, header ? r->names[i] : csv_field(r, i));
}
