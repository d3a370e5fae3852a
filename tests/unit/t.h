/* t.h: the small unit-test runner of krakenml's C tests.
 *
 * A test program defines static void functions and calls t_run("name", fn) for
 * each, then returns t_done(). Output is TAP-like: "ok - name" or
 * "not ok - name" followed by "#   file:line: ..." lines for each failed check;
 * tests/run.sh counts these. A program exits non-zero when any check failed.
 *
 * t_expect_exit() runs a function in a child process (fork) with optional stdin
 * text, and checks its exit code and that its stderr contains a substring; this
 * is how die() paths are tested without killing the test program. */
#ifndef KML_T_H
#define KML_T_H

#include <math.h>
#include <stdio.h>
#include <string.h>

extern int t_fail_in_test; /* checks failed in the running test */

void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void t_run(const char *name, void (*fn)(void));
int t_done(void);
/* Fork; in the child: feed stdin_text (NULL: /dev/null) on stdin, run fn(arg),
 * exit 0 if it returns. In the parent: check the exit code equals code and, when
 * stderr_sub is non-NULL, that stderr contains it. Returns 1 when both hold. */
int t_expect_exit_at(const char *file, int line, void (*fn)(void *), void *arg, const char *stdin_text,
                     int code, const char *stderr_sub);
#define t_expect_exit(fn, arg, stdin_text, code, sub) \
    t_expect_exit_at(__FILE__, __LINE__, fn, arg, stdin_text, code, sub)
/* Write text to a fresh temporary file; returns its path (static storage is not
 * used: the caller frees). */
char *t_tmpfile(const char *text);
char *t_tmpdir(void);
/* Directory of the real market data (../shared/data), or NULL when absent. */
const char *t_data_dir(void);

#define CHECK(c) \
    do { if (!(c)) t_fail(__FILE__, __LINE__, "CHECK(%s) failed", #c); } while (0)
#define CHECK_EQ_INT(a, b) \
    do { long long _a = (a), _b = (b); \
         if (_a != _b) t_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, _a, _b); } while (0)
#define CHECK_EQ_STR(a, b) \
    do { const char *_a = (a), *_b = (b); \
         if (!_a || !_b || strcmp(_a, _b)) t_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define CHECK_NEAR(a, b, tol) \
    do { double _a = (a), _b = (b), _t = (tol); \
         if (!(fabs(_a - _b) <= _t)) t_fail(__FILE__, __LINE__, "%s == %.17g, expected %.17g (tol %g)", #a, _a, _b, _t); } while (0)
#define CHECK_REL(a, b, rtol) \
    do { double _a = (a), _b = (b), _t = (rtol); \
         if (!(fabs(_a - _b) <= _t * fmax(fabs(_b), 1e-300))) t_fail(__FILE__, __LINE__, "%s == %.17g, expected %.17g (rel tol %g)", #a, _a, _b, _t); } while (0)

#endif
