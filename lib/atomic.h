/* atomic.h: replacing a file atomically, and appending whole lines.
 *
 * atomic_open() creates a temporary file in the same directory as path; writes
 * go to af->f; atomic_commit() flushes, fsyncs, renames it over path and fsyncs
 * the directory, so a reader sees either the old file or the whole new one. A
 * process that dies (die(), exit) before committing removes its temporary files
 * (an atexit handler), so no half-written file is ever left behind. */
#ifndef KML_ATOMIC_H
#define KML_ATOMIC_H

#include <stdio.h>

typedef struct atomic_file {
    FILE *f;
    char *path;
    char *tmp;
} atomic_file;

atomic_file *atomic_open(const char *path);   /* dies 73 when it cannot create */
void atomic_commit(atomic_file *af);          /* dies 74 on an I/O error; frees af */
void atomic_abort(atomic_file *af);           /* removes the temporary; frees af */
/* Write a whole buffer to path atomically. */
void atomic_write(const char *path, const void *data, size_t n);
/* Append one line (a '\n' is added when missing) with a single write() on an
 * O_APPEND descriptor, so concurrent writers never interleave within a line.
 * Creates the file (0644). Returns 0, or -1 with errno set. */
int append_line(const char *path, const char *line);

#endif
