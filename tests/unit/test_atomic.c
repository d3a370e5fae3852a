/* test_atomic.c: unit tests of lib/atomic.c (atomic replace, whole-line appends). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

/* Entries of dir whose names start with ".<base>.tmp-". */
static int count_tmp(const char *dir, const char *base)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
    closedir(d);
    return n;
}

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&buf, &cap, 0, f);
    fclose(f);
    if (n < 0) {
        free(buf);
        return strdup("");
    }
    return buf;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void cleanup(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0) rmdir(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static void test_commit_replaces(void)
{
    char *dir = t_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/model.json", dir);
    put(path, "old content\n");
    atomic_file *af = atomic_open(path);
    CHECK(af != NULL && af->f != NULL);
    CHECK_EQ_INT(count_tmp(dir, "model.json"), 1); /* the temporary is beside the target */
    fputs("new content, longer than the old\n", af->f);
    fflush(af->f);
    char *now = slurp(path);
    CHECK_EQ_STR(now, "old content\n"); /* the old file is intact until commit */
    free(now);
    atomic_commit(af);
    now = slurp(path);
    CHECK_EQ_STR(now, "new content, longer than the old\n");
    free(now);
    CHECK_EQ_INT(count_tmp(dir, "model.json"), 0);
    CHECK_EQ_INT(count_entries(dir), 1);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    cleanup(dir);
}

static void test_abort_keeps_old(void)
{
    char *dir = t_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/data.csv", dir);
    put(path, "a,b\n1,2\n");
    atomic_file *af = atomic_open(path);
    fputs("half-written", af->f);
    atomic_abort(af);
    char *now = slurp(path);
    CHECK_EQ_STR(now, "a,b\n1,2\n");
    free(now);
    CHECK_EQ_INT(count_tmp(dir, "data.csv"), 0);
    CHECK_EQ_INT(count_entries(dir), 1);
    cleanup(dir);
}

static void test_atomic_write_new_file(void)
{
    char *dir = t_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/new.bin", dir);
    const char data[] = {'x', 0, 'y', '\n'};
    atomic_write(path, data, sizeof data);
    FILE *f = fopen(path, "rb");
    char got[8] = {0};
    size_t n = f ? fread(got, 1, sizeof got, f) : 0;
    if (f) fclose(f);
    CHECK_EQ_INT(n, 4);
    CHECK(memcmp(got, data, 4) == 0);
    atomic_write(path, "", 0); /* an empty file replaces it */
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 0);
    CHECK_EQ_INT(count_entries(dir), 1);
    cleanup(dir);
}

static char die_path[512];

static void write_then_die(void *arg)
{
    atomic_file *a = atomic_open(die_path);
    fputs("partial output that must not appear\n", a->f);
    fflush(a->f);
    char other[600];
    snprintf(other, sizeof other, "%s.second", die_path);
    atomic_file *b = atomic_open(other); /* two pending at once */
    fputs("x", b->f);
    die(65, "input error after starting the output");
}

static void test_die_leaves_no_temporary(void)
{
    char *dir = t_tmpdir();
    snprintf(die_path, sizeof die_path, "%s/out.csv", dir);
    put(die_path, "old\n");
    struct t_out o;
    t_capture(write_then_die, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 65);
    CHECK_EQ_STR(o.err, "kml-test: input error after starting the output\n");
    char *now = slurp(die_path);
    CHECK_EQ_STR(now, "old\n");
    free(now);
    CHECK_EQ_INT(count_tmp(dir, "out.csv"), 0);
    CHECK_EQ_INT(count_tmp(dir, "out.csv.second"), 0);
    CHECK_EQ_INT(count_entries(dir), 1);
    cleanup(dir);
}

static void open_in_missing_dir(void *arg) { atomic_open(arg); }

static void test_cannot_create(void)
{
    char *dir = t_tmpdir();
    char path[512], want[700];
    snprintf(path, sizeof path, "%s/no-such-dir/out.csv", dir);
    snprintf(want, sizeof want, "kml-test: %s: cannot create a temporary file beside it: %s\n", path,
             strerror(ENOENT));
    struct t_out o;
    t_capture(open_in_missing_dir, path, NULL, &o);
    CHECK_EQ_INT(o.code, 73);
    CHECK_EQ_STR(o.err, want);
    cleanup(dir);
}

static void commit_over_dir(void *arg)
{
    atomic_file *af = atomic_open(arg);
    fputs("x\n", af->f);
    atomic_commit(af);
}

static void test_cannot_replace(void)
{
    char *dir = t_tmpdir();
    char path[512], want[700];
    snprintf(path, sizeof path, "%s/target", dir);
    CHECK(mkdir(path, 0755) == 0); /* a directory cannot be replaced by a file */
    snprintf(want, sizeof want, "kml-test: %s: not a regular file; an atomic replace would put a file in its place\n",
             path);
    struct t_out o;
    t_capture(commit_over_dir, path, NULL, &o);
    CHECK_EQ_INT(o.code, 73);
    CHECK_EQ_STR(o.err, want);
    CHECK_EQ_INT(count_tmp(dir, "target"), 0);
    CHECK_EQ_INT(count_entries(dir), 1);
    /* a FIFO (like a device such as /dev/null) stays what it is */
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0644) == 0);
    t_capture(commit_over_dir, path, NULL, &o);
    CHECK_EQ_INT(o.code, 73);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISFIFO(st.st_mode));
    unlink(path);
    /* a link to a regular file is replaced, as before */
    char file[512];
    snprintf(file, sizeof file, "%s/file", dir);
    put(file, "old\n");
    snprintf(path, sizeof path, "%s/link", dir);
    CHECK(symlink(file, path) == 0);
    t_capture(commit_over_dir, path, NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    unlink(path);
    unlink(file);
    cleanup(dir);
}

static void commit_too_large(void *arg)
{
    /* A file size limit makes the flush in atomic_commit fail with EFBIG. */
    struct rlimit rl = {100, 100};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(99);
    atomic_file *af = atomic_open(arg);
    for (int i = 0; i < 100; i++) fputs("0123456789", af->f);
    atomic_commit(af);
}

static void test_write_error_at_commit(void)
{
    char *dir = t_tmpdir();
    char path[512], want[700];
    snprintf(path, sizeof path, "%s/big.csv", dir);
    put(path, "old\n");
    snprintf(want, sizeof want, "kml-test: %s: write error: %s\n", path, strerror(EFBIG));
    struct t_out o;
    t_capture(commit_too_large, path, NULL, &o);
    CHECK_EQ_INT(o.code, 74);
    CHECK_EQ_STR(o.err, want);
    char *now = slurp(path);
    CHECK_EQ_STR(now, "old\n");
    free(now);
    CHECK_EQ_INT(count_tmp(dir, "big.csv"), 0);
    cleanup(dir);
}

static void test_append_line(void)
{
    char *dir = t_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/events.log", dir);
    CHECK_EQ_INT(append_line(path, "first"), 0); /* creates the file */
    CHECK_EQ_INT(append_line(path, "second\n"), 0);
    CHECK_EQ_INT(append_line(path, ""), 0);
    CHECK_EQ_INT(append_line(path, "third"), 0);
    char *now = slurp(path);
    CHECK_EQ_STR(now, "first\nsecond\n\nthird\n");
    free(now);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0644 & ~0022u));
    char bad[600];
    snprintf(bad, sizeof bad, "%s/missing/x.log", dir);
    errno = 0;
    CHECK_EQ_INT(append_line(bad, "x"), -1);
    CHECK_EQ_INT(errno, ENOENT);
    cleanup(dir);
}

enum { CHILDREN = 4, LINES = 200, PAD = 300 };

static void test_concurrent_appends(void)
{
    char *dir = t_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/shared.log", dir);
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            char line[PAD + 64];
            for (int i = 0; i < LINES; i++) {
                int n = snprintf(line, sizeof line, "child=%d line=%03d ", c, i);
                memset(line + n, 'a' + c, PAD); /* long lines: more chance to interleave */
                line[n + PAD] = 0;
                if (append_line(path, line) != 0) _exit(1);
            }
            _exit(0);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int st;
        waitpid(pids[c], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) {
        cleanup(dir);
        return;
    }
    int seen[CHILDREN][LINES] = {{0}}, next[CHILDREN] = {0}, nlines = 0, bad = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        nlines++;
        int c, i, off = 0;
        int ok = sscanf(line, "child=%d line=%d %n", &c, &i, &off) == 2 && off > 0 && c >= 0 && c < CHILDREN &&
                 i >= 0 && i < LINES && n == off + PAD + 1 && line[n - 1] == '\n';
        for (int k = 0; ok && k < PAD; k++) ok = line[off + k] == 'a' + c;
        if (!ok) {
            if (bad++ < 3) t_fail(__FILE__, __LINE__, "line %d is not whole: %.60s...", nlines, line);
            continue;
        }
        seen[c][i]++;
        if (i != next[c] && bad++ < 3) t_fail(__FILE__, __LINE__, "child %d: line %d after %d", c, i, next[c] - 1);
        next[c] = i + 1;
    }
    free(line);
    fclose(f);
    CHECK_EQ_INT(nlines, CHILDREN * LINES);
    for (int c = 0; c < CHILDREN; c++)
        for (int i = 0; i < LINES; i++)
            if (seen[c][i] != 1 && bad++ < 3) t_fail(__FILE__, __LINE__, "child %d line %d seen %d times", c, i, seen[c][i]);
    cleanup(dir);
}

static void test_relative_path(void)
{
    /* A bare file name: the temporary goes in the current directory. */
    char *dir = t_tmpdir();
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    atomic_file *af = atomic_open("plain.txt");
    CHECK_EQ_INT(count_tmp(".", "plain.txt"), 1);
    fputs("hello\n", af->f);
    atomic_commit(af);
    char *now = slurp("plain.txt");
    CHECK_EQ_STR(now, "hello\n");
    free(now);
    CHECK_EQ_INT(count_entries("."), 1);
    CHECK(chdir(cwd) == 0);
    cleanup(dir);
}

int main(void)
{
    set_progname("kml-test");
    umask(022);
    t_run("commit replaces the file; old content intact until then", test_commit_replaces);
    t_run("abort keeps the old file and leaves no temporary", test_abort_keeps_old);
    t_run("atomic_write creates and replaces", test_atomic_write_new_file);
    t_run("a process that dies leaves no temporary and the old content", test_die_leaves_no_temporary);
    t_run("cannot create beside the target (73)", test_cannot_create);
    t_run("cannot replace a directory (74), no temporary left", test_cannot_replace);
    t_run("write error at commit (74), old content kept", test_write_error_at_commit);
    t_run("append_line adds newline, creates the file, reports errors", test_append_line);
    t_run("concurrent appends from 4 processes never interleave", test_concurrent_appends);
    t_run("relative file name", test_relative_path);
    return t_done();
}
