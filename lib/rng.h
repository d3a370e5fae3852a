/* rng.h: a seeded pseudo-random generator passed by pointer.
 *
 * xoshiro256** (Blackman and Vigna), its state seeded from a 64-bit seed with
 * splitmix64, so every seed gives a well-mixed state. There is no global state:
 * every caller owns an rng_t and the same seed gives the same sequence on every
 * machine. Not for cryptography. */
#ifndef KML_RNG_H
#define KML_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_t;

void rng_seed(rng_t *r, uint64_t seed);
uint64_t rng_u64(rng_t *r);
/* Uniform on [0, 1) with 53 random bits. */
double rng_uniform(rng_t *r);
/* Uniform integer in [0, n), without modulo bias. n > 0. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Standard normal (Box-Muller on two fresh uniforms; no hidden cached value,
 * so the sequence depends only on the number of calls). */
double rng_normal(rng_t *r);
/* Gamma(shape, 1), Marsaglia-Tsang; shape > 0. */
double rng_gamma(rng_t *r, double shape);
/* Student-t with nu > 0 degrees of freedom: N(0,1) / sqrt(chi2(nu)/nu).
 * Variance nu/(nu-2) for nu > 2. */
double rng_student_t(rng_t *r, double nu);
/* Fisher-Yates shuffle of n ints. */
void rng_shuffle_int(rng_t *r, int *a, int n);

#endif
