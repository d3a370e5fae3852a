/* model.c: the six architectures of ../shared/reference/torch_models.py
 * assembled from the layers: parameter table, PyTorch's default
 * initialisation, activation buffers, forward and backward passes.
 *
 * Dimensions: B batch, T steps, F features, H hidden, G gate width, NH heads,
 * FF feed-forward width, K kernel; activations (B,T,C) channels last.
 *
 * A model is one or four "trunks" (lstm/gru, tcn, cnn, transformer), each of
 * which maps x (B,T,F) to a feature (B,H): the top RNN layer's last step, the
 * last TCN block's last step, the CNN's mean over time, the encoder's last
 * step. A single-trunk model applies head Linear(H,3) to it; the hybrid
 * concatenates the four features (B,4H), then fuse Linear(4H,H), ReLU, head.
 * Dropout (cfg.dropout, training only) acts on the head's input and between
 * stacked RNN layers; with 0 (the reference) the model is exactly PyTorch's. */
#include "nn/nn_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/layers.h"
#include "util.h"

/* ---------------------------------------------------------------- config */

int nn_config_default(nn_config *cfg, const char *arch)
{
    static const char *archs[] = {"lstm", "gru", "tcn", "cnn", "transformer", "hybrid"};
    int known = 0;
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++) known |= !strcmp(arch, archs[i]);
    if (!known) return -1;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "%s", arch);
    cfg->T = 64, cfg->F = 32, cfg->H = 64;
    cfg->layers = 2, cfg->heads = 4, cfg->ff = 128, cfg->levels = 4;
    cfg->kernel = !strcmp(arch, "tcn") ? 3 : !strcmp(arch, "cnn") ? 5 : 0;
    cfg->dropout = 0;
    return 0;
}

/* Kernel of the TCN and the CNN: cfg.kernel when set, else 3 and 5. */
static int tcn_kernel(const nn_config *c) { return c->kernel > 0 ? c->kernel : 3; }
static int cnn_kernel(const nn_config *c) { return c->kernel > 0 ? c->kernel : 5; }

int nn_config_check(const nn_config *c, char *err, size_t n)
{
    nn_config d;
    const char *a = c->arch;
#define BAD(...) return snprintf(err, n, __VA_ARGS__), -1
    if (nn_config_default(&d, a) < 0) BAD("unknown architecture '%s' (lstm, gru, tcn, cnn, transformer, hybrid)", a);
    if (c->T < 1 || c->T > 100000) BAD("T must be in [1, 100000], not %d", c->T);
    if (c->F < 1 || c->F > 100000) BAD("F must be in [1, 100000], not %d", c->F);
    if (c->H < 1 || c->H > 100000) BAD("H must be in [1, 100000], not %d", c->H);
    if (!(c->dropout >= 0 && c->dropout < 1)) BAD("dropout must be in [0, 1), not %g", c->dropout);
    int rnn = !strcmp(a, "lstm") || !strcmp(a, "gru"), tf = !strcmp(a, "transformer"), hy = !strcmp(a, "hybrid");
    int tcn = !strcmp(a, "tcn") || hy, cnn = !strcmp(a, "cnn") || hy;
    if ((rnn || tf || hy) && (c->layers < 1 || c->layers > NN_MAX_LAYERS))
        BAD("layers must be in [1, %d], not %d", NN_MAX_LAYERS, c->layers);
    if (tf || hy) {
        if (c->heads < 1 || c->H % c->heads) BAD("heads (%d) must divide H (%d)", c->heads, c->H);
        if (c->ff < 1 || c->ff > 100000) BAD("ff must be in [1, 100000], not %d", c->ff);
    }
    if (c->kernel < 0 || c->kernel > 64) BAD("kernel must be in [0, 64], not %d", c->kernel);
    if (tcn && (c->levels < 1 || c->levels > NN_MAX_LEVELS))
        BAD("levels must be in [1, %d], not %d", NN_MAX_LEVELS, c->levels);
    if (cnn) {
        int k = cnn_kernel(c), t1 = c->T + 2 * (k / 2) - (k - 1), t2 = t1 / 2, t3 = t2 + 2 * (k / 2) - (k - 1);
        if (t1 < 2 || t3 < 1) BAD("T = %d is too short for the CNN (kernel %d, pool 2)", c->T, k);
    }
#undef BAD
    return 0;
}

cJSON *nn_config_json(const nn_config *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "arch", c->arch);
    cJSON_AddNumberToObject(j, "T", c->T);
    cJSON_AddNumberToObject(j, "F", c->F);
    cJSON_AddNumberToObject(j, "H", c->H);
    cJSON_AddNumberToObject(j, "layers", c->layers);
    cJSON_AddNumberToObject(j, "heads", c->heads);
    cJSON_AddNumberToObject(j, "ff", c->ff);
    cJSON_AddNumberToObject(j, "kernel", c->kernel);
    cJSON_AddNumberToObject(j, "levels", c->levels);
    cJSON_AddNumberToObject(j, "dropout", c->dropout);
    return j;
}

int nn_config_from_json(nn_config *c, const cJSON *j, char *err, size_t n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "arch");
    if (!cJSON_IsString(a)) return snprintf(err, n, "config: \"arch\" missing or not a string"), -1;
    if (nn_config_default(c, a->valuestring) < 0)
        return snprintf(err, n, "config: unknown architecture '%s'", a->valuestring), -1;
    struct { const char *k; int *p; int required; } ints[] = {
        {"T", &c->T, 1}, {"F", &c->F, 1}, {"H", &c->H, 1}, {"layers", &c->layers, 0},
        {"heads", &c->heads, 0}, {"ff", &c->ff, 0}, {"kernel", &c->kernel, 0}, {"levels", &c->levels, 0}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, ints[i].k);
        if (!v) {
            if (ints[i].required) return snprintf(err, n, "config: \"%s\" missing", ints[i].k), -1;
            continue;
        }
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e6)
            return snprintf(err, n, "config: \"%s\" is not an integer", ints[i].k), -1;
        *ints[i].p = (int)v->valuedouble;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "dropout");
    if (d) {
        if (!cJSON_IsNumber(d)) return snprintf(err, n, "config: \"dropout\" is not a number"), -1;
        c->dropout = (float)d->valuedouble;
    }
    if (nn_config_check(c, err, n) < 0) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "config: %s", err);
        snprintf(err, n, "%s", tmp);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- parameters */

enum { INIT_UNIFORM, INIT_ONES, INIT_ZEROS };

typedef struct {
    nn_model *m;
    char prefix[64];
    int init[NN_MAX_TENSORS];
    double bound[NN_MAX_TENSORS];
} reg_ctx;

/* Add tensor prefix+name of shape (d0[,d1[,d2]]) (0 ends the shape) with its
 * initialisation; returns its offset in the parameter block. */
static size_t reg(reg_ctx *r, const char *name, int d0, int d1, int d2, int init, double bound)
{
    nn_model *m = r->m;
    ASSERT(m->ntens < NN_MAX_TENSORS);
    nn_tensor *t = &m->tens[m->ntens];
    snprintf(t->name, sizeof t->name, "%s%s", r->prefix, name);
    t->shape[0] = d0, t->shape[1] = d1, t->shape[2] = d2;
    t->ndim = d2 ? 3 : d1 ? 2 : 1;
    t->n = (size_t)d0 * (d1 ? d1 : 1) * (d2 ? d2 : 1);
    t->off = m->nparams;
    r->init[m->ntens] = init, r->bound[m->ntens] = bound;
    m->ntens++;
    m->nparams += t->n;
    return t->off;
}

/* nn.Linear(I, O): weight and bias uniform in +-1/sqrt(I) (PyTorch's default:
 * kaiming_uniform with a = sqrt(5) gives exactly that bound). */
static nn_lin reg_linear(reg_ctx *r, const char *name, int I, int O)
{
    char n[96];
    nn_lin l;
    double b = 1 / sqrt((double)I);
    snprintf(n, sizeof n, "%s.weight", name), l.w = reg(r, n, O, I, 0, INIT_UNIFORM, b);
    snprintf(n, sizeof n, "%s.bias", name), l.b = reg(r, n, O, 0, 0, INIT_UNIFORM, b);
    return l;
}

/* nn.Conv1d(C, O, K): the same rule with fan-in C*K. */
static nn_lin reg_conv(reg_ctx *r, const char *name, int C, int O, int K)
{
    char n[96];
    nn_lin l;
    double b = 1 / sqrt((double)C * K);
    snprintf(n, sizeof n, "%s.weight", name), l.w = reg(r, n, O, C, K, INIT_UNIFORM, b);
    snprintf(n, sizeof n, "%s.bias", name), l.b = reg(r, n, O, 0, 0, INIT_UNIFORM, b);
    return l;
}

static void reg_rnn(reg_ctx *r, nn_trunk *tr, const nn_config *c, int gru)
{
    char n[96];
    int H = c->H, G = (gru ? 3 : 4) * H;
    double b = 1 / sqrt((double)H); /* nn.LSTM/nn.GRU: every tensor uniform in +-1/sqrt(H) */
    tr->kind = TR_RNN, tr->gru = gru, tr->L = c->layers;
    for (int l = 0; l < tr->L; l++) {
        nn_rnn_layer *L = &tr->rl[l];
        int I = l ? H : c->F;
        snprintf(n, sizeof n, "rnn.weight_ih_l%d", l), L->w_ih = reg(r, n, G, I, 0, INIT_UNIFORM, b);
        snprintf(n, sizeof n, "rnn.weight_hh_l%d", l), L->w_hh = reg(r, n, G, H, 0, INIT_UNIFORM, b);
        snprintf(n, sizeof n, "rnn.bias_ih_l%d", l), L->b_ih = reg(r, n, G, 0, 0, INIT_UNIFORM, b);
        snprintf(n, sizeof n, "rnn.bias_hh_l%d", l), L->b_hh = reg(r, n, G, 0, 0, INIT_UNIFORM, b);
    }
}

static void reg_tcn(reg_ctx *r, nn_trunk *tr, const nn_config *c)
{
    char n[96];
    tr->kind = TR_TCN, tr->L = c->levels, tr->K = tcn_kernel(c);
    for (int i = 0; i < tr->L; i++) {
        nn_tblock *b = &tr->tb[i];
        b->cin = i ? c->H : c->F, b->dil = 1 << i, b->has_down = b->cin != c->H;
        snprintf(n, sizeof n, "blocks.%d.conv1", i), b->c1 = reg_conv(r, n, b->cin, c->H, tr->K);
        snprintf(n, sizeof n, "blocks.%d.conv2", i), b->c2 = reg_conv(r, n, c->H, c->H, tr->K);
        if (b->has_down) snprintf(n, sizeof n, "blocks.%d.down", i), b->down = reg_conv(r, n, b->cin, c->H, 1);
    }
    /* the receptive cone, top down: a block's output steps are the next
     * block's input steps; conv2 reads y1 at its output steps - k dil, conv1
     * reads the input at y1's steps - k dil (k < K); steps before 0 are
     * padding. All strides divide the stride above, so each set is a grid. */
    const int T = c->T, K = tr->K;
    for (int i = tr->L - 1; i >= 0; i--) {
        nn_tblock *b = &tr->tb[i];
        int d = b->dil, cap = (T - 1) / d + 1;
        b->no = i == tr->L - 1 ? 1 : tr->tb[i + 1].ni;
        b->so = i == tr->L - 1 ? d : tr->tb[i + 1].dil;
        b->n1 = (b->no - 1) * (b->so / d) + K;
        b->n1 = b->n1 < cap ? b->n1 : cap;
        b->ni = b->n1 + K - 1 < cap ? b->n1 + K - 1 : cap;
    }
}

static void reg_cnn(reg_ctx *r, nn_trunk *tr, const nn_config *c)
{
    int k = cnn_kernel(c);
    tr->kind = TR_CNN, tr->K = k;
    tr->T1 = c->T + 2 * (k / 2) - (k - 1), tr->T2 = tr->T1 / 2, tr->T3 = tr->T2 + 2 * (k / 2) - (k - 1);
    tr->conv1 = reg_conv(r, "conv1", c->F, c->H, k);
    tr->conv2 = reg_conv(r, "conv2", c->H, c->H, k);
}

static void reg_transformer(reg_ctx *r, nn_trunk *tr, const nn_config *c)
{
    char n[96];
    int H = c->H;
    tr->kind = TR_TF, tr->L = c->layers, tr->NH = c->heads, tr->FF = c->ff;
    tr->proj = reg_linear(r, "proj", c->F, H);
    for (int l = 0; l < tr->L; l++) {
        nn_enc_layer *e = &tr->enc[l];
        /* MultiheadAttention: in_proj xavier-uniform (fan 4H over the (3H,H)
         * matrix), biases 0; out_proj is a Linear whose bias is then zeroed. */
        snprintf(n, sizeof n, "enc.layers.%d.self_attn.in_proj_weight", l);
        e->in.w = reg(r, n, 3 * H, H, 0, INIT_UNIFORM, sqrt(6.0 / (H + 3 * H)));
        snprintf(n, sizeof n, "enc.layers.%d.self_attn.in_proj_bias", l), e->in.b = reg(r, n, 3 * H, 0, 0, INIT_ZEROS, 0);
        snprintf(n, sizeof n, "enc.layers.%d.self_attn.out_proj.weight", l);
        e->out.w = reg(r, n, H, H, 0, INIT_UNIFORM, 1 / sqrt((double)H));
        snprintf(n, sizeof n, "enc.layers.%d.self_attn.out_proj.bias", l), e->out.b = reg(r, n, H, 0, 0, INIT_ZEROS, 0);
        snprintf(n, sizeof n, "enc.layers.%d.linear1", l), e->l1 = reg_linear(r, n, H, c->ff);
        snprintf(n, sizeof n, "enc.layers.%d.linear2", l), e->l2 = reg_linear(r, n, c->ff, H);
        snprintf(n, sizeof n, "enc.layers.%d.norm1.weight", l), e->n1.w = reg(r, n, H, 0, 0, INIT_ONES, 0);
        snprintf(n, sizeof n, "enc.layers.%d.norm1.bias", l), e->n1.b = reg(r, n, H, 0, 0, INIT_ZEROS, 0);
        snprintf(n, sizeof n, "enc.layers.%d.norm2.weight", l), e->n2.w = reg(r, n, H, 0, 0, INIT_ONES, 0);
        snprintf(n, sizeof n, "enc.layers.%d.norm2.bias", l), e->n2.b = reg(r, n, H, 0, 0, INIT_ZEROS, 0);
    }
}

nn_model *nn_create(const nn_config *cfg, uint64_t seed)
{
    char err[256];
    if (nn_config_check(cfg, err, sizeof err) < 0) {
        warn("%s", err);
        return NULL;
    }
    nn_model *m = xcalloc(1, sizeof *m);
    reg_ctx *r = xcalloc(1, sizeof *r);
    r->m = m;
    m->cfg = *cfg;
    const char *a = cfg->arch;
    m->hybrid = !strcmp(a, "hybrid");
    if (m->hybrid) {
        /* the reference's order: tcn, cnn, lstm, transformer, fuse, head */
        snprintf(r->prefix, sizeof r->prefix, "tcn."), reg_tcn(r, &m->tr[0], cfg);
        snprintf(r->prefix, sizeof r->prefix, "cnn."), reg_cnn(r, &m->tr[1], cfg);
        snprintf(r->prefix, sizeof r->prefix, "lstm."), reg_rnn(r, &m->tr[2], cfg, 0);
        snprintf(r->prefix, sizeof r->prefix, "transformer."), reg_transformer(r, &m->tr[3], cfg);
        r->prefix[0] = 0;
        m->ntr = 4;
        m->fuse = reg_linear(r, "fuse", 4 * cfg->H, cfg->H);
    } else {
        m->ntr = 1;
        if (!strcmp(a, "lstm") || !strcmp(a, "gru")) reg_rnn(r, &m->tr[0], cfg, !strcmp(a, "gru"));
        else if (!strcmp(a, "tcn")) reg_tcn(r, &m->tr[0], cfg);
        else if (!strcmp(a, "cnn")) reg_cnn(r, &m->tr[0], cfg);
        else reg_transformer(r, &m->tr[0], cfg);
    }
    m->head = reg_linear(r, "head", cfg->H, 3);
    m->params = xcalloc(m->nparams, sizeof(float));
    m->grads = xcalloc(m->nparams, sizeof(float));
    m->m = xcalloc(m->nparams, sizeof(float));
    m->v = xcalloc(m->nparams, sizeof(float));
    rng_t rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < m->ntens; i++) {
        float *p = m->params + m->tens[i].off;
        for (size_t j = 0; j < m->tens[i].n; j++)
            p[j] = r->init[i] == INIT_ONES ? 1
                 : r->init[i] == INIT_ZEROS ? 0
                 : (float)(r->bound[i] * (2 * rng_uniform(&rng) - 1));
    }
    free(r);
    m->pe = xmalloc(sizeof(float) * cfg->T * cfg->H);
    sinusoid_table(m->pe, cfg->T, cfg->H);
    return m;
}

void nn_free(nn_model *m)
{
    if (!m) return;
    nn_par_free(m);
    free(m->params), free(m->grads), free(m->m), free(m->v), free(m->pe);
    free(m->abuf), free(m->zbuf), free(m->sbuf);
    free(m);
}

const nn_config *nn_get_config(const nn_model *m) { return &m->cfg; }
size_t nn_num_params(const nn_model *m) { return m->nparams; }
float *nn_params(nn_model *m) { return m->params; }

/* ---------------------------------------------------------------- buffers */

typedef struct {
    float *base;
    size_t used;
} arena;

/* n floats from a (NULL while sizing). */
static float *take(arena *a, size_t n)
{
    float *p = a->base ? a->base + a->used : NULL;
    a->used += (n + 15) & ~(size_t)15; /* 64-byte steps keep every buffer aligned */
    return p;
}

/* Lay every buffer of the model out for batch B in the three arenas. */
static void layout(nn_model *m, int B, arena *A, arena *Z, arena *S)
{
    const nn_config *c = &m->cfg;
    const size_t T = c->T, H = c->H, BT = (size_t)B * T, BH = (size_t)B * H;
    size_t dcol = 0;
    for (int k = 0; k < m->ntr; k++) {
        nn_trunk *tr = &m->tr[k];
        tr->feat = take(A, BH), tr->dfeat = take(Z, BH);
        if (tr->kind == TR_RNN) {
            size_t G = (tr->gru ? 3 : 4) * H;
            for (int l = 0; l < tr->L; l++) {
                nn_rnn_layer *L = &tr->rl[l];
                L->h = take(A, BT * H), L->g = take(A, BT * G);
                L->c = tr->gru ? NULL : take(A, BT * H);
                L->hn = tr->gru ? take(A, BT * H) : NULL;
                L->dh = take(Z, BT * H);
                int drop = c->dropout > 0 && l < tr->L - 1;
                L->mask = drop ? take(A, BT * H) : NULL, L->hd = drop ? take(A, BT * H) : NULL;
                L->dhd = drop ? take(Z, BT * H) : NULL;
            }
            tr->gh = take(S, B * G), tr->dg1 = take(S, BT * G), tr->dg2 = take(S, BT * G);
            tr->dc = take(S, BH + G);
            tr->wt = take(S, H * G);
        } else if (tr->kind == TR_TCN) {
            for (int i = 0; i < tr->L; i++) {
                nn_tblock *b = &tr->tb[i];
                size_t ck = (size_t)b->cin * tr->K, Bo = (size_t)B * b->no, B1 = (size_t)B * b->n1;
                b->col1 = take(A, B1 * ck), b->y1 = take(A, B1 * H), b->col2 = take(A, Bo * H * tr->K);
                b->y2 = take(A, Bo * H), b->out = take(A, Bo * H);
                b->cold = b->has_down ? take(A, Bo * b->cin) : NULL, b->res = b->has_down ? take(A, Bo * H) : NULL;
                b->dout = take(Z, Bo * H), b->dsum = take(Z, Bo * H), b->dy2 = take(Z, Bo * H);
                b->dy2p = take(Z, Bo * H), b->dy1 = take(Z, B1 * H), b->dy1p = take(Z, B1 * H);
                b->dres = take(Z, Bo * H);
                dcol = B1 * ck > dcol ? B1 * ck : dcol;
                dcol = Bo * H * tr->K > dcol ? Bo * H * tr->K : dcol;
                dcol = Bo * b->cin > dcol ? Bo * b->cin : dcol;
            }
            tr->dcol = take(S, dcol);
        } else if (tr->kind == TR_CNN) {
            size_t K = tr->K;
            tr->ccol1 = take(A, (size_t)B * tr->T1 * c->F * K), tr->cy1 = take(A, (size_t)B * tr->T1 * H);
            tr->cp = take(A, (size_t)B * tr->T2 * H), tr->carg = (int *)take(A, (size_t)B * tr->T2 * H);
            tr->ccol2 = take(A, (size_t)B * tr->T3 * H * K), tr->cy2 = take(A, (size_t)B * tr->T3 * H);
            tr->dcy1 = take(Z, (size_t)B * tr->T1 * H), tr->dcy1p = take(Z, (size_t)B * tr->T1 * H);
            tr->dcp = take(Z, (size_t)B * tr->T2 * H), tr->dcy2 = take(Z, (size_t)B * tr->T3 * H);
            tr->dcy2p = take(Z, (size_t)B * tr->T3 * H);
            size_t n1 = (size_t)B * tr->T1 * c->F * K, n2 = (size_t)B * tr->T3 * H * K;
            tr->dcol = take(S, n1 > n2 ? n1 : n2);
            tr->cwp = take(S, 2 * H * (c->F > (int)H ? (size_t)c->F : H) * K);
        } else {
            size_t FF = tr->FF;
            tr->x0 = take(A, BT * H), tr->dx0 = take(Z, BT * H);
            for (int l = 0; l < tr->L; l++) {
                nn_enc_layer *e = &tr->enc[l];
                /* the top layer works on the last step only after its keys and values: (B,H) rows */
                const int top = l == tr->L - 1;
                const size_t R = top ? (size_t)B : BT, natt = (size_t)B * tr->NH * T * (top ? 1 : T);
                e->qkv = take(A, BT * 3 * H), e->att = take(A, natt), e->ctx = take(A, R * H);
                e->ao = take(A, R * H), e->r1 = take(A, R * H), e->x1 = take(A, R * H);
                e->m1 = take(A, R), e->s1 = take(A, R), e->f1 = take(A, R * FF), e->f2 = take(A, R * H);
                e->r2 = take(A, R * H), e->x2 = take(A, R * H), e->m2 = take(A, R), e->s2 = take(A, R);
                e->dqkv = take(Z, BT * 3 * H), e->dctx = take(Z, R * H), e->dao = take(Z, R * H);
                e->dr1 = take(Z, R * H), e->dx1 = take(Z, R * H), e->df1 = take(Z, R * FF);
                e->df1p = take(Z, R * FF), e->df2 = take(Z, R * H), e->dr2 = take(Z, R * H);
                e->dx2 = take(Z, R * H);
            }
            tr->datt = take(S, T * T);
        }
    }
    if (m->hybrid) {
        m->z = take(A, 4 * BH), m->u = take(A, BH);
        m->dz = take(Z, 4 * BH), m->du = take(Z, BH);
    }
    m->hmask = take(A, BH), m->hd = take(A, BH), m->dhd = take(Z, BH), m->dhin = take(Z, BH);
    m->logits = take(A, (size_t)B * 3), m->probs = take(A, (size_t)B * 3), m->dlogits = take(Z, (size_t)B * 3);
}

void nn_reserve(nn_model *m, int B)
{
    ASSERT(B >= 1);
    if (B <= m->cap) return;
    arena A = {0}, Z = {0}, S = {0};
    layout(m, B, &A, &Z, &S);
    free(m->abuf), free(m->zbuf), free(m->sbuf);
    m->an = A.used, m->zn = Z.used, m->sn = S.used;
    m->abuf = xcalloc(m->an, sizeof(float)), m->zbuf = xcalloc(m->zn, sizeof(float)), m->sbuf = xcalloc(m->sn, sizeof(float));
    A = (arena){m->abuf, 0}, Z = (arena){m->zbuf, 0}, S = (arena){m->sbuf, 0};
    layout(m, B, &A, &Z, &S);
    m->cap = B;
}

/* ---------------------------------------------------------------- forward */

static void rnn_forward(nn_model *m, nn_trunk *tr, const float *x, int B, int train, rng_t *rng)
{
    const nn_config *c = &m->cfg;
    int T = c->T, H = c->H;
    const float *in = x;
    int I = c->F;
    for (int l = 0; l < tr->L; l++) {
        nn_rnn_layer *L = &tr->rl[l];
        if (tr->gru)
            gru_forward(L->h, L->g, L->hn, tr->gh, tr->wt, in, P(m, L->w_ih), P(m, L->w_hh), P(m, L->b_ih),
                        P(m, L->b_hh), B, T, I, H);
        else
            lstm_forward(L->h, L->c, L->g, tr->wt, in, P(m, L->w_ih), P(m, L->w_hh), P(m, L->b_ih), P(m, L->b_hh),
                         B, T, I, H);
        in = L->h, I = H;
        if (train && L->mask) {
            dropout_forward(L->hd, L->mask, L->h, (long)B * T * H, c->dropout, rng);
            in = L->hd;
        }
    }
    laststep_forward(tr->feat, tr->rl[tr->L - 1].h, B, T, H);
}

/* Row r of a (s, n) buffer ending at T-1 that holds step t (on its grid). */
static int step_row(int t, int T, int s, int n) { return n - 1 - (T - 1 - t) / s; }

static void tcn_forward(nn_model *m, nn_trunk *tr, const float *x, int B)
{
    const int T = m->cfg.T, H = m->cfg.H, K = tr->K;
    const float *in = x;
    int si = 1, ni = T; /* x: every step */
    for (int i = 0; i < tr->L; i++) {
        nn_tblock *b = &tr->tb[i];
        const int d = b->dil, pad = (K - 1) * d, no = b->no, n1 = b->n1; /* causal: pad on the left only */
        const long n = (long)B * no * H;
        conv1d_steps_forward(b->y1, b->col1, in, P(m, b->c1.w), P(m, b->c1.b), B, T, b->cin, H, K, d, pad, si, ni,
                             d, n1);
        relu_forward(b->y1, b->y1, (long)B * n1 * H);
        conv1d_steps_forward(b->y2, b->col2, b->y1, P(m, b->c2.w), P(m, b->c2.b), B, T, H, H, K, d, pad, d, n1,
                             b->so, no);
        relu_forward(b->y2, b->y2, n);
        if (b->has_down) {
            conv1d_steps_forward(b->res, b->cold, in, P(m, b->down.w), P(m, b->down.b), B, T, b->cin, H, 1, 1, 0,
                                 si, ni, b->so, no);
            residual_forward(b->out, b->y2, b->res, n);
        } else {
            for (int bb = 0; bb < B; bb++)
                for (int j = 0; j < no; j++) {
                    int r = step_row(T - 1 - (no - 1 - j) * b->so, T, si, ni);
                    residual_forward(b->out + ((long)bb * no + j) * H, b->y2 + ((long)bb * no + j) * H,
                                     in + ((long)bb * ni + r) * H, H);
                }
        }
        relu_forward(b->out, b->out, n);
        in = b->out, si = b->so, ni = no;
    }
    memcpy(tr->feat, in, sizeof(float) * B * H); /* the top block's one step */
}

static void cnn_forward(nn_model *m, nn_trunk *tr, const float *x, int B)
{
    const int T = m->cfg.T, F = m->cfg.F, H = m->cfg.H, K = tr->K;
    conv1d_forward(tr->cy1, tr->ccol1, tr->cwp, x, P(m, tr->conv1.w), P(m, tr->conv1.b), B, T, F, H, K, 1, K / 2,
                   tr->T1);
    relu_forward(tr->cy1, tr->cy1, (long)B * tr->T1 * H);
    maxpool_forward(tr->cp, tr->carg, tr->cy1, B, tr->T1, H);
    conv1d_forward(tr->cy2, tr->ccol2, tr->cwp, tr->cp, P(m, tr->conv2.w), P(m, tr->conv2.b), B, tr->T2, H, H, K, 1,
                   K / 2, tr->T3);
    relu_forward(tr->cy2, tr->cy2, (long)B * tr->T3 * H);
    meantime_forward(tr->feat, tr->cy2, B, tr->T3, H);
}

/* Rows r (B of them) with row stride ld: columns 0..n-1 set to bias b (n),
 * for a product to be added to (as linear_forward: no BLAS zeroing pass). */
static void set_bias(float *y, long ld, int rows, const float *b, int n)
{
    for (int r = 0; r < rows; r++) memcpy(y + r * ld, b, sizeof(float) * n);
}

/* PyTorch's TransformerEncoderLayer, post-norm, ReLU, no dropout:
 * x1 = norm1(x + out_proj(attn(in_proj(x)))), x2 = norm2(x1 + linear2(relu(linear1(x1)))).
 * The head reads the top layer's last step only, so the top layer computes
 * its query, attention, out_proj, norms and feed-forward at step T-1 alone
 * (keys and values at every step): rows (B,H) instead of (B,T,H). The other
 * steps of the top layer cannot reach the loss. */
static void enc_layer_forward(nn_model *m, nn_trunk *tr, nn_enc_layer *e, const float *in, int B, int last)
{
    const int T = m->cfg.T, H = m->cfg.H, BT = B * T;
    const float *w = P(m, e->in.w), *bias = P(m, e->in.b);
    const float *res = in;
    int N = BT; /* rows of everything after the attention */
    if (!last) {
        linear_forward(e->qkv, in, w, bias, BT, H, 3 * H);
        mha_forward(e->ctx, e->att, e->qkv, B, T, H, tr->NH, 0);
    } else {
        /* k, v at every step: columns H..3H of qkv from rows H..3H of in_proj */
        set_bias(e->qkv + H, 3 * H, BT, bias + H, 2 * H);
        nn_sgemm(0, 1, BT, 2 * H, H, 1, in, H, w + (long)H * H, H, 1, e->qkv + H, 3 * H);
        /* q at step T-1 */
        set_bias(e->qkv + (long)(T - 1) * 3 * H, (long)T * 3 * H, B, bias, H);
        nn_sgemm(0, 1, B, H, H, 1, in + (long)(T - 1) * H, T * H, w, H, 1, e->qkv + (long)(T - 1) * 3 * H, T * 3 * H);
        mha_last_forward(e->ctx, e->att, e->qkv, B, T, H, tr->NH);
        for (int b = 0; b < B; b++) /* the residual's input at T-1, in x2 until norm2 writes it */
            memcpy(e->x2 + (long)b * H, in + ((long)b * T + T - 1) * H, sizeof(float) * H);
        res = e->x2;
        N = B;
    }
    linear_forward(e->ao, e->ctx, P(m, e->out.w), P(m, e->out.b), N, H, H);
    residual_forward(e->r1, res, e->ao, (long)N * H);
    layernorm_forward(e->x1, e->m1, e->s1, e->r1, P(m, e->n1.w), P(m, e->n1.b), N, H);
    linear_forward(e->f1, e->x1, P(m, e->l1.w), P(m, e->l1.b), N, H, tr->FF);
    relu_forward(e->f1, e->f1, (long)N * tr->FF);
    linear_forward(e->f2, e->f1, P(m, e->l2.w), P(m, e->l2.b), N, tr->FF, H);
    residual_forward(e->r2, e->x1, e->f2, (long)N * H);
    layernorm_forward(e->x2, e->m2, e->s2, e->r2, P(m, e->n2.w), P(m, e->n2.b), N, H);
}

static void tf_forward(nn_model *m, nn_trunk *tr, const float *x, int B)
{
    const int T = m->cfg.T, F = m->cfg.F, H = m->cfg.H, BT = B * T;
    linear_forward(tr->x0, x, P(m, tr->proj.w), P(m, tr->proj.b), BT, F, H);
    for (int b = 0; b < B; b++) residual_forward(tr->x0 + (long)b * T * H, tr->x0 + (long)b * T * H, m->pe, (long)T * H);
    const float *in = tr->x0;
    for (int l = 0; l < tr->L; l++) {
        enc_layer_forward(m, tr, &tr->enc[l], in, B, l == tr->L - 1);
        in = tr->enc[l].x2;
    }
    memcpy(tr->feat, in, sizeof(float) * B * H); /* the top layer's (B,H) rows at T-1 */
}

void nn_forward(nn_model *m, const float *x, int B, int train, rng_t *rng)
{
    const int H = m->cfg.H;
    nn_reserve(m, B);
    for (int k = 0; k < m->ntr; k++) {
        nn_trunk *tr = &m->tr[k];
        switch (tr->kind) {
        case TR_RNN: rnn_forward(m, tr, x, B, train, rng); break;
        case TR_TCN: tcn_forward(m, tr, x, B); break;
        case TR_CNN: cnn_forward(m, tr, x, B); break;
        default: tf_forward(m, tr, x, B); break;
        }
    }
    const float *hin = m->tr[0].feat;
    if (m->hybrid) {
        const float *feats[4] = {m->tr[0].feat, m->tr[1].feat, m->tr[2].feat, m->tr[3].feat};
        const int d[4] = {H, H, H, H};
        concat_forward(m->z, feats, d, 4, B);
        linear_forward(m->u, m->z, P(m, m->fuse.w), P(m, m->fuse.b), B, 4 * H, H);
        relu_forward(m->u, m->u, (long)B * H);
        hin = m->u;
    }
    if (train && m->cfg.dropout > 0) {
        dropout_forward(m->hd, m->hmask, hin, (long)B * H, m->cfg.dropout, rng);
        hin = m->hd;
    }
    linear_forward(m->logits, hin, P(m, m->head.w), P(m, m->head.b), B, H, 3);
}

/* ---------------------------------------------------------------- backward */

static void rnn_backward(nn_model *m, nn_trunk *tr, const float *x, int B, int train)
{
    const nn_config *c = &m->cfg;
    int T = c->T, H = c->H;
    laststep_backward(tr->rl[tr->L - 1].dh, tr->dfeat, B, T, H);
    for (int l = tr->L - 1; l >= 0; l--) {
        nn_rnn_layer *L = &tr->rl[l], *Lp = l ? &tr->rl[l - 1] : NULL;
        int dropped = Lp && train && Lp->mask;
        const float *in = !Lp ? x : dropped ? Lp->hd : Lp->h;
        float *din = !Lp ? NULL : dropped ? Lp->dhd : Lp->dh;
        int I = Lp ? H : c->F;
        if (tr->gru)
            gru_backward(din, G(m, L->w_ih), G(m, L->w_hh), G(m, L->b_ih), G(m, L->b_hh), L->dh, tr->dg1, tr->dg2,
                         L->h, L->g, L->hn, in, P(m, L->w_ih), P(m, L->w_hh), B, T, I, H);
        else
            lstm_backward(din, G(m, L->w_ih), G(m, L->w_hh), G(m, L->b_ih), G(m, L->b_hh), L->dh, tr->dg1, tr->dc,
                          L->h, L->c, L->g, in, P(m, L->w_ih), P(m, L->w_hh), B, T, I, H);
        if (dropped) dropout_backward(Lp->dh, Lp->dhd, Lp->mask, (long)B * T * H);
    }
}

static void tcn_backward(nn_model *m, nn_trunk *tr, const float *x, int B)
{
    const int T = m->cfg.T, H = m->cfg.H, K = tr->K;
    residual_backward(tr->tb[tr->L - 1].dout, NULL, tr->dfeat, (long)B * H);
    for (int i = tr->L - 1; i >= 0; i--) {
        nn_tblock *b = &tr->tb[i];
        float *din = i ? tr->tb[i - 1].dout : NULL;
        const int d = b->dil, pad = (K - 1) * d, no = b->no, n1 = b->n1;
        const int si = i ? tr->tb[i - 1].so : 1, ni = i ? tr->tb[i - 1].no : T;
        const long n = (long)B * no * H;
        relu_backward(b->dsum, b->dout, b->out, n);
        residual_backward(b->dy2, b->dres, b->dsum, n);
        relu_backward(b->dy2p, b->dy2, b->y2, n);
        conv1d_steps_backward(b->dy1, G(m, b->c2.w), G(m, b->c2.b), tr->dcol, b->dy2p, b->col2, P(m, b->c2.w), B, T,
                              H, H, K, d, pad, d, n1, b->so, no);
        relu_backward(b->dy1p, b->dy1, b->y1, (long)B * n1 * H);
        conv1d_steps_backward(din, G(m, b->c1.w), G(m, b->c1.b), tr->dcol, b->dy1p, b->col1, P(m, b->c1.w), B, T,
                              b->cin, H, K, d, pad, si, ni, d, n1);
        if (b->has_down)
            conv1d_steps_backward(din, G(m, b->down.w), G(m, b->down.b), tr->dcol, b->dres, b->cold,
                                  P(m, b->down.w), B, T, b->cin, H, 1, 1, 0, si, ni, b->so, no);
        else if (din)
            for (int bb = 0; bb < B; bb++)
                for (int j = 0; j < no; j++) {
                    int r = step_row(T - 1 - (no - 1 - j) * b->so, T, si, ni);
                    residual_backward(din + ((long)bb * ni + r) * H, NULL, b->dres + ((long)bb * no + j) * H, H);
                }
    }
}

static void cnn_backward(nn_model *m, nn_trunk *tr, const float *x, int B)
{
    const int T = m->cfg.T, F = m->cfg.F, H = m->cfg.H, K = tr->K;
    meantime_backward(tr->dcy2, tr->dfeat, B, tr->T3, H);
    relu_backward(tr->dcy2p, tr->dcy2, tr->cy2, (long)B * tr->T3 * H);
    conv1d_backward(tr->dcp, G(m, tr->conv2.w), G(m, tr->conv2.b), tr->dcol, tr->cwp, tr->dcy2p, tr->ccol2, tr->cp,
                    P(m, tr->conv2.w), B, tr->T2, H, H, K, 1, K / 2, tr->T3);
    maxpool_backward(tr->dcy1, tr->dcp, tr->carg, B, tr->T1, H);
    relu_backward(tr->dcy1p, tr->dcy1, tr->cy1, (long)B * tr->T1 * H);
    conv1d_backward(NULL, G(m, tr->conv1.w), G(m, tr->conv1.b), tr->dcol, tr->cwp, tr->dcy1p, tr->ccol1, x,
                    P(m, tr->conv1.w), B, T, F, H, K, 1, K / 2, tr->T1);
}

static void enc_layer_backward(nn_model *m, nn_trunk *tr, nn_enc_layer *e, const float *in, float *din, int B,
                               int last)
{
    const int T = m->cfg.T, H = m->cfg.H, BT = B * T, N = last ? B : BT;
    layernorm_backward(e->dr2, G(m, e->n2.w), G(m, e->n2.b), e->dx2, e->r2, P(m, e->n2.w), e->m2, e->s2, N, H);
    residual_backward(e->dx1, e->df2, e->dr2, (long)N * H);
    linear_backward(e->df1, G(m, e->l2.w), G(m, e->l2.b), e->df2, e->f1, P(m, e->l2.w), N, tr->FF, H);
    relu_backward(e->df1p, e->df1, e->f1, (long)N * tr->FF);
    linear_backward(e->dx1, G(m, e->l1.w), G(m, e->l1.b), e->df1p, e->x1, P(m, e->l1.w), N, H, tr->FF);
    layernorm_backward(e->dr1, G(m, e->n1.w), G(m, e->n1.b), e->dx1, e->r1, P(m, e->n1.w), e->m1, e->s1, N, H);
    if (!last) {
        residual_backward(din, e->dao, e->dr1, (long)BT * H);
    } else {
        for (int b = 0; b < B; b++)
            residual_backward(din + ((long)b * T + T - 1) * H, NULL, e->dr1 + (long)b * H, H);
        residual_backward(e->dao, NULL, e->dr1, (long)B * H);
    }
    linear_backward(e->dctx, G(m, e->out.w), G(m, e->out.b), e->dao, e->ctx, P(m, e->out.w), N, H, H);
    const float *w = P(m, e->in.w);
    float *dw = G(m, e->in.w), *db = G(m, e->in.b);
    if (!last) {
        mha_backward(e->dqkv, tr->datt, e->dctx, e->att, e->qkv, B, T, H, tr->NH);
        linear_backward(din, dw, db, e->dqkv, in, w, BT, H, 3 * H);
        return;
    }
    mha_last_backward(e->dqkv, tr->datt, e->dctx, e->att, e->qkv, B, T, H, tr->NH);
    /* k, v (every step): columns H..3H of dqkv, rows H..3H of in_proj */
    const float *dkv = e->dqkv + H, *dq = e->dqkv + (long)(T - 1) * 3 * H;
    nn_sgemm(0, 0, BT, H, 2 * H, 1, dkv, 3 * H, w + (long)H * H, H, 1, din, H);
    nn_sgemm(1, 0, 2 * H, H, BT, 1, dkv, 3 * H, in, H, 1, dw + (long)H * H, H);
    for (int r = 0; r < BT; r++)
        for (int j = 0; j < 2 * H; j++) db[H + j] += dkv[(long)r * 3 * H + j];
    /* q (step T-1): rows with stride T*3H */
    nn_sgemm(0, 0, B, H, H, 1, dq, T * 3 * H, w, H, 1, din + (long)(T - 1) * H, T * H);
    nn_sgemm(1, 0, H, H, B, 1, dq, T * 3 * H, in + (long)(T - 1) * H, T * H, 1, dw, H);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) db[j] += dq[(long)b * T * 3 * H + j];
}

static void tf_backward(nn_model *m, nn_trunk *tr, const float *x, int B)
{
    const int T = m->cfg.T, F = m->cfg.F, H = m->cfg.H, BT = B * T;
    residual_backward(tr->enc[tr->L - 1].dx2, NULL, tr->dfeat, (long)B * H);
    for (int l = tr->L - 1; l >= 0; l--) {
        const float *in = l ? tr->enc[l - 1].x2 : tr->x0;
        float *din = l ? tr->enc[l - 1].dx2 : tr->dx0;
        enc_layer_backward(m, tr, &tr->enc[l], in, din, B, l == tr->L - 1);
    }
    linear_backward(NULL, G(m, tr->proj.w), G(m, tr->proj.b), tr->dx0, x, P(m, tr->proj.w), BT, F, H);
}

void nn_backward(nn_model *m, const float *x, int B, int train)
{
    const int H = m->cfg.H;
    ASSERT(B <= m->cap);
    const float *hin = m->hybrid ? m->u : m->tr[0].feat;
    float *dhin = m->hybrid ? m->du : m->tr[0].dfeat;
    if (train && m->cfg.dropout > 0) {
        linear_backward(m->dhd, G(m, m->head.w), G(m, m->head.b), m->dlogits, m->hd, P(m, m->head.w), B, H, 3);
        dropout_backward(dhin, m->dhd, m->hmask, (long)B * H);
    } else {
        linear_backward(dhin, G(m, m->head.w), G(m, m->head.b), m->dlogits, hin, P(m, m->head.w), B, H, 3);
    }
    if (m->hybrid) {
        float *dfeats[4] = {m->tr[0].dfeat, m->tr[1].dfeat, m->tr[2].dfeat, m->tr[3].dfeat};
        const int d[4] = {H, H, H, H};
        float *dpre = m->dhin; /* (B,H) gradient before the fuse ReLU */
        relu_backward(dpre, m->du, m->u, (long)B * H);
        linear_backward(m->dz, G(m, m->fuse.w), G(m, m->fuse.b), dpre, m->z, P(m, m->fuse.w), B, 4 * H, H);
        concat_backward(dfeats, m->dz, d, 4, B);
    }
    for (int k = m->ntr - 1; k >= 0; k--) {
        nn_trunk *tr = &m->tr[k];
        switch (tr->kind) {
        case TR_RNN: rnn_backward(m, tr, x, B, train); break;
        case TR_TCN: tcn_backward(m, tr, x, B); break;
        case TR_CNN: cnn_backward(m, tr, x, B); break;
        default: tf_backward(m, tr, x, B); break;
        }
    }
}

/* ---------------------------------------------------------------- API */

/* The batch is split over threads (parallel.c); OpenBLAS runs at one thread
 * inside, restored before returning. */
void nn_predict(nn_model *m, const float *x, int B, float *logits)
{
    int blas = nn_blas_single();
    nn_par_predict(m, x, B, blas, logits);
    nn_blas_restore(blas);
}

float nn_eval_loss(nn_model *m, const float *x, const int *y, const float *class_w, int B)
{
    int blas = nn_blas_single();
    double loss = nn_par_eval_loss(m, x, y, class_w, B, blas);
    nn_blas_restore(blas);
    return (float)loss;
}

float nn_train_step(nn_model *m, const float *x, const int *y, const float *class_w, int B,
                    const nn_adam_cfg *opt, float lr, rng_t *rng)
{
    int blas = nn_blas_single();
    double loss = nn_par_loss_grad(m, x, y, class_w, B, blas, rng); /* the whole batch's gradient in m->grads */
    nn_optimizer_step(m, opt, lr);
    nn_blas_restore(blas);
    return (float)loss;
}
