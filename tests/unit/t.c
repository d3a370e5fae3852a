/* t.c: implementation of the unit-test runner (see t.h). */
#include "t.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int t_fail_in_test;
static int n_pass, n_fail;

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (t_fail_in_test++ > 20) return; /* enough detail */
    printf("#   %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

void t_run(const char *name, void (*fn)(void))
{
    t_fail_in_test = 0;
    fflush(stdout);
    fn();
    if (t_fail_in_test) {
        printf("not ok - %s\n", name);
        n_fail++;
    } else {
        printf("ok - %s\n", name);
        n_pass++;
    }
    fflush(stdout);
}

int t_done(void)
{
    printf("# %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

int t_expect_exit_at(const char *file, int line, void (*fn)(void *), void *arg, const char *stdin_text,
                     int code, const char *stderr_sub)
{
    char errpath[] = "/tmp/kml-t-err-XXXXXX", inpath[] = "/tmp/kml-t-in-XXXXXX";
    int efd = mkstemp(errpath), ifd = mkstemp(inpath);
    if (efd < 0 || ifd < 0) { t_fail(file, line, "mkstemp failed"); return 0; }
    if (stdin_text && write(ifd, stdin_text, strlen(stdin_text)) < 0) t_fail(file, line, "write failed");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        lseek(ifd, 0, SEEK_SET);
        dup2(ifd, 0);
        dup2(efd, 2);
        int null = open("/dev/null", 1);
        dup2(null, 1);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    char buf[4096] = {0};
    lseek(efd, 0, SEEK_SET);
    ssize_t n = read(efd, buf, sizeof buf - 1);
    if (n < 0) n = 0;
    buf[n] = 0;
    close(efd); close(ifd);
    unlink(errpath); unlink(inpath);
    int ok = 1;
    if (!WIFEXITED(st)) {
        t_fail(file, line, "child did not exit normally (signal %d); stderr: %s", WIFSIGNALED(st) ? WTERMSIG(st) : 0, buf);
        return 0;
    }
    if (WEXITSTATUS(st) != code) {
        t_fail(file, line, "exit code %d, expected %d; stderr: %s", WEXITSTATUS(st), code, buf);
        ok = 0;
    }
    if (stderr_sub && !strstr(buf, stderr_sub)) {
        t_fail(file, line, "stderr lacks \"%s\"; stderr: %s", stderr_sub, buf);
        ok = 0;
    }
    return ok;
}

char *t_tmpfile(const char *text)
{
    char *path = strdup("/tmp/kml-t-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) { perror("mkstemp"); exit(70); }
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) { perror("write"); exit(70); }
    close(fd);
    return path;
}

char *t_tmpdir(void)
{
    char *path = strdup("/tmp/kml-td-XXXXXX");
    if (!mkdtemp(path)) { perror("mkdtemp"); exit(70); }
    return path;
}

const char *t_data_dir(void)
{
    static char buf[4096];
    const char *env = getenv("KML_SHARED_DATA");
    struct stat st;
    if (env && stat(env, &st) == 0) return env;
    const char *cands[] = {"../shared/data", "../../shared/data"};
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (stat(cands[i], &st) == 0 && realpath(cands[i], buf)) return buf;
    return NULL;
}
