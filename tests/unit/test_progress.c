/* test_progress.c: unit tests of lib/progress.c (a bar on stderr only when it
 * is a terminal). The terminal case uses a pseudo-terminal as stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "progress.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

static void draw_some(void *arg)
{
    int quiet = arg != NULL;
    progress p;
    progress_init(&p, "train", 100, quiet);
    if (p.enabled) _exit(3);
    for (long i = 0; i <= 100; i++) progress_update(&p, i, "loss=0.5");
    progress_done(&p);
    progress_init(&p, "count", 0, quiet);
    progress_update(&p, 5, NULL);
    progress_done(&p);
    fputs("done\n", stdout);
}

static void test_not_a_terminal(void)
{
    struct t_out o;
    t_capture(draw_some, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "");
    CHECK_EQ_STR(o.out, "done\n");
    t_capture(draw_some, "quiet", NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "");
}

static void test_quiet_disables(void)
{
    CHECK_EQ_INT(progress_enabled(1), 0);
    progress p;
    progress_init(&p, "x", 10, 1);
    CHECK_EQ_INT(p.enabled, 0);
    CHECK_EQ_INT(p.total, 10);
    CHECK_EQ_STR(p.label, "x");
}

/* Run fn in a child whose stderr is a pseudo-terminal; return what it drew
 * (malloc'd), or NULL when no pty is available. *code gets the exit status. */
static char *run_on_pty(void (*fn)(int), int arg, int *code)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
        if (m >= 0) close(m);
        return NULL;
    }
    const char *name = ptsname(m);
    int s = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (s < 0) {
        close(m);
        return NULL;
    }
    struct termios tio;
    if (tcgetattr(s, &tio) == 0) {
        cfmakeraw(&tio); /* bytes as written, no newline translation */
        tcsetattr(s, TCSANOW, &tio);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(m);
        dup2(s, 2);
        close(s);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    close(s);
    int st = 0;
    waitpid(pid, &st, 0);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    fcntl(m, F_SETFL, O_NONBLOCK);
    size_t cap = 65536, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        ssize_t got = read(m, buf + n, cap - 1 - n);
        if (got <= 0) break; /* EAGAIN when drained, EIO once the slave is gone */
        n += (size_t)got;
        if (n + 1 >= cap) break;
    }
    buf[n] = 0;
    close(m);
    return buf;
}

static void bar_half(int quiet)
{
    progress p;
    progress_init(&p, "train", 100, quiet);
    if (progress_enabled(quiet) != !quiet || p.enabled != !quiet) _exit(3);
    progress_update(&p, 50, "loss=0.91");
    progress_update(&p, 60, NULL); /* within 0.1 s of the last draw: skipped */
    progress_update(&p, 100, NULL); /* the end is always drawn */
    progress_done(&p);
}

static void counter(int quiet)
{
    progress p;
    progress_init(&p, "rows", 0, quiet);
    progress_update(&p, 1234, "x");
    progress_done(&p);
}

static void test_terminal_bar(void)
{
    int code = -1;
    char *out = run_on_pty(bar_half, 0, &code);
    if (!out) {
        printf("# no pseudo-terminal available: drawing not exercised\n");
        return;
    }
    CHECK_EQ_INT(code, 0);
    CHECK(strstr(out, "\rtrain [###############---------------]  50% 50/100 loss=0.91 eta ") == out);
    CHECK(strstr(out, "60/100") == NULL);
    CHECK(strstr(out, "\rtrain [##############################] 100% 100/100  eta 0s\033[K") != NULL);
    /* progress_done erases the line */
    size_t n = strlen(out);
    CHECK(n >= 4 && !strcmp(out + n - 4, "\r\033[K"));
    free(out);

    out = run_on_pty(counter, 0, &code);
    CHECK_EQ_INT(code, 0);
    CHECK(out && strstr(out, "\rrows 1234 x 0s\033[K") == out);
    free(out);

    /* quiet: nothing, even on a terminal */
    out = run_on_pty(bar_half, 1, &code);
    CHECK_EQ_INT(code, 0);
    CHECK_EQ_STR(out, "");
    free(out);
}

int main(void)
{
    set_progname("kml-test");
    t_run("nothing drawn when stderr is not a terminal", test_not_a_terminal);
    t_run("progress_enabled(1) == 0; quiet disables", test_quiet_disables);
    t_run("on a terminal: bar, throttling, erase; quiet draws nothing", test_terminal_bar);
    return t_done();
}
