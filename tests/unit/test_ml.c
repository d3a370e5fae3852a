/* test_ml.c: lib/ml, the model-file module: the safetensors container
 * (layout, round trip, every refusal), and model files written as kml-train
 * writes them and read back as kml-predict reads them (linear and the six
 * networks: tensors, features, scaler bit for bit, calibration, the
 * probabilities), older files and what is missing from them. */
#include "t.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "jsonl.h"
#include "ml/ml.h"
#include "ml/safetensors.h"
#include "rng.h"

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static size_t read_bytes(const char *path, char *b, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = fread(b, 1, cap, f);
    fclose(f);
    return n;
}

static void test_st_layout(void)
{
    char *dir = t_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    float w[6] = {1, -2, 0.5f, 3, 4, 5}, b[3] = {0.25f, 0, -1};
    st_tensor t[2] = {{"linear.bias", 1, {3}, b}, {"linear.weight", 2, {3, 2}, w}};
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "config", "{\"arch\":\"linear\"}");
    st_write(path, t, 2, meta);
    cJSON_Delete(meta);
    unsigned char raw[4096];
    size_t n = read_bytes(path, (char *)raw, sizeof raw);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | raw[i];
    CHECK_EQ_INT(hl % 8, 0);
    CHECK_EQ_INT(n, 8 + hl + 36);
    const unsigned char *d = raw + 8 + hl; /* bias[0] = 0.25f = 0x3e800000, little-endian */
    CHECK(d[0] == 0 && d[1] == 0 && d[2] == 0x80 && d[3] == 0x3e);
    st_file f;
    char err[256];
    CHECK_EQ_INT(st_read(path, &f, err, sizeof err), 0);
    CHECK_EQ_STR(cJSON_GetObjectItem(f.meta, "config")->valuestring, "{\"arch\":\"linear\"}");
    CHECK_EQ_INT(st_count(&f, "linear.weight"), 6);
    CHECK_EQ_INT(st_count(&f, "nope"), -1);
    float back[6];
    long s32[2] = {3, 2}, s23[2] = {2, 3}, s6[1] = {6};
    CHECK_EQ_INT(st_get(&f, "linear.weight", 2, s32, back, err, sizeof err), 0);
    CHECK(memcmp(back, w, sizeof w) == 0);
    CHECK_EQ_INT(st_get(&f, "linear.weight", 2, s23, back, err, sizeof err), -1);
    CHECK_EQ_STR(err, "tensor linear.weight: shape [3,2], expected [2,3]");
    CHECK_EQ_INT(st_get(&f, "linear.weight", 1, s6, back, err, sizeof err), -1);
    CHECK_EQ_INT(st_get(&f, "nope", 1, s6, back, err, sizeof err), -1);
    CHECK_EQ_STR(err, "tensor nope missing");
    const char *known[] = {"linear.weight"};
    CHECK_EQ_STR(st_unknown(&f, known, 1), "linear.bias");
    const char *both[] = {"linear.weight", "linear.bias"};
    CHECK(st_unknown(&f, both, 2) == NULL);
    st_free(&f);
    /* damaged copies: data cut short, a dtype changed */
    write_bytes(path, raw, n - 4);
    CHECK_EQ_INT(st_read(path, &f, err, sizeof err), 0);
    long s3[1] = {3};
    CHECK_EQ_INT(st_get(&f, "linear.bias", 1, s3, back, err, sizeof err), 0);
    CHECK_EQ_INT(st_get(&f, "linear.weight", 2, s32, back, err, sizeof err), -1);
    CHECK(strstr(err, "data_offsets") != NULL);
    st_free(&f);
    char *q = memmem(raw, n, "F32", 3);
    q[2] = '6';
    write_bytes(path, raw, n);
    CHECK_EQ_INT(st_read(path, &f, err, sizeof err), 0);
    CHECK_EQ_INT(st_get(&f, "linear.bias", 1, s3, back, err, sizeof err), -1);
    CHECK_EQ_STR(err, "tensor linear.bias: dtype F36, expected F32");
    st_free(&f);
    unlink(path), rmdir(dir), free(dir);
}

static void test_st_refusals(void)
{
    st_file f;
    char err[256];
    CHECK_EQ_INT(st_read("/nonexistent/x.safetensors", &f, err, sizeof err), EX_NOINPUT);
    CHECK(errno == ENOENT);
    static const struct { const char *bytes; size_t n; const char *msg; } bad[] = {
        {"abc", 3, "not a safetensors file (3 bytes)"},
        {"\xff\0\0\0\0\0\0\0{}", 10, "header length 255 beyond"},
        {"\x02\0\0\0\0\0\0\0[]", 10, "the header is not a JSON object"},
        {"\x04\0\0\0\0\0\0\0{\"a\"", 12, "the header is not a JSON object"},
        {"\x13\0\0\0\0\0\0\0{\"__metadata__\":1} ", 27, "__metadata__ is not an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *p = t_tmpfile("");
        write_bytes(p, bad[i].bytes, bad[i].n);
        CHECK_EQ_INT(st_read(p, &f, err, sizeof err), EX_DATAERR);
        if (!strstr(err, bad[i].msg)) t_fail(__FILE__, __LINE__, "case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
        unlink(p), free(p);
    }
}

enum { F = 3, T = 6 };
static const char *feat[F] = {"ret_1", "rsi_14", "rv_24"};
/* 0.1 and 1/3 have no short decimal: a printer that loses the last bit shows here */
static const double mean[F] = {0.1, -1.0 / 3, 12345.678901234567}, sd[F] = {1.0 / 3, 2.5e-7, 7.0 / 11};

static ml_info info_of(void)
{
    ml_info in = {.F = F, .features = feat, .mean = mean, .std = sd, .offset = {-0.5f, 0.25f, 1.0f / 3},
                  .data_hash = "abc", .config_hash = "def"};
    return in;
}

static cJSON *labels(void)
{
    return cJSON_Parse("{\"column\":\"y_class\",\"horizon\":4,\"classes\":[\"down\",\"flat\",\"up\"]}");
}

/* p = softmax(z + offset) with z the logits in float, as kml-train evaluates */
static void softmax_off(const float *z, const float *off, double *p)
{
    float q[3];
    for (int k = 0; k < 3; k++) q[k] = z[k] + off[k];
    double mx = fmax(q[0], fmax(q[1], q[2])), s = 0;
    for (int k = 0; k < 3; k++) s += p[k] = exp(q[k] - mx);
    for (int k = 0; k < 3; k++) p[k] /= s;
}

static void check_common(const ml_model *m, const ml_info *in)
{
    CHECK_EQ_INT(m->F, F);
    for (int j = 0; j < F; j++) {
        CHECK_EQ_STR(m->features[j], feat[j]);
        CHECK(m->mean[j] == mean[j] && m->std[j] == sd[j]); /* bit for bit */
    }
    CHECK(memcmp(m->offset, in->offset, sizeof m->offset) == 0);
    CHECK_EQ_STR(m->label, "y_class");
    CHECK_EQ_INT(m->horizon, 4);
}

static void test_linear_round_trip(void)
{
    char *dir = t_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/linear.safetensors", dir);
    float W[3 * F] = {0.5f, -1, 2, 0.25f, 0, -3, 1e-3f, 7, -0.125f}, b[3] = {0.1f, -0.2f, 0.3f};
    ml_info in = info_of();
    cJSON *lab = labels(), *tr = cJSON_Parse("{\"max_gap\":5}");
    in.labels = lab, in.training = tr;
    ml_save_linear(path, W, b, 1e-4, &in);
    ml_model *m;
    char err[256];
    CHECK_EQ_INT(ml_load(path, &m, err, sizeof err), 0);
    if (!m) return;
    CHECK_EQ_STR(m->arch, "linear");
    CHECK_EQ_INT(m->T, 1);
    CHECK_EQ_INT(m->max_gap, 5);
    check_common(m, &in);
    double x[F] = {0.3, -0.2, 12346.0}, p[3];
    ml_predict_raw(m, x, p);
    float xs[F], z[3];
    for (int j = 0; j < F; j++) xs[j] = (float)((x[j] - mean[j]) / sd[j]);
    for (int k = 0; k < 3; k++) {
        z[k] = b[k];
        for (int j = 0; j < F; j++) z[k] += W[k * F + j] * xs[j];
    }
    double want[3];
    softmax_off(z, in.offset, want);
    for (int k = 0; k < 3; k++) CHECK_REL(p[k], want[k], 1e-6);
    CHECK_NEAR(p[0] + p[1] + p[2], 1, 1e-15);
    ml_free(m);
    /* the metadata reads back as parsed JSON */
    cJSON *md = ml_read_meta(path);
    CHECK(md && cJSON_IsString(cJSON_GetObjectItem(md, "data_hash")));
    CHECK_EQ_STR(cJSON_GetObjectItem(md, "data_hash")->valuestring, "abc");
    CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(md, "config"), "F")->valueint, F);
    cJSON_Delete(md);
    CHECK(ml_read_meta("/nonexistent/m.safetensors") == NULL);
    cJSON_Delete(lab), cJSON_Delete(tr);
    unlink(path), rmdir(dir), free(dir);
}

static void test_nn_round_trip(void)
{
    static const char *archs[] = {"lstm", "gru", "tcn", "cnn", "transformer", "hybrid"};
    char *dir = t_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    rng_t rng;
    rng_seed(&rng, 4);
    double x[T * F];
    for (int i = 0; i < T * F; i++) x[i] = mean[i % F] + sd[i % F] * rng_normal(&rng);
    for (int a = 0; a < 6; a++) {
        nn_config c;
        nn_config_default(&c, archs[a]);
        c.T = T, c.F = F, c.H = 4, c.heads = 2, c.ff = 8, c.levels = 2;
        nn_model *net = nn_create(&c, 9);
        ml_info in = info_of();
        cJSON *lab = labels();
        in.labels = lab;
        ml_save_nn(path, net, &in);
        ml_model *m;
        char err[256];
        CHECK_EQ_INT(ml_load(path, &m, err, sizeof err), 0);
        if (!m) continue;
        CHECK_EQ_STR(m->arch, archs[a]);
        CHECK_EQ_INT(m->T, T);
        CHECK_EQ_INT(m->max_gap, 3); /* not in the file: kml-train's default */
        check_common(m, &in);
        double p[3], want[3];
        ml_predict_raw(m, x, p);
        float xs[T * F], z[3];
        for (int i = 0; i < T * F; i++) xs[i] = (float)((x[i] - mean[i % F]) / sd[i % F]);
        nn_predict(net, xs, 1, z);
        softmax_off(z, in.offset, want);
        for (int k = 0; k < 3; k++) CHECK(p[k] == want[k]);
        ml_free(m);
        nn_free(net);
        cJSON_Delete(lab);
    }
    unlink(path), rmdir(dir), free(dir);
}

/* Load path; check the code and that the message contains sub. */
static void refused(const char *path, int code, const char *sub, int line)
{
    ml_model *m;
    char err[256] = "";
    int rc = ml_load(path, &m, err, sizeof err);
    if (rc != code || m || !strstr(err, sub)) t_fail(__FILE__, line, "rc %d, message \"%s\", expected %d \"%s\"", rc, err, code, sub);
    ml_free(m);
}

/* A linear file with meta (name -> JSON text pairs, NULL-terminated). */
static void write_linear(const char *path, const char *const *kv)
{
    float W[3 * F] = {0}, b[3] = {0};
    cJSON *meta = cJSON_CreateObject();
    for (; *kv; kv += 2) cJSON_AddStringToObject(meta, kv[0], kv[1]);
    st_tensor t[2] = {{"linear.bias", 1, {3}, b}, {"linear.weight", 2, {3, F}, W}};
    st_write(path, t, 2, meta);
    cJSON_Delete(meta);
}

#define CFG "{\"arch\":\"linear\",\"T\":1,\"F\":3,\"H\":0}"
#define FEATS "[\"a\",\"b\",\"c\"]"
#define SCALER "{\"mean\":[0,0,0],\"std\":[1,1,1]}"
#define CAL "{\"logit_offset\":[0,0,0]}"
#define LABELS "{\"column\":\"y_class\",\"horizon\":4}"

static void test_refusals_and_old_files(void)
{
    char *dir = t_tmpdir(), p[512];
    snprintf(p, sizeof p, "%s/m.safetensors", dir);
    refused("/nonexistent/m.safetensors", EX_NOINPUT, "No such file", __LINE__);
    /* a file as kml-train wrote it before lib/ml (cJSON's printer, no "training"): loads */
    write_linear(p, (const char *[]){"features", FEATS, "scaler", "{\"mean\":[0.1,0.2,0.3],\"std\":[1,2,3]}", "labels",
                                     LABELS, "calibration", CAL, "config", CFG, NULL});
    ml_model *m;
    char err[256];
    CHECK_EQ_INT(ml_load(p, &m, err, sizeof err), 0);
    if (m) CHECK(m->mean[1] == 0.2 && m->std[2] == 3 && m->max_gap == 3);
    ml_free(m);
    /* a network straight from kml-model init: no features, said so */
    nn_config c;
    nn_config_default(&c, "cnn");
    c.T = 4, c.F = 3, c.H = 4;
    nn_model *net = nn_create(&c, 1);
    nn_save(net, p, NULL);
    nn_free(net);
    refused(p, EX_DATAERR, "metadata \"features\" missing (not a model file written by kml-train)", __LINE__);
    static const struct { const char *key, *val, *msg; } cases[] = {
        {"config", NULL, "metadata \"config\" missing"},
        {"config", "{\"T\":1}", "config: \"arch\" missing"},
        {"config", "{\"arch\":\"rnn\",\"T\":1,\"F\":3,\"H\":4}", "unknown arch \"rnn\""},
        {"config", "{\"arch\":\"linear\",\"F\":4}", "tensor linear.weight: shape [3,3], expected [3,4]"},
        {"features", NULL, "metadata \"features\" missing"},
        {"features", "[\"a\",\"b\"]", "metadata \"features\": 2 names for a model of F = 3"},
        {"features", "{}", "metadata \"features\" is not a JSON array"},
        {"scaler", NULL, "metadata \"scaler\" missing"},
        {"scaler", "{\"mean\":[0,0,0]}", "metadata \"scaler\": \"std\" is not an array of 3 numbers"},
        {"scaler", "{\"mean\":[0,0,0],\"std\":[1,0,1]}", "metadata \"scaler\": \"std\"[1] is not positive"},
        {"scaler", "{\"mean\":[0,null,0],\"std\":[1,1,1]}", "\"mean\"[1] is not a finite number"},
        {"calibration", NULL, "metadata \"calibration\" missing"},
        {"calibration", "{\"logit_offset\":[0,0]}", "\"logit_offset\" is not an array of 3 numbers"},
        {"labels", NULL, "metadata \"labels\" missing"},
        {"labels", "not json", "metadata \"labels\" is not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *kv[11] = {"config", CFG, "features", FEATS, "scaler", SCALER, "calibration", CAL, "labels", LABELS};
        int n = 0;
        for (int k = 0; k < 10; k += 2) {
            if (strcmp(kv[k], cases[i].key)) kv[n++] = kv[k], kv[n++] = kv[k + 1];
            else if (cases[i].val) kv[n++] = kv[k], kv[n++] = cases[i].val;
        }
        kv[n] = NULL;
        write_linear(p, kv);
        refused(p, EX_DATAERR, cases[i].msg, __LINE__);
    }
    unlink(p), rmdir(dir), free(dir);
}

int main(void)
{
    t_run("safetensors: layout, little-endian data, tensors and metadata read back, damage found", test_st_layout);
    t_run("safetensors: what is not a safetensors file is refused with the reason", test_st_refusals);
    t_run("ml: a linear model file round-trips (scaler bit for bit, calibration, probabilities)", test_linear_round_trip);
    t_run("ml: every network's file round-trips and predicts softmax(logits + offset)", test_nn_round_trip);
    t_run("ml: older files load; a missing or malformed value is named", test_refusals_and_old_files);
    return t_done();
}
