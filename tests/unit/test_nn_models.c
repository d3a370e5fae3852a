/* test_nn_models.c: whole models of lib/nn.
 *
 * Gradient check of every architecture (small sizes: T=6, F=3, H=4, 2 heads,
 * ff 8, 2 TCN levels): the loss is the weighted cross-entropy of a batch of 3,
 * accumulated in double over the float model. A few elements of every tensor
 * are moved by +-h, h = 5e-3 (about the optimum for float32 central
 * differences), and (L+ - L-)/2h must match the backward pass within
 * 5e-4 + 2e-2 |g|; where it does not, the check is repeated with h = 1e-3
 * (same tolerance), because a step of 5e-3 can carry a ReLU or max-pool input
 * across its kink, where the function has no derivative. A wrong gradient
 * fails at both steps. The tight comparison of whole-model gradients is against
 * PyTorch (tests/model.bats, 1e-5); this one needs no Python.
 * Also: parameter counts equal the reference's, save/load round trip and its
 * errors, batch independence, dropout, the schedule, and learning a toy task. */
#include "t.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/layers.h"
#include "nn/nn.h"
#include "nn/nn_impl.h"
#include "rng.h"
#include "nn_toy.h"

#define FD_H 5e-3
#define FD_ATOL 5e-4
#define FD_RTOL 2e-2

static const char *archs[] = {"lstm", "gru", "tcn", "cnn", "transformer", "hybrid"};

static nn_config small(const char *arch)
{
    nn_config c;
    nn_config_default(&c, arch);
    c.T = 6, c.F = 3, c.H = 4, c.heads = 2, c.ff = 8, c.levels = 2;
    return c;
}

enum { B = 3 };
static float X[B * 6 * 3];
static int Y[B] = {0, 2, 1};
static const float CW[3] = {0.7f, 1.6f, 1.0f};
static uint64_t drop_seed = 77;

/* Loss in double at the current parameters; train mode with a fixed dropout mask. */
static double loss_at(nn_model *m, int train)
{
    rng_t r;
    rng_seed(&r, drop_seed);
    nn_forward(m, X, B, train, &r);
    return crossentropy_forward(m->probs, m->logits, Y, CW, B, 3);
}

static void gradcheck_model(nn_model *m, int train)
{
    rng_t r;
    loss_at(m, train);
    memset(m->grads, 0, sizeof(float) * m->nparams);
    memset(m->zbuf, 0, sizeof(float) * m->zn);
    crossentropy_backward(m->dlogits, m->probs, Y, CW, 1.0, B, 3);
    nn_backward(m, X, B, train);
    rng_seed(&r, 5);
    int checked = 0;
    for (int i = 0; i < m->ntens; i++) {
        const nn_tensor *t = &m->tens[i];
        for (int k = 0; k < 4; k++) {
            size_t j = t->off + rng_below(&r, t->n);
            float p0 = m->params[j];
            double g = m->grads[j], fd = 0;
            for (int pass = 0; pass < 2; pass++) {
                double h = pass ? FD_H / 5 : FD_H;
                m->params[j] = p0 + (float)h;
                double lp = loss_at(m, train);
                m->params[j] = p0 - (float)h;
                double lm = loss_at(m, train);
                m->params[j] = p0;
                fd = (lp - lm) / (2 * h);
                if (fabs(fd - g) <= FD_ATOL + FD_RTOL * fabs(g)) break;
            }
            checked++;
            if (!(fabs(fd - g) <= FD_ATOL + FD_RTOL * fabs(g)))
                t_fail(__FILE__, __LINE__, "%s %s[%zu]: backward %.6g, finite difference %.6g", m->cfg.arch, t->name,
                       j - t->off, g, fd);
        }
    }
    CHECK(checked >= 4 * m->ntens);
}

static void test_gradcheck_all(void)
{
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        nn_config c = small(archs[a]);
        nn_model *m = nn_create(&c, 11);
        CHECK(m != NULL);
        if (!m) continue;
        /* scale the weights up a little so no gradient is vanishingly small */
        for (size_t i = 0; i < m->nparams; i++) m->params[i] *= 1.5f;
        gradcheck_model(m, 0);
        nn_free(m);
    }
}

static void test_gradcheck_dropout(void)
{
    const char *which[] = {"lstm", "gru", "hybrid"};
    for (int a = 0; a < 3; a++) {
        nn_config c = small(which[a]);
        c.dropout = 0.3f;
        nn_model *m = nn_create(&c, 12);
        gradcheck_model(m, 1);
        /* in eval mode dropout is off: the same logits as without it */
        double l1 = loss_at(m, 0);
        nn_config c0 = c;
        c0.dropout = 0;
        nn_model *m0 = nn_create(&c0, 12);
        CHECK_NEAR(loss_at(m0, 0), l1, 1e-7);
        /* in training mode it changes the loss */
        CHECK(fabs(loss_at(m, 1) - l1) > 1e-6);
        nn_free(m), nn_free(m0);
    }
}

static void test_param_counts(void)
{
    /* torch_models.py: sum(p.numel()) at T=64, F=32, H=64 */
    const size_t want[] = {58563, 43971, 94979, 31043, 69251, 269699};
    for (size_t a = 0; a < 6; a++) {
        nn_config c;
        CHECK(nn_config_default(&c, archs[a]) == 0);
        nn_model *m = nn_create(&c, 1);
        CHECK_EQ_INT(nn_num_params(m), want[a]);
        size_t sum = 0;
        for (int i = 0; i < m->ntens; i++) sum += m->tens[i].n;
        CHECK_EQ_INT(sum, want[a]);
        nn_free(m);
    }
    nn_config c;
    CHECK(nn_config_default(&c, "mlp") == -1);
}

static void test_config_errors(void)
{
    char err[256];
    nn_config c;
    nn_config_default(&c, "transformer");
    c.heads = 3;
    CHECK(nn_config_check(&c, err, sizeof err) == -1);
    CHECK(strstr(err, "heads (3) must divide H (64)") != NULL);
    nn_config_default(&c, "cnn");
    c.T = 1;
    CHECK(nn_config_check(&c, err, sizeof err) == -1);
    CHECK(strstr(err, "too short") != NULL);
    nn_config_default(&c, "lstm");
    c.dropout = 1;
    CHECK(nn_config_check(&c, err, sizeof err) == -1);
    CHECK(nn_create(&c, 1) == NULL);
    /* JSON form round trip, and a missing H */
    nn_config_default(&c, "tcn");
    c.levels = 3, c.H = 16;
    cJSON *j = nn_config_json(&c);
    nn_config d;
    CHECK(nn_config_from_json(&d, j, err, sizeof err) == 0);
    CHECK(d.levels == 3 && d.H == 16 && d.kernel == 3 && !strcmp(d.arch, "tcn"));
    cJSON_DeleteItemFromObject(j, "H");
    CHECK(nn_config_from_json(&d, j, err, sizeof err) == -1);
    CHECK(strstr(err, "\"H\" missing") != NULL);
    cJSON_Delete(j);
}

static void test_save_load(void)
{
    char *dir = t_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    for (size_t a = 0; a < 6; a++) {
        nn_config c = small(archs[a]);
        nn_model *m = nn_create(&c, 21);
        cJSON *meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "features", "[\"ret_1\",\"rsi_14\",\"atr_14\"]");
        CHECK(nn_save(m, path, meta) == 0);
        cJSON *got = NULL;
        nn_model *l = nn_load(path, &got);
        CHECK(l != NULL);
        if (!l) continue;
        CHECK(memcmp(l->params, m->params, sizeof(float) * m->nparams) == 0);
        CHECK(!strcmp(nn_get_config(l)->arch, archs[a]) && nn_get_config(l)->H == 4);
        const cJSON *f = cJSON_GetObjectItem(got, "features"), *cf = cJSON_GetObjectItem(got, "config");
        CHECK(cJSON_IsString(f) && !strcmp(f->valuestring, "[\"ret_1\",\"rsi_14\",\"atr_14\"]"));
        CHECK(cJSON_IsString(cf) && strstr(cf->valuestring, "\"arch\"") && strstr(cf->valuestring, "\"T\":6"));
        /* the same logits */
        float a1[3 * B], a2[3 * B];
        nn_predict(m, X, B, a1), nn_predict(l, X, B, a2);
        CHECK(memcmp(a1, a2, sizeof a1) == 0);
        cJSON_Delete(meta), cJSON_Delete(got);
        nn_free(m), nn_free(l);
    }
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* Write a file, try to load it: NULL expected. */
static int loads(const char *bytes, size_t n)
{
    char *p = t_tmpfile("");
    FILE *f = fopen(p, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    fflush(stderr);
    nn_model *m = nn_load(p, NULL);
    unlink(p);
    free(p);
    int ok = m != NULL;
    nn_free(m);
    return ok;
}

static void test_load_errors(void)
{
    CHECK(nn_load("/nonexistent/model.safetensors", NULL) == NULL);
    CHECK(!loads("abc", 3));                               /* shorter than the length field */
    CHECK(!loads("\xff\0\0\0\0\0\0\0{}", 10));              /* header beyond the file */
    CHECK(!loads("\x02\0\0\0\0\0\0\0{}", 10));              /* no metadata */
    /* a valid file, then damaged copies */
    nn_config c = small("gru");
    nn_model *m = nn_create(&c, 3);
    char *p = t_tmpfile("");
    nn_save(m, p, NULL);
    FILE *f = fopen(p, "rb");
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(loads(buf, n));
    CHECK(!loads(buf, n - 4)); /* truncated data */
    char *q = memmem(buf, n, "head.weight", 11);
    CHECK(q != NULL);
    if (q) {
        char d[1 << 16];
        memcpy(d, buf, n);
        d[q - buf + 5] = 'W'; /* "head.Weight": one missing, one unknown */
        CHECK(!loads(d, n));
    }
    char *s = memmem(buf, n, "\"shape\":[3,4]", 13);
    CHECK(s != NULL);
    if (s) {
        char d[1 << 16];
        memcpy(d, buf, n);
        d[s - buf + 9] = '2'; /* head.weight [2,4] */
        CHECK(!loads(d, n));
    }
    unlink(p);
    free(p);
    nn_free(m);
}

/* The logits of a window do not depend on the batch it is in, and buffers grow. */
static void test_batch_independence(void)
{
    for (size_t a = 0; a < 6; a++) {
        nn_config c = small(archs[a]);
        nn_model *m = nn_create(&c, 8);
        float one[3], all[3 * B];
        nn_predict(m, X + 2 * 6 * 3, 1, one);
        nn_predict(m, X, B, all);
        for (int k = 0; k < 3; k++) CHECK_NEAR(one[k], all[6 + k], 1e-6);
        nn_free(m);
    }
}

static void test_lr_schedule(void)
{
    CHECK_NEAR(nn_lr_at(1e-3f, 0, 10, 110), 0, 0);
    CHECK_NEAR(nn_lr_at(1e-3f, 5, 10, 110), 5e-4, 1e-10);
    CHECK_NEAR(nn_lr_at(1e-3f, 10, 10, 110), 1e-3, 1e-10);
    CHECK_NEAR(nn_lr_at(1e-3f, 60, 10, 110), 5e-4, 1e-10); /* half-way down the cosine */
    CHECK_NEAR(nn_lr_at(1e-3f, 110, 10, 110), 0, 1e-10);
    CHECK_NEAR(nn_lr_at(1e-3f, 500, 10, 110), 0, 1e-10);
    CHECK_NEAR(nn_lr_at(1e-3f, 7, 0, 0), 1e-3, 1e-10);
}

/* Every architecture learns a separable toy task (the class is the sign
 * pattern of feature 0 at the last step), without allocating after step 1. */
static void test_learns(void)
{
    enum { N = 32, T = 6, F = 3 };
    static float x[N * T * F];
    int y[N];
    rng_t r;
    nn_adam_cfg opt;
    nn_toy_task(x, y, N, T, F, &r, &opt);
    for (size_t a = 0; a < 6; a++) {
        nn_config c = small(archs[a]);
        c.H = 8;
        nn_model *m = nn_create(&c, 9);
        float first = nn_train_step(m, x, y, NULL, N, &opt, opt.lr, &r);
        float *abuf = m->abuf, *zbuf = m->zbuf;
        float last = first;
        for (int s = 0; s < 150; s++) last = nn_train_step(m, x, y, NULL, N, &opt, opt.lr, &r);
        CHECK(m->abuf == abuf && m->zbuf == zbuf);
        if (!(last < 0.5f * first))
            t_fail(__FILE__, __LINE__, "%s: loss %.4f -> %.4f after 150 steps", archs[a], first, last);
        CHECK_NEAR(nn_eval_loss(m, x, y, NULL, N), last, 0.2);
        CHECK_EQ_INT(m->step, 151);
        nn_free(m);
    }
}

int main(void)
{
    rng_t r;
    rng_seed(&r, 2024);
    for (size_t i = 0; i < sizeof X / sizeof *X; i++) X[i] = (float)rng_normal(&r);
    t_run("nn models: every architecture's gradients match finite differences", test_gradcheck_all);
    t_run("nn models: gradients with dropout (fixed mask) match finite differences; eval mode ignores it",
          test_gradcheck_dropout);
    t_run("nn models: parameter counts equal the reference's at the default sizes", test_param_counts);
    t_run("nn models: invalid configurations are refused with a message", test_config_errors);
    t_run("nn models: save and load keep parameters, config and metadata", test_save_load);
    t_run("nn models: damaged or mismatched files are refused", test_load_errors);
    t_run("nn models: a window's logits do not depend on its batch", test_batch_independence);
    t_run("nn models: warm-up and cosine learning-rate schedule", test_lr_schedule);
    t_run("nn models: every architecture learns a toy task, without reallocating", test_learns);
    return t_done();
}
