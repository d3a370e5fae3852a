/* simd_body.h: the kernels of simd.h, included three times by simd.c, each
 * time under another `#pragma GCC target` and with SIMD_FN(name) giving the
 * names their suffix. No include guard on purpose.
 *
 * vf is 16 floats; GCC maps it to one AVX-512 register, two AVX2 or four
 * SSE2 ones. A row of H is done 16 units at a time; the last, shorter
 * chunk is loaded into a zero-padded vector, so every element goes through
 * the same lanes' arithmetic whatever its position. */

/* n (<= VW) floats from p, the rest 0 (a full vector: one unaligned load) */
static inline __attribute__((always_inline)) vf SIMD_FN(ld)(const float *p, int n)
{
    if (n == VW) return *(const vfu *)p;
    vf v = {0};
    memcpy(&v, p, sizeof(float) * n);
    return v;
}
static inline __attribute__((always_inline)) void SIMD_FN(st)(float *p, vf v, int n)
{
    if (n == VW) *(vfu *)p = v;
    else memcpy(p, &v, sizeof(float) * n);
}
/* a where m is set (all ones), else b */
static inline __attribute__((always_inline)) vf SIMD_FN(sel)(vi m, vf a, vf b)
{
    return (vf)((m & (vi)a) | (~m & (vi)b));
}

/* exp (see nn_real.h for the method and accuracy), with fused multiply-adds
 * (VFMA: a*b + c rounded once). n = round(x log2 e) by adding and
 * subtracting 1.5 * 2^23, which rounds to the nearest integer (ties to even)
 * for |x log2 e| < 2^22. */
static inline __attribute__((always_inline)) vf SIMD_FN(vexp)(vf x)
{
    const vf lo = VSET(-87.0f), hi = VSET(88.0f), magic = VSET(12582912.0f);
    vf xc = SIMD_FN(sel)(x > lo, x, lo); /* a NaN becomes -87 here and is put back at the end */
    xc = SIMD_FN(sel)(xc < hi, xc, hi);
    vf n = VFMA(xc, VSET(1.44269504088896341f), magic) - magic;
    vi ni = __builtin_convertvector(n, vi);
    vf r = VFMA(n, VSET(-0.693145751953125f), xc);
    r = VFMA(n, VSET(-1.42860682030941723212e-6f), r);
    vf p = VSET(1.0f / 5040);
    p = VFMA(p, r, VSET(1.0f / 720));
    p = VFMA(p, r, VSET(1.0f / 120));
    p = VFMA(p, r, VSET(1.0f / 24));
    p = VFMA(p, r, VSET(1.0f / 6));
    p = VFMA(p, r, VSET(0.5f));
    p = VFMA(p, r, VSET(1.0f));
    p = VFMA(p, r, VSET(1.0f));
    vf y = p * (vf)((ni + 127) << 23);
    return SIMD_FN(sel)(x != x, x, y);
}
static inline __attribute__((always_inline)) vf SIMD_FN(vsig)(vf x)
{
    return 1.0f / (1.0f + SIMD_FN(vexp)(0.0f - x));
}
static inline __attribute__((always_inline)) vf SIMD_FN(vtanh)(vf x)
{
    return 2.0f * SIMD_FN(vsig)(x + x) - 1.0f;
}

#define SIMD_MAP(name, f)                                                   \
    static void SIMD_FN(name)(float *y, const float *x, int n)             \
    {                                                                       \
        for (int i = 0; i < n; i += VW) {                                   \
            int k = n - i < VW ? n - i : VW;                                \
            SIMD_FN(st)(y + i, f(SIMD_FN(ld)(x + i, k)), k);                \
        }                                                                   \
    }
SIMD_MAP(exp_n, SIMD_FN(vexp))
SIMD_MAP(sigmoid_n, SIMD_FN(vsig))
SIMD_MAP(tanh_n, SIMD_FN(vtanh))
#undef SIMD_MAP

static void SIMD_FN(lstm_fwd)(float *g, long ldg, float *c, float *h, const float *cp, long ld, int rows, int H)
{
    for (int b = 0; b < rows; b++) {
        float *gb = g + b * ldg, *cb = c + b * ld, *hb = h + b * ld;
        const float *cpb = cp ? cp + b * ld : NULL;
        /* the gates first, then the cell: two passes whose chunks do not
         * depend on each other, so the processor overlaps them (one fused
         * pass waits on each chunk's chain of exp, then tanh of c) */
        for (int j = 0; j < 2 * H; j += VW) { /* i, f */
            int k = 2 * H - j < VW ? 2 * H - j : VW;
            SIMD_FN(st)(gb + j, SIMD_FN(vsig)(SIMD_FN(ld)(gb + j, k)), k);
        }
        for (int j = 2 * H; j < 3 * H; j += VW) { /* g */
            int k = 3 * H - j < VW ? 3 * H - j : VW;
            SIMD_FN(st)(gb + j, SIMD_FN(vtanh)(SIMD_FN(ld)(gb + j, k)), k);
        }
        for (int j = 3 * H; j < 4 * H; j += VW) { /* o */
            int k = 4 * H - j < VW ? 4 * H - j : VW;
            SIMD_FN(st)(gb + j, SIMD_FN(vsig)(SIMD_FN(ld)(gb + j, k)), k);
        }
        for (int j = 0; j < H; j += VW) {
            int k = H - j < VW ? H - j : VW;
            vf i = SIMD_FN(ld)(gb + j, k), f = SIMD_FN(ld)(gb + H + j, k);
            vf gg = SIMD_FN(ld)(gb + 2 * H + j, k), o = SIMD_FN(ld)(gb + 3 * H + j, k);
            vf ct = cpb ? f * SIMD_FN(ld)(cpb + j, k) + i * gg : 0.0f + i * gg;
            SIMD_FN(st)(cb + j, ct, k);
            SIMD_FN(st)(hb + j, o * SIMD_FN(vtanh)(ct), k);
        }
    }
}

static void SIMD_FN(lstm_bwd)(float *dg, float *dc, float *db, const float *g, long ldg, const float *c,
                              const float *cp, const float *dh, long ld, int rows, int H)
{
    for (int b = 0; b < rows; b++) {
        float *dgb = dg + b * ldg, *dcb = dc + (long)b * H;
        const float *gb = g + b * ldg, *cb = c + b * ld, *dhb = dh + b * ld, *cpb = cp ? cp + b * ld : NULL;
        for (int j = 0; j < H; j += VW) {
            int k = H - j < VW ? H - j : VW;
            vf ig = SIMD_FN(ld)(gb + j, k), fg = SIMD_FN(ld)(gb + H + j, k);
            vf gg = SIMD_FN(ld)(gb + 2 * H + j, k), og = SIMD_FN(ld)(gb + 3 * H + j, k);
            vf tc = SIMD_FN(vtanh)(SIMD_FN(ld)(cb + j, k)), d = SIMD_FN(ld)(dhb + j, k);
            vf cprev = cpb ? SIMD_FN(ld)(cpb + j, k) : (vf){0};
            vf dct = SIMD_FN(ld)(dcb + j, k) + d * og * (1.0f - tc * tc);
            vf di = dct * gg * ig * (1.0f - ig), df = dct * cprev * fg * (1.0f - fg);
            vf dgg = dct * ig * (1.0f - gg * gg), dout = d * tc * og * (1.0f - og);
            SIMD_FN(st)(dgb + j, di, k), SIMD_FN(st)(dgb + H + j, df, k);
            SIMD_FN(st)(dgb + 2 * H + j, dgg, k), SIMD_FN(st)(dgb + 3 * H + j, dout, k);
            SIMD_FN(st)(dcb + j, dct * fg, k);
            /* the bias gradient: the rows' sum, added row by row */
            SIMD_FN(st)(db + j, SIMD_FN(ld)(db + j, k) + di, k);
            SIMD_FN(st)(db + H + j, SIMD_FN(ld)(db + H + j, k) + df, k);
            SIMD_FN(st)(db + 2 * H + j, SIMD_FN(ld)(db + 2 * H + j, k) + dgg, k);
            SIMD_FN(st)(db + 3 * H + j, SIMD_FN(ld)(db + 3 * H + j, k) + dout, k);
        }
    }
}

static void SIMD_FN(gru_fwd)(float *g, long ldg, float *hn, float *h, const float *hp, long ld, const float *gh,
                             const float *b_hh, int rows, int H)
{
    for (int b = 0; b < rows; b++) {
        float *gb = g + b * ldg, *hnb = hn + b * ld, *hb = h + b * ld;
        const float *ghb = gh + (long)b * 3 * H, *hpb = hp ? hp + b * ld : NULL;
        for (int j = 0; j < 2 * H; j += VW) { /* r, z: two passes, as in lstm_fwd */
            int k = 2 * H - j < VW ? 2 * H - j : VW;
            vf x = SIMD_FN(ld)(gb + j, k) + SIMD_FN(ld)(ghb + j, k) + SIMD_FN(ld)(b_hh + j, k);
            SIMD_FN(st)(gb + j, SIMD_FN(vsig)(x), k);
        }
        for (int j = 0; j < H; j += VW) {
            int k = H - j < VW ? H - j : VW;
            vf r = SIMD_FN(ld)(gb + j, k), z = SIMD_FN(ld)(gb + H + j, k);
            vf hnv = SIMD_FN(ld)(ghb + 2 * H + j, k) + SIMD_FN(ld)(b_hh + 2 * H + j, k);
            vf n = SIMD_FN(vtanh)(SIMD_FN(ld)(gb + 2 * H + j, k) + r * hnv);
            vf ht = hpb ? (1.0f - z) * n + z * SIMD_FN(ld)(hpb + j, k) : (1.0f - z) * n + 0.0f;
            SIMD_FN(st)(gb + 2 * H + j, n, k);
            SIMD_FN(st)(hnb + j, hnv, k);
            SIMD_FN(st)(hb + j, ht, k);
        }
    }
}

static void SIMD_FN(gru_bwd)(float *dx, float *dhh, float *dhp, float *dbx, float *dbh, const float *dh,
                             const float *g, long ldg, const float *hn, const float *hp, long ld, int rows, int H)
{
    for (int b = 0; b < rows; b++) {
        float *dxb = dx + b * ldg, *dhhb = dhh + b * ldg, *dhpb = dhp ? dhp + b * ld : NULL;
        const float *dhb = dh + b * ld, *gb = g + b * ldg, *hnb = hn + b * ld, *hpb = hp ? hp + b * ld : NULL;
        for (int j = 0; j < H; j += VW) {
            int k = H - j < VW ? H - j : VW;
            vf r = SIMD_FN(ld)(gb + j, k), z = SIMD_FN(ld)(gb + H + j, k), n = SIMD_FN(ld)(gb + 2 * H + j, k);
            vf d = SIMD_FN(ld)(dhb + j, k), hprev = hpb ? SIMD_FN(ld)(hpb + j, k) : (vf){0};
            vf dn = d * (1.0f - z) * (1.0f - n * n);
            vf dz = d * (hprev - n) * z * (1.0f - z);
            vf dr = dn * SIMD_FN(ld)(hnb + j, k) * r * (1.0f - r);
            SIMD_FN(st)(dxb + j, dr, k), SIMD_FN(st)(dxb + H + j, dz, k), SIMD_FN(st)(dxb + 2 * H + j, dn, k);
            SIMD_FN(st)(dhhb + j, dr, k), SIMD_FN(st)(dhhb + H + j, dz, k);
            SIMD_FN(st)(dhhb + 2 * H + j, dn * r, k);
            /* the bias gradients: the rows' sums, added row by row */
            vf sr = SIMD_FN(ld)(dbx + j, k) + dr, sz = SIMD_FN(ld)(dbx + H + j, k) + dz;
            SIMD_FN(st)(dbx + j, sr, k), SIMD_FN(st)(dbx + H + j, sz, k);
            SIMD_FN(st)(dbx + 2 * H + j, SIMD_FN(ld)(dbx + 2 * H + j, k) + dn, k);
            sr = SIMD_FN(ld)(dbh + j, k) + dr, sz = SIMD_FN(ld)(dbh + H + j, k) + dz;
            SIMD_FN(st)(dbh + j, sr, k), SIMD_FN(st)(dbh + H + j, sz, k);
            SIMD_FN(st)(dbh + 2 * H + j, SIMD_FN(ld)(dbh + 2 * H + j, k) + dn * r, k);
            if (dhpb) SIMD_FN(st)(dhpb + j, SIMD_FN(ld)(dhpb + j, k) + d * z, k);
        }
    }
}

/* Softmax of each row in place (see nn_softmax_rows), 64 rows at a time in
 * three passes (maxima, exponentials and sums, scaling), each of which works
 * on independent rows, so the processor overlaps their long chains. The
 * exponentials are multiplied by 1/sum, as PyTorch's vectorised softmax does
 * (one division a row instead of one an element: within an ulp of dividing).
 * The sum is kept in 16 partial sums whatever VW is (element i in partial
 * i mod 16: lane i mod VW of accumulator (i / VW) mod (16 / VW)), added in a
 * fixed tree, so every variant gives the same bits. */
static void SIMD_FN(softmax)(float *a, long ld, int rows, int n, int causal)
{
    const vi iota = VIOTA;
    float top[64], tot[64];
    for (int r0 = 0; r0 < rows; r0 += 64) {
        const int nr = rows - r0 < 64 ? rows - r0 : 64;
#define SM_ROW(r) (a + (long)(r0 + (r)) * ld)
#define SM_LEN(r) (causal && r0 + (r) + 1 < n ? r0 + (r) + 1 : n)
        for (int r = 0; r < nr; r++) {
            const float *row = SM_ROW(r);
            const int m = SM_LEN(r);
            vf mx = VSET(-INFINITY);
            for (int j = 0; j < m; j += VW) {
                int k = m - j < VW ? m - j : VW;
                vf v = SIMD_FN(sel)(iota < k, SIMD_FN(ld)(row + j, k), VSET(-INFINITY));
                mx = SIMD_FN(sel)(v > mx, v, mx);
            }
            float lanes[VW], t = -INFINITY;
            memcpy(lanes, &mx, sizeof lanes);
            for (int l = 0; l < VW; l++) t = lanes[l] > t ? lanes[l] : t;
            top[r] = t;
        }
        for (int r = 0; r < nr; r++) {
            float *row = SM_ROW(r);
            const int m = SM_LEN(r);
            vf acc[16 / VW];
            for (int q = 0; q < 16 / VW; q++) acc[q] = VSET(0.0f);
            for (int j = 0, q = 0; j < m; j += VW, q = (q + 1) % (16 / VW)) {
                int k = m - j < VW ? m - j : VW;
                vf e = SIMD_FN(vexp)(SIMD_FN(ld)(row + j, k) - top[r]);
                SIMD_FN(st)(row + j, e, k);
                acc[q] += SIMD_FN(sel)(iota < k, e, VSET(0.0f));
            }
            float part[16];
            memcpy(part, acc, sizeof part);
            for (int h = 8; h; h /= 2)
                for (int q = 0; q < h; q++) part[q] += part[q + h];
            tot[r] = 1 / part[0];
        }
        for (int r = 0; r < nr; r++) {
            float *row = SM_ROW(r);
            const int m = SM_LEN(r);
            for (int j = 0; j < m; j += VW) {
                int k = m - j < VW ? m - j : VW;
                SIMD_FN(st)(row + j, SIMD_FN(ld)(row + j, k) * tot[r], k);
            }
            for (int j = m; j < n; j++) row[j] = 0;
        }
#undef SM_ROW
#undef SM_LEN
    }
}

static const nn_simd_ops SIMD_FN(ops) = {
    SIMD_FN(exp_n), SIMD_FN(sigmoid_n), SIMD_FN(tanh_n), SIMD_FN(lstm_fwd), SIMD_FN(lstm_bwd),
    SIMD_FN(gru_fwd), SIMD_FN(gru_bwd), SIMD_FN(softmax),
};
