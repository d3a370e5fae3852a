/* t_capture.h: run a function in a forked child and keep its exit status,
 * stdout and stderr, for checks t_expect_exit() cannot make (whole stderr text,
 * stdout content, counting lines). Header-only so that any test program can
 * include it without a change to the build. */
#ifndef KML_T_CAPTURE_H
#define KML_T_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"

struct t_out {
    int code;       /* exit status, or -1 when killed by a signal */
    int sig;        /* the signal, or 0 */
    char out[16384];
    char err[16384];
};

static void t_slurp(int fd, char *buf, size_t cap)
{
    lseek(fd, 0, SEEK_SET);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)got;
    buf[n] = 0;
}

/* Fork; in the child stdin reads stdin_text (NULL: empty), stdout and stderr go
 * to files, fn(arg) runs and the child exits 0 when it returns. */
__attribute__((unused)) static void t_capture(void (*fn)(void *), void *arg, const char *stdin_text,
                                              struct t_out *o)
{
    char ip[] = "/tmp/kml-tc-in-XXXXXX", op[] = "/tmp/kml-tc-out-XXXXXX", ep[] = "/tmp/kml-tc-err-XXXXXX";
    int ifd = mkstemp(ip), ofd = mkstemp(op), efd = mkstemp(ep);
    if (ifd < 0 || ofd < 0 || efd < 0) {
        perror("mkstemp");
        exit(70);
    }
    if (stdin_text && write(ifd, stdin_text, strlen(stdin_text)) != (ssize_t)strlen(stdin_text)) {
        perror("write");
        exit(70);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(70);
    }
    if (pid == 0) {
        lseek(ifd, 0, SEEK_SET);
        dup2(ifd, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    o->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    o->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    t_slurp(ofd, o->out, sizeof o->out);
    t_slurp(efd, o->err, sizeof o->err);
    close(ifd);
    close(ofd);
    close(efd);
    unlink(ip);
    unlink(op);
    unlink(ep);
}

/* Number of (possibly overlapping-free) occurrences of sub in s. */
__attribute__((unused)) static int t_count(const char *s, const char *sub)
{
    int n = 0;
    size_t len = strlen(sub);
    for (const char *p = s; (p = strstr(p, sub)); p += len) n++;
    return n;
}

#endif
