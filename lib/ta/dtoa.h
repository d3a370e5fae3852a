/* dtoa.h: fast shortest round-trip printing of doubles.
 *
 * ta_fmt_double() writes exactly the text lib/util.c's fmt_double() writes (the
 * shortest of "%.15g", "%.16g", "%.17g" that reads back as the same double),
 * about ten times faster: the digits come from one long-double product, and
 * the round-trip question is answered by comparing the decimal's distance to x
 * with half the gap to x's neighbours. Wherever the long-double error could
 * decide either question (a rounding within 2e-2 units of a half, a distance
 * within a margin of the half gap, exponents beyond 10^+-27, zero, NaN, Inf),
 * it calls fmt_double() itself, so the result is never different. buf needs
 * 32 bytes; returns the length written. */
#ifndef KML_TA_DTOA_H
#define KML_TA_DTOA_H

int ta_fmt_double(char *buf, double x);

#endif
