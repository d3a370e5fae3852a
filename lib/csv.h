/* csv.h: streaming CSV reader over libcsv, and a writer.
 *
 * Reading: the header is read once; columns are looked up by name. One row is
 * held at a time (csv_next). Every error names the file (or <stdin>), the line,
 * the column and the text, and exits 65 (EX_DATAERR):
 *   kml-features: <stdin>:42: column 'close': not a number: "abc"
 * Accepted: CRLF line ends, a UTF-8 byte-order mark, quoted fields. Rejected:
 * ragged rows, empty required fields, nan/inf text, non-increasing time (where
 * the caller asks for the check), and blank lines inside the data.
 *
 * Writing: csv_writer puts fields with separators and quoting; doubles are
 * printed with the shortest text that reads back exactly (NaN -> empty field). */
#ifndef KML_CSV_H
#define KML_CSV_H

#include <stdint.h>
#include <stdio.h>

typedef struct csv_reader csv_reader;

/* Open path (NULL or "-" = stdin) and read its header. A missing file dies 66;
 * an empty input dies 65 ("no header"). */
csv_reader *csv_open(const char *path);
/* Open a file that has no header line; the columns get the given names. */
csv_reader *csv_open_noheader(const char *path, int ncols, const char *const *names);
void csv_close(csv_reader *r);

/* Column index by name; a missing column dies 65 listing the available ones. */
int csv_col(csv_reader *r, const char *name);
/* Column index by name, or -1 when absent. */
int csv_col_opt(csv_reader *r, const char *name);
int csv_ncols(const csv_reader *r);
const char *csv_colname(const csv_reader *r, int i);
const char *csv_path(const csv_reader *r); /* "<stdin>" or the path */

/* Read the next row: 1, or 0 at end of input. A ragged row dies 65. */
int csv_next(csv_reader *r);
long csv_line(const csv_reader *r); /* line number of the current row (header = 1) */
const char *csv_field(const csv_reader *r, int col); /* NUL-terminated text */
/* At least this many bytes after a field's NUL may be read (they belong to
 * the reader), so a parser may load a field a machine word at a time. */
#define CSV_FIELD_SLACK 32
size_t csv_field_len(const csv_reader *r, int col);
int csv_empty(const csv_reader *r, int col);

/* Typed fields of the current row; errors are located dies (65). */
double csv_double(csv_reader *r, int col);                  /* required, finite */
double csv_double_or(csv_reader *r, int col, double dflt);  /* empty -> dflt */
int64_t csv_int(csv_reader *r, int col);                    /* required integer */
/* Integer time that must be strictly greater than *prev (set *prev = INT64_MIN
 * before the first row); updates *prev. */
int64_t csv_time_increasing(csv_reader *r, int col, int64_t *prev);
/* A located error about the current row and a column (col < 0: no column). */
__attribute__((noreturn, format(printf, 3, 4))) void csv_die(const csv_reader *r, int col, const char *fmt, ...);

typedef struct {
    FILE *f;
    int nfield; /* fields written on the current line */
} csv_writer;

void csvw_init(csv_writer *w, FILE *f);
void csvw_str(csv_writer *w, const char *s);     /* quoted when needed */
void csvw_double(csv_writer *w, double x);       /* round-trip text; NaN -> "" */
void csvw_float(csv_writer *w, float x);
void csvw_fixed(csv_writer *w, double x, int decimals);
void csvw_int(csv_writer *w, int64_t x);
void csvw_end(csv_writer *w);                    /* "\n" */
/* All fields of the reader's current row (for pass-through of unknown columns),
 * or its header names when header != 0. */
void csvw_row_of(csv_writer *w, const csv_reader *r, int header);

#endif
