/* dtoa.h: fast shortest round-trip printing of doubles.
 *
 * ta_fmt_double() writes exactly the text lib/util.c's fmt_double_ref() writes (the
 * shortest of "%.15g", "%.16g", "%.17g" that reads back as the same double),
 * about 100 times faster (~12 ns against ~1.2 us on the features of
 * XBTUSD_60): x = m 2^e is scaled to 17 digits exactly in 128-bit integers,
 * so the p-digit rounding and the round-trip question (the decimal's
 * distance to x against half the gap to x's neighbours) are exact integer
 * comparisons. For exact ties, |x| outside [1e-16, 1e17), NaN and Inf it
 * calls fmt_double_ref() itself, so the result is never different. buf needs 40
 * bytes (the text is at most 24; the rest may be used as scratch); returns
 * the length written. */
#ifndef KML_TA_DTOA_H
#define KML_TA_DTOA_H

#include <stdint.h>
#include <string.h>

int ta_fmt_double(char *buf, double x);
/* Each of x[0..n-1] as ',' and its text, one after the other from p (a CSV
 * row's fields after the first); returns the end. Needs 16 + 25 n bytes at p
 * (the last text may use scratch past its end); no terminating NUL. */
char *ta_fmt_doubles(char *p, const double *x, int n);

/* The decimal text of v (printf's "%lld"), no NUL; buf needs 20 bytes.
 * Returns the length. */
int ta_fmt_int(char *buf, int64_t v);

/* A column that takes few distinct values (the time of day, the weekday) is
 * printed through a memo of the texts of its recent values, keyed by the
 * double's bits: the same text as ta_fmt_double, without redoing it.
 * Zero-initialise (or ta_fmt_memo_init) before use. */
typedef struct {
    struct {
        uint64_t bits;
        int len;       /* 0: empty */
        char text[44]; /* ',' and the text (and fmt scratch past it: 40 bytes) */
    } e[64];
} ta_fmt_memo;
void ta_fmt_memo_init(ta_fmt_memo *m);
/* Entry i made to hold the text of the double with these bits (the miss
 * path of ta_fmt_memo_double). */
void ta_fmt_memo_fill(ta_fmt_memo *m, unsigned i, uint64_t bits);
/* ',' and x's text at p, as ta_fmt_doubles(p, &x, 1) writes them; returns
 * the end. Needs 40 bytes at p. Inline: a hit is a hash, a compare and a
 * copy. */
static inline char *ta_fmt_memo_double(ta_fmt_memo *m, char *p, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    /* Fibonacci hashing: the top 6 bits of bits times 2^64 / golden ratio */
    unsigned i = (unsigned)((bits * 0x9E3779B97F4A7C15ULL) >> 58);
    if (m->e[i].len == 0 || m->e[i].bits != bits) ta_fmt_memo_fill(m, i, bits);
    memcpy(p, m->e[i].text, 32); /* the text is at most 25 bytes */
    return p + m->e[i].len;
}

#endif
