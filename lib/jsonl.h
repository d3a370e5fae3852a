/* jsonl.h: JSON lines over cJSON.
 *
 * A reader returns one parsed object a line (the caller cJSON_Delete()s it);
 * malformed JSON dies 65 naming file, line and column. Blank lines are skipped.
 * Field accessors die with the same location when a key is missing or of the
 * wrong type. The writer prints one object on one line, unformatted. */
#ifndef KML_JSONL_H
#define KML_JSONL_H

#include <cJSON.h>
#include <stdio.h>

typedef struct jsonl_reader jsonl_reader;

jsonl_reader *jsonl_open(const char *path); /* NULL or "-" = stdin; missing file dies 66 */
cJSON *jsonl_next(jsonl_reader *r);         /* NULL at end of input */
long jsonl_line(const jsonl_reader *r);
const char *jsonl_path(const jsonl_reader *r);
void jsonl_close(jsonl_reader *r);

/* Located accessors on an object read from r. */
double jsonl_num(const jsonl_reader *r, const cJSON *obj, const char *key);
const char *jsonl_str(const jsonl_reader *r, const cJSON *obj, const char *key);
__attribute__((noreturn, format(printf, 2, 3))) void jsonl_die(const jsonl_reader *r, const char *fmt, ...);

/* The one JSON printer of the product: every JSON text it writes (lines,
 * files, model metadata, logs) goes through it, never cJSON_Print*, because
 * cJSON's number printer keeps a 15-digit text when it reads back within a
 * relative DBL_EPSILON, which can lose the last bit. Numbers are written as
 * the shortest text that reads back as the same double; NaN and infinities
 * as null. pretty: cJSON's formatted layout (tabs, one member a line);
 * otherwise one line. Returns a malloc'ed NUL-terminated text. */
char *json_print(const cJSON *item, int pretty);
/* Print obj on one line followed by '\n'; dies EX_IOERR on a write error. */
void jsonl_write(FILE *f, const cJSON *obj);
/* Add a double (json_print writes it to round-trip); non-finite: null. */
cJSON *json_add_num(cJSON *obj, const char *key, double x);

/* Parse a whole JSON text (a file's content); a syntax error dies 65 naming
 * "name:line:column". Caller deletes. */
cJSON *json_parse_located(const char *text, const char *name);
/* Read and parse a JSON file (missing: 66). */
cJSON *json_load_file(const char *path);
/* Read a whole file into memory (NUL-terminated); *len may be NULL. Missing: 66. */
char *read_file(const char *path, size_t *len);

#endif
